"""bptt: backpropagation through time, derived, implemented and checked.

The single source of truth for the math of the course, in three layers:

* ``bptt.core``: numpy only. Parameters, activations, the forward pass and loss, the ONE backward step
  rule with the loops around it, truncation, clipping, gradient-flow diagnostics, the LSTM.
* ``bptt.studies``: the chapters' studies and toy problems, built on the core (``torch_ref`` and
  ``charlm`` also use torch).
* ``bptt.present``: figure conventions, kernel-free widgets, exercise checkers. The core never imports it.

``import bptt`` imports numpy and the core only; the other modules load on first use, under the names the
chapters use (``from bptt import paths, plotting, widgets``; ``bptt.check(...)``).

Shapes: T steps, B batch, D inputs, H hidden, K classes. Arrays are 0-based throughout the code, while the
math counts steps t = 1..T with h_0 the initial state: ``xs[t-1]`` is x_t, ``ys[t-1]`` is y_t, ``hs[t]`` is
h_t (hs has T+1 rows, ``hs[0]`` = h_0), ``logits[t-1]`` is o_t.
"""
from __future__ import annotations

import importlib
from typing import Any

from .core.activations import DERIVATIVE_BOUND, activation_fn, activation_grad
from .core.backward import (StepCounter, backward_full, backward_naive, backward_per_term, loss_and_grads,
                            loss_and_grads_checkpointed, param_grads, prepare, state_grads, step_back,
                            weighted_loss_and_grads)
from .core.clipping import clip_elementwise, clip_grad_norm
from .core.deep import CellParams, DeepRNNParams, deep_forward, deep_loss_and_grads
from .core.diagnostics import CopyContributions, copy_contributions, gradient_norms, jacobian_product_norms, lag_profile
from .core.params import RNNParams
from .core.rnn import forward, log_softmax, logits_grad, loss, softmax, step_losses
from .core.truncation import carry_multipliers, draw_xi, lookback_mask, path_weights
from .data import data_path, load_json

#: modules reachable as ``bptt.<name>`` (imported on first access)
_MODULES = {
    **{m: f"bptt.core.{m}" for m in ("activations", "backward", "clipping", "deep", "diagnostics", "lstm", "params",
                                     "rnn", "scratch", "truncation", "validation")},
    **{m: f"bptt.studies.{m}" for m in ("charlm", "cost", "deep_study", "demo", "losses", "paths", "tasks", "torch_ref",
                                        "truncation_study", "vanishing", "online_study")},
    "torch_rnn": "bptt.studies.torch_ref",
    **{m: f"bptt.present.{m}" for m in ("checks", "live", "plotting", "widgets", "forward_exercises", "loss_exercises",
                                        "chain_exercises", "cost_exercises", "trunc_exercises",
                                        "vanishing_exercises", "lstm_exercises", "pytorch_exercises", "deep_exercises",
                                        "online_exercises")},
    "core": "bptt.core", "studies": "bptt.studies", "present": "bptt.present",
}
#: names reachable as ``bptt.<name>`` that live in a lazily imported module
_LAZY_NAMES = {"check": "bptt.present.checks", "Verdict": "bptt.present.checks"}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif name in _LAZY_NAMES:
        value = getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    else:
        raise AttributeError(f"module 'bptt' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES) | set(_LAZY_NAMES))


__all__ = [
    "RNNParams", "forward", "check", "Verdict", "loss", "loss_and_grads", "clip_grad_norm", "clip_elementwise",
    "gradient_norms", "lag_profile", "jacobian_product_norms", "softmax", "log_softmax", "step_losses",
    "logits_grad", "step_back", "param_grads", "backward_full", "backward_per_term", "backward_naive", "draw_xi",
    "carry_multipliers", "path_weights", "lookback_mask", "activation_fn", "activation_grad",
    "DERIVATIVE_BOUND", "prepare", "state_grads", "StepCounter", "loss_and_grads_checkpointed",
    "weighted_loss_and_grads", "copy_contributions", "CopyContributions",
    "CellParams", "DeepRNNParams", "deep_forward", "deep_loss_and_grads",
    "data_path", "load_json",
]

# --------------------------------------------------------------------------- beyond BPTT (issue 20)
# Online gradients (RTRL, SnAp-1, UORO) and BPTT under a memory budget (optimal checkpoint schedules).
from .core.budget import Action, checkpoint_cost, checkpoint_schedule, loss_and_grads_budget, peak_stored  # noqa: E402
from .core.online import rtrl_loss_and_grads, snap1_loss_and_grads, uoro_loss_and_grads  # noqa: E402

_MODULES.update({m: f"bptt.core.{m}" for m in ("budget", "online", "stepwise")})
__all__ += ["rtrl_loss_and_grads", "snap1_loss_and_grads", "uoro_loss_and_grads", "loss_and_grads_budget",
            "checkpoint_cost", "checkpoint_schedule", "peak_stored", "Action"]
