"""Checkers for the exercises of the chapter "Beyond BPTT: memory budgets and online gradients"
(book/10_beyond_bptt.ipynb)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.budget import checkpoint_cost
from ..core.params import RNNParams
from ..studies.online_study import estimator_draws, estimator_problem, influence_step, n_theta
from . import checks


@checks.exercise("online-1", hint="fill in the dynamic program's table R(n, m) for n <= 20 and m <= 3; R(n, 1) = n (n + 1) / 2")
def _check_schedule_cost(answer: Any) -> tuple[bool, str]:
    expected = checkpoint_cost(20, 3)
    return checks.exact_int(answer, expected, what="number of forward steps",
                            right=f"{expected} forward steps for T = 20 with 3 stored states")


@checks.exercise("online-2", hint="W is H x H and J_{t-1} is H x n_theta with n_theta = H D + H^2 + H")
def _check_rtrl_macs(answer: Any) -> tuple[bool, str]:
    H, D = 10, 3
    expected = H * H * n_theta(H, D)
    return checks.exact_int(answer, expected, what="number of multiply-adds",
                            right=f"H * H * n_theta = {expected}")


def uoro_draws_needed(target: float = 0.01) -> int:
    """The smallest n with (relative variance of one UORO draw) / n <= target, on the chapter's problem with
    T = 30, H = 16 (exercise online-3)."""
    var = estimator_draws(*estimator_problem(30, 16), n_draws=200, seed=46).stats()["uoro"]["variance"]
    return int(math.ceil(var / target))


@checks.exercise("online-3", hint="the average of n independent draws has 1/n of the variance; solve "
                                  "variance / n <= 0.01 for the smallest integer n")
def _check_draws(answer: Any) -> tuple[bool, str]:
    # a count, but one computed from a measured variance the reader copies from a table: within 1 %, as typed numbers
    return checks.close(answer, uoro_draws_needed(), what="number of draws")


def _influence_cases() -> list[tuple[tuple[Any, ...], Any, str]]:
    """Random problems of several sizes, each with a random J_{t-1}, state and input, and the right step."""
    cases = []
    for B, D, H, seed in ((1, 1, 1, 0), (2, 3, 4, 1), (3, 2, 5, 2)):
        rng = np.random.default_rng(100 + seed)
        params = RNNParams.random(D, H, 3, seed=seed).map(lambda a: a + 0.1 * rng.normal(size=a.shape))
        J = rng.normal(size=(B, H, n_theta(H, D)))
        h_prev, x = np.tanh(rng.normal(size=(B, H))), rng.normal(size=(B, D))
        expected = influence_step(params, J, h_prev, x)
        cases.append(((params, J, h_prev, x), expected, f"(J_t, h_t) for B, D, H = {B}, {D}, {H}"))
    return cases


def _same_pair(got: Any, expected: tuple[np.ndarray, np.ndarray], what: str) -> tuple[bool, str]:
    if not (isinstance(got, tuple) and len(got) == 2):
        return False, f"return the pair (J_t, h_t), got {type(got).__name__}"
    ok, msg = checks.close(got[1], expected[1], rtol=1e-9, atol=1e-12, what=f"h_t of {what}")
    if not ok:
        return ok, msg
    return checks.close(got[0], expected[0], rtol=1e-9, atol=1e-12, what=f"J_t of {what}")


checks.function_exercise(
    "online-4", "influence_step(params, J, h_prev, x)", _influence_cases, compare=_same_pair,
    returns="the pair (J_t, h_t)",
    hint="J_t = diag(1 - h_t^2) (W J_{t-1} + da_t/dtheta), where row i of da_t/dtheta holds x_t, h_{t-1} and 1 "
         "in the columns of row i of U, W and b",
    done="right on 3 random problems")
