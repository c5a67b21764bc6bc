"""Measuring truncated BPTT against full BPTT: the chapter "Truncating BPTT" (book/05_truncation.ipynb).

Every truncation strategy keeps the full-BPTT contribution of each (loss term t, step k) pair and
multiplies it by a weight P[t, k] (``bptt.path_weights``), eq. (eq-trunc-strategy):

    dL/dW (strategy) = sum_t sum_{k <= t} P[t, k] * C[t, k],    C[t, k] = dL_t/da_k  h_{k-1}^T  (summed over B)

so once the pair contributions C are computed, the gradient of *any* strategy, and of thousands of
randomized draws at once, is one tensor contraction. Steps are 0-based as in code: step t reads xs[t]
and writes hs[t + 1]; "h_{k-1}" is hs[k].

Contents: a model whose gradient has long memory (``long_memory_problem``), pair contributions
(``bptt.copy_contributions(...).W``), the contraction (``combine``), many randomized weight matrices at once
(``randomized_weights``), cost counts (``backward_products``, ``peak_states``), the exact variance of the
randomized estimator (``randomized_variance``); error measures are ``bptt.relative_error`` and ``bptt.cosine``; the chapter's exercise checkers are in ``bptt.present.trunc_exercises``.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core.validation import nonneg_number, positive_int, probability
from ..core.diagnostics import relative_error
from ..core.params import RNNParams
from ..core.spectral import orthogonal
from ..core.truncation import carry_multipliers, path_weights

__all__ = ["Problem", "long_memory_problem", "combine", "randomized_weights", "backward_products", "peak_states", "randomized_variance",
           "running_mean_errors", "lookback_steps"]


class Problem(NamedTuple):
    """One RNN problem: params, xs (T, B, D), ys (T, B) int, h0 (B, H)."""

    params: RNNParams
    xs: np.ndarray
    ys: np.ndarray
    h0: np.ndarray


def long_memory_problem(T: int = 48, B: int = 4, D: int = 3, H: int = 8, K: int = 3, *, radius: float = 0.9,
                        input_scale: float = 0.1, seed: int = 0) -> Problem:
    """A problem on which distant steps matter: W = radius * (random orthogonal matrix), so every
    eigenvalue of W has modulus ``radius`` (near 1), and small inputs (U entries ~ N(0, input_scale^2 / D))
    keep tanh in its near-linear range, so gradients shrink slowly with distance (about a factor 0.85
    per step with the defaults: a 10-step window misses about a third of dL/dW).
    V ~ N(0, 1/H), zero biases, h0 = 0, inputs N(0, 1), random labels in [0, K). Deterministic in ``seed``."""
    for name, n in (("T", T), ("B", B), ("D", D), ("H", H), ("K", K)):
        positive_int(n, name)
    nonneg_number(radius, "radius", strict=True)
    nonneg_number(input_scale, "input_scale")
    rng = np.random.default_rng(seed)
    Q = orthogonal(H, seed=rng)
    params = RNNParams(U=rng.normal(0.0, input_scale / np.sqrt(D), (H, D)), W=radius * Q,
                       V=rng.normal(0.0, 1.0 / np.sqrt(H), (K, H)), b=np.zeros(H), c=np.zeros(K))
    xs = rng.normal(size=(T, B, D))
    ys = rng.integers(0, K, (T, B))
    return Problem(params, xs, ys, np.zeros((B, H)))


def combine(C: np.ndarray, P: np.ndarray) -> np.ndarray:
    """The gradient a strategy computes, eq. (eq-trunc-strategy): sum_{t,k} P[t, k] C[t, k].
    C: (T, T, *shape) from ``bptt.copy_contributions(...).W``; P: (..., T, T) path weights (any number of leading
    axes, e.g. N randomized draws). Returns (..., *shape)."""
    C = np.asarray(C, dtype=float)
    P = np.asarray(P, dtype=float)
    if C.ndim < 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"C must have shape (T, T, ...), got {C.shape}")
    T = C.shape[0]
    if P.shape[-2:] != (T, T):
        raise ValueError(f"P must have shape (..., T, T) = (..., {T}, {T}), got {P.shape}")
    flat = P.reshape(*P.shape[:-2], T * T) @ C.reshape(T * T, -1)
    return flat.reshape(*P.shape[:-2], *C.shape[2:])


def randomized_weights(T: int, keep_prob: float, n_draws: int, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """N independent randomized-truncation draws at once, eq. (eq-trunc-xi).

    Returns (xi, P): xi (N, T) with xi[:, 0] = 1 and xi[:, t] = 1/keep_prob w.p. keep_prob else 0, drawn
    from ``rng`` exactly as N consecutive ``bptt.draw_xi(T, keep_prob, rng)`` calls would draw them; and
    P (N, T, T) with P[n, t, k] = prod_{j=k+1}^{t} xi[n, j] for k <= t (= ``bptt.path_weights(T, xi=xi[n])``),
    built one diagonal (lag) at a time, vectorised over draws and t."""
    T = positive_int(T, "T")
    keep_prob = probability(keep_prob, "keep_prob")
    n = positive_int(n_draws, "n_draws")
    rng = np.random.default_rng(rng)
    xi = np.ones((n, T))
    xi[:, 1:] = (rng.random((n, T - 1)) < keep_prob) / keep_prob
    P = np.zeros((n, T, T))
    t = np.arange(T)
    diag = np.ones((n, T))          # lag 0: P[t, t] = 1
    P[:, t, t] = diag
    for lag in range(1, T):
        # P[t, t-lag] = P[t, t-lag+1] * xi[t-lag+1], for t = lag .. T-1
        diag = diag[:, 1:] * xi[:, 1:T - lag + 1]
        P[:, t[lag:], t[:T - lag]] = diag
    return xi, P


def backward_products(T: int, window: Any = None) -> np.ndarray:
    """Step-products of the backward pass (one row-block times W per (loss term, step) visited), eq.
    (eq-trunc-cost). Full BPTT, detach and randomized: one sweep, T products. A window of tau steps
    handles every loss term separately: sum_t min(tau, t+1) = tau*T - tau*(tau-1)/2 for tau <= T.
    window: None or int or array of ints >= 1 (vectorised). Returns an int array of window's shape."""
    T = positive_int(T, "T")
    if window is None:
        return np.asarray(T)
    tau = np.asarray(window)
    if not np.issubdtype(tau.dtype, np.integer) or np.any(tau < 1):
        raise ValueError(f"window must be integers >= 1, got {window!r}")
    tau = np.minimum(tau, T)
    return tau * T - tau * (tau - 1) // 2


