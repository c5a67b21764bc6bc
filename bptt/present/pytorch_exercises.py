"""Checkers for the exercises of the chapter "BPTT in PyTorch" (book/08_pytorch.ipynb)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..studies.charlm import Vocab, load_text, num_batches
from ..studies.truncation_study import lookback_steps
from . import checks


@checks.exercise("pytorch-1", hint="the state entering step t is detached when t is 4 or 8; L_7 can reach back "
                                   "to the most recent such step and no further")
def _check_reached(answer: Any) -> tuple[bool, str]:
    expected = lookback_steps(7, 10, detach_every=4).tolist()
    got = sorted({int(a) for a in np.asarray(list(answer)).ravel()})
    if got == expected:
        return True, f"L_7 sends gradient to steps {expected} and to none before them"
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    return False, f"you listed {got}; missing {missing}, should not be there {extra}"


@checks.exercise("pytorch-2", hint="a model that gives every character the same probability 1/K has "
                                   "cross-entropy log K per character")
def _check_uniform_perplexity(answer: Any) -> tuple[bool, str]:
    K = Vocab.from_text(load_text()).size
    return checks.close(answer, float(K), rtol=1e-6, what="perplexity of the uniform model")


@checks.exercise("pytorch-3", hint="cut 1,000,000 characters into 32 streams first; each minibatch of 50 steps "
                                   "also needs the character after its last input as a target")
def _check_num_batches(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, num_batches(1_000_000, 32, 50), rtol=0, atol=0, what="number of minibatches")
