"""Checkers for the exercises of the chapter "The chain rule through time" (book/03_chain_rule.ipynb)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.backward import state_grads
from ..studies.paths import ScalarRNN, example_scalar_rnn, scalar_grads, scalar_paths
from . import checks


def _scalar_cases() -> list[tuple[tuple[ScalarRNN, np.ndarray, int], list[Any], str]]:
    """The chapter's example and three random 2-step scalar RNNs (K = 2..4 classes) for exercise chain-1,
    each with its two paths from w to L."""
    rng = np.random.default_rng(11)
    problems = [example_scalar_rnn()]
    for K in (2, 3, 4):
        u, w, k, s0 = rng.normal(size=4)
        rnn = ScalarRNN(u=u, w=w, k=k, v=rng.normal(size=K), c=rng.normal(size=K), s0=s0)
        problems.append((rnn, rng.normal(size=2), int(rng.integers(K))))
    return [(args, scalar_paths(*args, "w"), f"dL/dw for u={args[0].u:.3g}, w={args[0].w:.3g}")
            for args in problems]


def _dL_dw_matches(got: Any, paths: list[Any], what: str) -> tuple[bool, str]:
    """Compare dL/dw with the sum over the paths; name the path an answer stopped at."""
    ok, msg = checks.close(got, sum(p.product for p in paths), rtol=1e-6, what=what)
    if not ok:
        a = float(np.asarray(got, dtype=float))
        for p in paths:
            if np.isclose(a, p.product, rtol=1e-6):
                return False, (f"that is only the path through the copy w^({p.copy}) ({p.formula()}); "
                               f"the other copy of w reaches L too")
    return ok, msg


checks.function_exercise(
    "chain-1", "dL_dw(rnn, xs, y)", _scalar_cases, compare=_dL_dw_matches, returns="dL/dw as a number",
    hint="dL/dw is a sum over the two copies of w: the copy at step 2 multiplies s_1, the copy at step 1 "
         "multiplies s_0 and reaches L through s_1 (a factor f'(z_2) w)",
    forbidden=(scalar_paths, scalar_grads),
    shortcut="your function calls scalar_paths or scalar_grads: form the two paths yourself",
    done="matches dL/dw on the chapter's example and 3 random scalar RNNs")


@checks.exercise("chain-2", hint="L_t depends on h_t, which depends on the copies W^(1) .. W^(t)")
def _check_chain_2(answer: Any) -> tuple[bool, str]:
    expected = np.arange(1, 11)
    return checks.exact(answer, expected, what="list of copy counts",
                        right=f"L_t reaches t copies; over the whole sequence that is {int(expected.sum())} "
                              f"(t, k) terms, one Jacobian chain each if they were computed separately")


def _recursion_cases() -> list[tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray, str]]:
    """Three random problems (dH, fprime, W) for exercise chain-3, each with its dL/dh_t."""
    rng = np.random.default_rng(3)
    cases = []
    for T, B, H in ((1, 1, 2), (4, 2, 3), (7, 3, 5)):
        h = np.tanh(rng.normal(size=(T, B, H)))
        args = (rng.normal(size=(T, B, H)), 1.0 - h * h, rng.normal(0, 1 / np.sqrt(H), (H, H)))
        cases.append((args, state_grads(*args), f"result for T, B, H = {(T, B, H)}"))
    return cases


checks.function_exercise(
    "chain-3", "dL_dh(dH, fprime, W)", _recursion_cases, rtol=1e-9, atol=1e-12,
    returns="the (T, B, H) array of dL/dh_t",
    hint="loop t from T down to 1; carry (dL/dh_{t+1} * f'(a_{t+1})) @ W into step t "
         "(the batch sits in the rows, so the math's W^T delta is the code's delta @ W)",
    done="matches the recursion on 3 random problems (T = 1, 4, 7)")
