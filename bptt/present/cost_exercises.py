"""Checkers for the exercises of the chapter "What BPTT costs" (book/04_cost.ipynb)."""
from __future__ import annotations

from typing import Any

from ..studies.cost import count_products, exercise_problem, method2
from . import checks


@checks.exercise("cost-1", hint="method 1 makes t products for loss term t; count them with cost.method1")
def _check_cost_1(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, count_products(20, "method1"), what="number of products for T = 20")


@checks.exercise("cost-2", hint="divide the two counts: T(T+1)/2 products against T products")
def _check_cost_2(answer: Any) -> tuple[bool, str]:
    ratio = count_products(200, "method1") / count_products(200, "method2")
    return checks.close(answer, ratio, rtol=1e-9, what="predicted time ratio at T = 200")


@checks.exercise("cost-3", hint="start from dL/dh_T = h_T and go back with dL/dh_k = h_k + (dL/dh_{k+1}) W; "
                                "return an array of shape (T, B, H)")
def _check_cost_3(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, method2(exercise_problem())[0].deltas, rtol=1e-9, what="stored dL/dh_k")
