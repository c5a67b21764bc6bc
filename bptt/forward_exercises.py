"""Checkers for the exercises of the chapter "The forward pass"."""
from __future__ import annotations

from typing import Any

import numpy as np

from .checks import close, exercise
from .params import RNNParams
from .rnn import forward


def doubling_example(n: int) -> tuple[RNNParams, np.ndarray]:
    """The notes' example: U = V = I, W = 2I, zero biases, and the identity matrix as input sequence.
    Returns (params, xs) with xs: (n, 1, n), xs[t, 0] = e_t."""
    eye = np.eye(n)
    return RNNParams(U=eye, W=2 * eye, V=eye, b=np.zeros(n), c=np.zeros(n)), eye[:, None, :]


@exercise("forward-1", hint="run bptt.forward on doubling_example(6) with activation='identity' and read logits[4, 0] (code step 4 is the fifth step)")
def _check_doubling(answer: Any) -> tuple[bool, str]:
    params, xs = doubling_example(6)
    _, logits = forward(params, xs, activation="identity")
    return close(answer, logits[4, 0], what="output at code step 4 (o_5 in 1-based maths)")


@exercise("forward-2", hint="count the entries of U (H×D), W (H×H), V (K×H), b (H) and c (K)")
def _check_param_count(answer: Any) -> tuple[bool, str]:
    D, H, K = 10, 32, 5
    p = RNNParams.random(D, H, K)
    return close(answer, sum(a.size for a in p.arrays()), what="number of parameters")


@exercise("forward-3", hint="with W = rho * Q for an orthogonal Q and f the identity, each step multiplies ||h|| by exactly rho")
def _check_steps_to_million(answer: Any) -> tuple[bool, str]:
    rho, target = 1.5, 1e6
    steps = int(np.ceil(np.log(target) / np.log(rho)))
    ok, msg = close(answer, steps, rtol=0, atol=0, what="number of steps")
    return ok, (f"{steps} steps: 1.5^{steps} = {rho ** steps:.3g} is the first power above 10^6" if ok else msg)
