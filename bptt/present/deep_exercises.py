"""Checkers for the exercises of the chapter "Deep and bidirectional RNNs" (book/09_deep.ipynb)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..studies.deep_study import budget_hidden, count_shortest_paths, exercise_problem, input_gradient
from . import checks


def _exact_int(value: Any) -> int | None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        return None
    return int(value)


def _check_function(fn: Any, cases: list[tuple], expected: Callable[..., int], what: str) -> tuple[bool, str]:
    if not callable(fn):
        return False, f"expected a function, got {type(fn).__name__}"
    for args in cases:
        got = fn(*args)
        if _exact_int(got) is None:
            return False, f"{what}{args} returned {got!r}; expected an integer"
        if got != expected(*args):
            return False, f"{what}{args} returned {got}, expected {expected(*args)}"
    return True, f"right on all {len(cases)} cases"



@checks.exercise("deep-1", hint="count the parameters of both models with eq-deep-count (or n_params) and "
                                "search over H")
def _check_budget(answer: Any) -> tuple[bool, str]:
    expected = budget_hidden(8, 4, 2, 64)
    if _exact_int(answer) is None:
        return False, f"expected an integer number of hidden units, got {answer!r}"
    if answer == expected:
        return True, f"H = {expected}"
    return False, f"H = {answer} is {'too large: over budget' if answer > expected else 'not the largest that fits'}"


@checks.exercise("deep-2", hint="a shortest path takes its t - k time steps in any of the N layers, in order")
def _check_paths(fn: Any) -> tuple[bool, str]:
    cases = [(N, t, k) for N in range(1, 6) for t in range(1, 9) for k in range(1, 9)]
    return _check_function(fn, cases, count_shortest_paths, "n_paths")


@checks.exercise("deep-3", hint="run the recursion down to layer 1 and add dA @ U of both bottom cells")
def _check_input_gradient(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, input_gradient(*exercise_problem()), rtol=1e-7, atol=1e-12, what="dL/dxs")
