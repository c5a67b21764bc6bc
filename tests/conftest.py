"""pytest configuration of the bptt unit suite.

* The hypothesis profile "ci" (the default): derandomized, so every run tests the same examples, with no
  example database and no deadline. HYPOTHESIS_PROFILE=dev explores fresh random examples instead.
* The shared helpers (torch float64 reference, ``random_problem``, hypothesis strategies) live in
  rnn_reference.py and are re-exported here.
"""
from __future__ import annotations

import os

import torch
from hypothesis import HealthCheck, settings

from rnn_reference import (ACTIVATIONS, METHODS, PARAM_NAMES, Problem, activations, assert_grads_close,  # noqa: F401
                           problems, random_problem, seeds, shapes, torch_forward, torch_gradient_norms,
                           torch_loss_and_grads)

torch.set_num_threads(1)  # the tensors are tiny; threads only add overhead

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
