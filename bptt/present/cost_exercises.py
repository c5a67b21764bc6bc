"""Checkers for the exercises of the chapter "What BPTT costs" (book/04_cost.ipynb)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..studies.cost import LinearProblem, count_products, exercise_problem, linear_problem, method1, method2
from . import checks


@checks.exercise("cost-1", hint="method 1 makes t products for loss term t; count them with cost.method1")
def _check_cost_1(answer: Any) -> tuple[bool, str]:
    expected = count_products(20, "method1")
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return False, f"expected an integer (an exact count), got {type(answer).__name__}"
    if int(answer) != expected:
        return False, f"{int(answer)} is not the number of products method 1 makes for T = 20"
    return True, f"method 1 makes {expected} products for T = 20"


@checks.exercise("cost-2", hint="count the products of each method at T = 200: T(T+1)/2 against T, "
                                "or leave out the product into h_0 in both")
def _check_cost_2(answer: Any) -> tuple[bool, str]:
    T = 200
    if not (isinstance(answer, tuple) and len(answer) == 2):
        return False, f"expected a pair of integers (method 1, method 2), got {type(answer).__name__}"
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in answer):
        return False, "give both counts as integers (they are exact counts, not estimates)"
    n1, n2 = (int(n) for n in answer)
    with_h0 = (count_products(T, "method1"), count_products(T, "method2"))       # T(T+1)/2, T
    without_h0 = (T * (T - 1) // 2, T - 1)                                        # no product into h_0
    if (n1, n2) == with_h0:
        return True, (f"{n1} against {n2}, a ratio of {n1 / n2:g}; counting only products into h_1 .. h_T "
                      f"gives {without_h0[0]} against {without_h0[1]} (ratio {T / 2:g}), equally defensible")
    if (n1, n2) == without_h0:
        return True, (f"{n1} against {n2}, a ratio of {n1 / n2:g}; the library also makes the products into "
                      f"h_0 ({with_h0[0]} against {with_h0[1]}, ratio {(T + 1) / 2:g})")
    return False, f"({n1}, {n2}) does not count the products of the two methods at T = {T}"


def _cost_3_cases() -> list[LinearProblem]:
    """The exercise's problem and three random ones of other sizes, so an answer cannot be special-cased."""
    return [exercise_problem()] + [linear_problem(T, B=B, D=2, H=H, seed=20 + T)
                                   for T, B, H in ((1, 1, 2), (4, 3, 2), (9, 2, 4))]


@checks.exercise("cost-3", hint="start from dL/dh_T = h_T and go back with dL/dh_k = h_k + W^T dL/dh_{k+1} "
                                "(in code, rows: dh @ W); return an array of shape (T, B, H)")
def _check_cost_3(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"expected a function stored_grads(prob), got {type(answer).__name__}"
    for prob in _cost_3_cases():
        expected = method2(prob)[0].deltas
        try:
            with checks.forbidding(method1, method2):
                got = answer(prob)
        except PermissionError:
            return False, "your function calls cost.method1 or cost.method2: write the recursion yourself"
        if got is None:
            return False, "your function returned None: return the (T, B, H) array of dL/dh_k"
        T, B, H = expected.shape
        ok, msg = checks.close(got, expected, rtol=1e-9, what=f"stored dL/dh_k for T, B, H = {T}, {B}, {H}")
        if not ok:
            return ok, msg
    return True, "matches the stored dL/dh_k on the exercise's problem and 3 random ones"
