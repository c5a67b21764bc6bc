"""Truncation strategies. They differ only in what the backward loop multiplies the carried gradient by
when it goes back from step t to step t-1, and in how far back each loss term may reach.

Steps are numbered t = 0 .. T-1 as in code (xs[t]); the state entering step t is hs[t].

* full BPTT:          multiplier 1 everywhere, no window.
* detach every k:     multiplier 0 whenever t is a positive multiple of k (``h = h.detach()`` between
                      chunks of k steps), 1 elsewhere.
* randomized:         multiplier xi_t = 1/pi with probability pi, else 0 (one xi_t per step, ``draw_xi``);
                      every path is multiplied by independent xi's whose mean is 1, so the gradient is
                      unbiased. Every function takes the drawn factors as ``xi=`` (the one spelling).
* window k:           loss term L_t receives contributions only from steps t-k+1 .. t.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .validation import as_float_array, positive_int, probability

__all__ = ["draw_xi", "carry_multipliers", "path_weights"]


def draw_xi(T: int, keep_prob: float, rng: int | np.random.Generator | None = None) -> NDArray[np.float64]:
    """One randomized-truncation factor per step: (T,). xi[0] = 1 (nothing lies before step 0);
    for t >= 1, xi[t] = 1/keep_prob with probability keep_prob and 0 otherwise, drawn from ``rng``
    (a numpy Generator, a seed, or None) as ``rng.random(T - 1) < keep_prob``."""
    keep_prob = probability(keep_prob, "keep_prob")
    rng = np.random.default_rng(rng)
    xi = np.ones(T)
    xi[1:] = (rng.random(T - 1) < keep_prob) / keep_prob
    return xi


def carry_multipliers(T: int, *, detach_every: int | None = None, xi: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """m: (T,), the factor applied to the gradient carried from step t back into hs[t] (m[0] is unused)."""
    m = np.ones(T) if xi is None else as_float_array(xi, "xi", 1).copy()
    if m.shape != (T,):
        raise ValueError(f"xi must have shape (T,) = ({T},), got {m.shape}")
    if detach_every is not None:
        k = positive_int(detach_every, "detach_every")
        m[k::k] = 0.0
    return m


def path_weights(T: int, *, window: int | None = None, detach_every: int | None = None,
                 xi: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """P: (T, T), the factor with which loss term L_t reaches step k: prod_{j=k+1}^{t} m[j] inside the
    window (t - k < window), 0 outside it and for k > t. Full BPTT gives the lower triangle of ones.
    This is the picture of which (t, k) pairs each strategy back-propagates through."""
    m = carry_multipliers(T, detach_every=detach_every, xi=xi)
    k_max = T if window is None else positive_int(window, "window")
    P = np.zeros((T, T))
    for t in range(T):
        w = 1.0
        for k in range(t, max(-1, t - k_max), -1):
            P[t, k] = w
            w *= m[k]
    return P
