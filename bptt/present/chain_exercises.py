"""Checkers for the exercises of the chapter "The chain rule through time" (book/03_chain_rule.ipynb)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.backward import state_grads
from ..studies.paths import ScalarRNN, example_scalar_rnn, scalar_grads, scalar_paths
from . import checks


def _scalar_cases() -> list[tuple[ScalarRNN, np.ndarray, int]]:
    """The chapter's example and three random 2-step scalar RNNs (K = 2..4 classes) for exercise chain-1."""
    rng = np.random.default_rng(11)
    cases = [example_scalar_rnn()]
    for K in (2, 3, 4):
        u, w, k, s0 = rng.normal(size=4)
        rnn = ScalarRNN(u=u, w=w, k=k, v=rng.normal(size=K), c=rng.normal(size=K), s0=s0)
        cases.append((rnn, rng.normal(size=2), int(rng.integers(K))))
    return cases


@checks.exercise("chain-1", hint="dL/dw is a sum over the two copies of w: the copy at step 2 multiplies s_1, "
                 "the copy at step 1 multiplies s_0 and reaches L through s_1 (a factor f'(z_2) w)")
def _check_chain_1(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"expected a function dL_dw(rnn, xs, y), got {type(answer).__name__}"
    for rnn, xs, y in _scalar_cases():
        paths = scalar_paths(rnn, xs, y, "w")
        expected = sum(p.product for p in paths)
        try:
            with checks.forbidding(scalar_paths, scalar_grads):
                got = answer(rnn, xs.copy(), y)
        except PermissionError:
            return False, "your function calls scalar_paths or scalar_grads: form the two paths yourself"
        if got is None:
            return False, "your function returned None: return dL/dw as a number"
        ok, msg = checks.close(got, expected, rtol=1e-6, what=f"dL/dw for u={rnn.u:.3g}, w={rnn.w:.3g}")
        if not ok:
            a = float(np.asarray(got, dtype=float))
            for p in paths:
                if np.isclose(a, p.product, rtol=1e-6):
                    return False, (f"that is only the path through the copy w^({p.copy}) ({p.formula()}); "
                                   f"the other copy of w reaches L too")
            return ok, msg
    return True, "matches dL/dw on the chapter's example and 3 random scalar RNNs"


@checks.exercise("chain-2", hint="L_t depends on h_t, which depends on the copies W^(1) .. W^(t)")
def _check_chain_2(answer: Any) -> tuple[bool, str]:
    expected = np.arange(1, 11)
    a = np.asarray(answer)
    if a.dtype.kind not in "iu":
        return False, f"expected an array of 10 integer counts, got dtype {a.dtype}"
    ok, msg = checks.close(a, expected, what="list of copy counts")
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
                 "(the batch sits in the rows, so the math's W^T delta is the code's delta @ W)")
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
