"""Checkers for the exercises of the chapter "Truncating BPTT" (book/05_truncation.ipynb)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.diagnostics import copy_contributions, relative_error
from ..studies.truncation_study import combine, long_memory_problem, lookback_steps
from . import checks


@checks.exercise("trunc-1", hint="steps are numbered 1..T; with detach_every=4 the chunks are steps 1-4, "
                                 "5-8, 9-12, and L_7 goes back until it hits the start of its own chunk")
def _check_reach(answer: Any) -> tuple[bool, str]:
    expected = (lookback_steps(7 - 1, 12, detach_every=4) + 1).tolist()   # 1-based steps k of L_7
    return checks.exact_steps(answer, expected, what="steps k that L_7 reaches")


@checks.exercise("trunc-2", hint="E[xi] = pi * (1/pi) + (1 - pi) * 0; a product of independent factors "
                                 "has E[prod xi_j^2] = prod E[xi_j^2] with E[xi^2] = 1/pi")
def _check_moments(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, [1.0, 0.25 ** -3 - 1.0], what="(mean, variance) of P[t, k]")


@checks.exercise("trunc-3", hint="without the 1/pi the factors are 0 or 1, so E[P[t, k]] = pi^(t-k); "
                                 "combine that expected weight matrix with the pair contributions")
def _check_bias(answer: Any) -> tuple[bool, str]:
    prob = long_memory_problem()
    C = copy_contributions(*prob).W
    T = C.shape[0]
    lag = np.subtract.outer(np.arange(T), np.arange(T))
    expected_P = np.where(lag >= 0, 0.6 ** np.maximum(lag, 0), 0.0)
    expected = relative_error(combine(C, expected_P), C.sum(axis=(0, 1)))
    return checks.close(answer, expected, what="relative error of the expected gradient")
