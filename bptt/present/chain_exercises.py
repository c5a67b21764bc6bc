"""Checkers for the exercises of the chapter "The chain rule through time" (book/03_chain_rule.ipynb)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.backward import state_grads
from ..studies.paths import example_scalar_rnn, scalar_paths
from . import checks


@checks.exercise("chain-1", hint="dL/dw is a sum over the two copies of w: the copy at step 2 multiplies s_1, "
                 "the copy at step 1 multiplies s_0 and reaches L through s_1 (a factor f'(z_2) w)")
def _check_chain_1(answer: Any) -> tuple[bool, str]:
    rnn, xs, y = example_scalar_rnn()
    paths = scalar_paths(rnn, xs, y, "w")
    expected = sum(p.product for p in paths)
    ok, msg = checks.close(answer, expected, rtol=1e-6, what="dL/dw")
    if not ok:
        a = float(np.asarray(answer, dtype=float))
        for p in paths:
            if np.isclose(a, p.product, rtol=1e-6):
                return False, (f"that is only the path through the copy w^({p.copy}) ({p.formula()}); "
                               f"the other copy of w reaches L too")
    return ok, msg


@checks.exercise("chain-2", hint="L_t depends on h_t, which depends on the copies W^(1) .. W^(t)")
def _check_chain_2(answer: Any) -> tuple[bool, str]:
    expected = np.arange(1, 11)
    ok, msg = checks.close(answer, expected, what="list of copy counts")
    if ok:
        return True, (f"L_t reaches t copies; over the whole sequence that is {int(expected.sum())} "
                      f"(t, k) terms, one Jacobian chain each if they were computed separately")
    return ok, msg


def _recursion_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    cases = []
    for T, B, H in ((1, 1, 2), (4, 2, 3), (7, 3, 5)):
        h = np.tanh(rng.normal(size=(T, B, H)))
        cases.append((rng.normal(size=(T, B, H)), 1.0 - h * h, rng.normal(0, 1 / np.sqrt(H), (H, H))))
    return cases


@checks.exercise("chain-3", hint="loop t from T down to 1; carry (dL/dh_{t+1} * f'(a_{t+1})) @ W into step t "
                 "(rows: the batch; the product with W, not W.T, because the rows are row vectors)")
def _check_chain_3(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"expected a function dL_dh(dH, fprime, W), got {type(answer).__name__}"
    fn: Callable[..., Any] = answer
    for dH, fp, W in _recursion_cases():
        got = fn(dH.copy(), fp.copy(), W.copy())
        if got is None:
            return False, "your function returned None: return the (T, B, H) array of dL/dh_t"
        ok, msg = checks.close(got, state_grads(dH, fp, W), rtol=1e-9, atol=1e-12,
                               what=f"result for T, B, H = {dH.shape}")
        if not ok:
            return ok, msg
    return True, "matches the recursion on 3 random problems (T = 1, 4, 7)"
