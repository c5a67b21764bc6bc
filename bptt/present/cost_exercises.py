"""Checkers for the exercises of the chapter "What BPTT costs" (book/04_cost.ipynb)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..studies.cost import LinearProblem, count_products, exercise_problem, linear_problem, method1, method2
from . import checks


@checks.exercise("cost-1", hint="method 1 makes t products for loss term t; count them with cost.method1")
def _check_cost_1(answer: Any) -> tuple[bool, str]:
    expected = count_products(20, "method1")
    return checks.exact_int(answer, expected, what="number of products",
                            right=f"method 1 makes {expected} products for T = 20")


@checks.exercise("cost-2", hint="count the products of each method at T = 200: T(T+1)/2 against T, "
                                "or leave out the product into h_0 in both")
def _check_cost_2(answer: Any) -> tuple[bool, str]:
    T = 200
    with_h0 = (count_products(T, "method1"), count_products(T, "method2"))       # T(T+1)/2, T
    without_h0 = (T * (T - 1) // 2, T - 1)                                        # no product into h_0
    ok, msg = checks.exact(answer, with_h0, also=(without_h0,), what="pair of counts (n1, n2)")
    if not ok:
        return ok, msg
    if tuple(int(n) for n in np.ravel(np.asarray(answer))) == with_h0:
        return True, (f"{with_h0[0]} against {with_h0[1]}, a ratio of {with_h0[0] / with_h0[1]:g}; counting only "
                      f"products into h_1 .. h_T gives {without_h0[0]} against {without_h0[1]} (ratio {T / 2:g}), "
                      f"equally defensible")
    return True, (f"{without_h0[0]} against {without_h0[1]}, a ratio of {without_h0[0] / without_h0[1]:g}; the library "
                  f"also makes the products into h_0 ({with_h0[0]} against {with_h0[1]}, ratio {(T + 1) / 2:g})")


def _cost_3_cases() -> list[tuple[tuple[LinearProblem], np.ndarray, str]]:
    """The exercise's problem and three random ones of other sizes, each with its stored dL/dh_k (method 2)."""
    cases = []
    for prob in [exercise_problem()] + [linear_problem(T, B=B, D=2, H=H, seed=20 + T)
                                        for T, B, H in ((1, 1, 2), (4, 3, 2), (9, 2, 4))]:
        deltas = method2(prob)[0].deltas
        cases.append(((prob,), deltas, "stored dL/dh_k for T, B, H = {}, {}, {}".format(*deltas.shape)))
    return cases


checks.function_exercise(
    "cost-3", "stored_grads(prob)", _cost_3_cases, rtol=1e-9, returns="the (T, B, H) array of dL/dh_k",
    hint="start from dL/dh_T = h_T and go back with dL/dh_k = h_k + W^T dL/dh_{k+1} (in code, rows: dh @ W); "
         "return an array of shape (T, B, H)",
    forbidden=(method1, method2),
    shortcut="your function calls cost.method1 or cost.method2: write the recursion yourself",
    done="matches the stored dL/dh_k on the exercise's problem and 3 random ones")