def peak_states(T: int, *, window: int | None = None, detach_every: int | None = None,
                xi: np.ndarray | None = None) -> int:
    """Memory: the most hidden states the backward pass must hold at once if the sequence is processed
    segment by segment. Full BPTT: T. A window of tau: tau (the last tau states, as they stream by).
    detach every tau or randomized: the longest run of steps between two cuts (multiplier 0)."""
    T = positive_int(T, "T")
    m = carry_multipliers(T, detach_every=detach_every, xi=xi)
    cuts = np.concatenate([[0], np.flatnonzero(m[1:] == 0) + 1, [T]])
    longest = int(np.max(np.diff(cuts)))
    return min(longest, positive_int(window, "window")) if window is not None else longest


def lookback_steps(t: int, T: int, *, window: int | None = None, detach_every: int | None = None) -> np.ndarray:
    """The steps k (ascending) that loss term L_t back-propagates into under a deterministic strategy."""
    T = positive_int(T, "T")
    if not (isinstance(t, (int, np.integer)) and 0 <= t < T):
        raise ValueError(f"t must be an integer step in [0, T) = [0, {T}), got {t!r}")
    return np.flatnonzero(path_weights(T, window=window, detach_every=detach_every)[t])


def randomized_variance(C: np.ndarray, keep_prob: float) -> float:
    """E ||g_xi - g||^2, the exact expected squared error of ONE randomized draw, eq. (eq-trunc-variance).

    With P[t,k] = prod_{j in (k, t]} xi_j and independent xi_j of mean 1 and E[xi_j^2] = 1/keep_prob,
    Cov(P[t,k], P[t',k']) = keep_prob^(-o) - 1, o = |(k, t] & (k', t']| = max(0, min(t,t') - max(k,k')).
    So E||g_xi - g||^2 = sum over pairs p, q of (keep_prob^(-o_pq) - 1) <C_p, C_q>.
    C: (T, T, *shape) from ``bptt.copy_contributions(...).W``. The mean of N draws has 1/N of it."""
    keep_prob = probability(keep_prob, "keep_prob")
    C = np.asarray(C, dtype=float)
    T = C.shape[0]
    t, k = np.tril_indices(T)
    flat = C[t, k].reshape(len(t), -1)
    gram = flat @ flat.T
    overlap = np.maximum(0, np.minimum(t[:, None], t[None, :]) - np.maximum(k[:, None], k[None, :]))
    with np.errstate(over="ignore"):
        cov = np.power(1.0 / keep_prob, overlap.astype(float)) - 1.0
    return float(np.sum(cov * gram))


def running_mean_errors(samples: np.ndarray, ref: np.ndarray, ns: Any) -> np.ndarray:
    """Relative error of the mean of the first n samples, for each n in ``ns``.
    samples: (N, *ref.shape), ns: ints in [1, N]. Returns (len(ns),). Vectorised with one cumulative sum."""
    samples = np.asarray(samples, dtype=float)
    ns = np.asarray(ns)
    if ns.ndim != 1 or np.any(ns < 1) or np.any(ns > len(samples)):
        raise ValueError(f"ns must be a 1-D array of counts in [1, {len(samples)}], got {ns!r}")
    means = np.cumsum(samples, axis=0)[ns - 1] / ns.reshape(-1, *([1] * ref.ndim))
    return relative_error(means, ref)
