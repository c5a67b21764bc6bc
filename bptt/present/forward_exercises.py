"""Checkers for the exercises of the chapter "The forward pass"."""
from __future__ import annotations

from typing import Any

import numpy as np

from .checks import close, exact_int, exercise
from ..core.params import RNNParams
from ..core.rnn import forward


def doubling_example(n: int) -> tuple[RNNParams, np.ndarray]:
    """The notes' example: U = V = I, W = 2I, zero biases, and the identity matrix as input sequence.
    Returns (params, xs) with xs: (n, 1, n), xs[t, 0] = e_t."""
    eye = np.eye(n)
    return RNNParams(U=eye, W=2 * eye, V=eye, b=np.zeros(n), c=np.zeros(n)), eye[:, None, :]


@exercise("forward-1", hint="run bptt.forward on doubling_example(6) with activation='identity' and read o_5, which is logits[5 - 1, 0]")
def _check_doubling(answer: Any) -> tuple[bool, str]:
    params, xs = doubling_example(6)
    _, logits = forward(params, xs, activation="identity")
    return close(answer, logits[4, 0], what="output o_5 (logits[4, 0] in code)")


@exercise("forward-2", hint="count the entries of U (H×D), W (H×H), V (K×H), b (H) and c (K)")
def _check_param_count(answer: Any) -> tuple[bool, str]:
    D, H, K = 10, 32, 5
    expected = sum(a.size for a in RNNParams.random(D, H, K).arrays())
    return exact_int(answer, expected, right=f"the number of parameters matches ({expected})",
                     what="number of parameters")


@exercise("forward-3", hint="with W = rho * Q for an orthogonal Q and f the identity, each step multiplies ||h|| by exactly rho")
def _check_steps_to_million(answer: Any) -> tuple[bool, str]:
    rho, target = 1.5, 1e6
    steps = int(np.ceil(np.log(target) / np.log(rho)))
    return exact_int(answer, steps, what="number of steps",
                     right=f"{steps} steps: 1.5^{steps} = {rho ** steps:.3g} is the first power above 10^6")
