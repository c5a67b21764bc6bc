"""Measuring truncated BPTT against full BPTT: the chapter "Truncating BPTT" (book/05_truncation.ipynb).

Every truncation strategy keeps the full-BPTT contribution of each (loss term t, step k) pair and
multiplies it by a weight P[t, k] (``bptt.path_weights``), eq. (eq-trunc-strategy):

    dL/dW (strategy) = sum_t sum_{k <= t} P[t, k] * C[t, k],    C[t, k] = dL_t/da_k  h_{k-1}^T  (summed over B)

so once the pair contributions C are computed, the gradient of *any* strategy, and of thousands of
randomized draws at once, is one tensor contraction. Steps are 0-based as in code: step t reads xs[t]
and writes hs[t + 1]; "h_{k-1}" is hs[k].

Contents: a model whose gradient has long memory (``long_memory_problem``), pair contributions
(``pair_contributions``), the contraction (``combine``), many randomized weight matrices at once
(``randomized_weights``), error measures (``relative_error``, ``cosine``), cost counts
(``backward_products``, ``peak_states``), the exact variance of the randomized estimator
(``randomized_variance``), and the chapter's exercise checkers.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import checks
from ._validate import choice, positive_int, probability
from .activations import activation_grad
from .demo import orthogonal
from .params import RNNParams
from .rnn import check_inputs, check_labels, logits_grad, output_logits, run_hidden
from .truncation import carry_multipliers, path_weights

__all__ = ["Problem", "long_memory_problem", "pair_contributions", "combine", "randomized_weights",
           "relative_error", "cosine", "backward_products", "peak_states", "randomized_variance",
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
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a finite number > 0, got {radius!r}")
    if not (np.isfinite(input_scale) and input_scale >= 0):
        raise ValueError(f"input_scale must be a finite number >= 0, got {input_scale!r}")
    rng = np.random.default_rng(seed)
    Q = orthogonal(H, seed=rng)
    params = RNNParams(U=rng.normal(0.0, input_scale / np.sqrt(D), (H, D)), W=radius * Q,
                       V=rng.normal(0.0, 1.0 / np.sqrt(H), (K, H)), b=np.zeros(H), c=np.zeros(K))
    xs = rng.normal(size=(T, B, D))
    ys = rng.integers(0, K, (T, B))
    return Problem(params, xs, ys, np.zeros((B, H)))


def pair_contributions(params: RNNParams, xs: Any, ys: Any, h0: Any = None, *, activation: str = "tanh",
                       which: str = "W") -> np.ndarray:
    """C: the full-BPTT contribution of every (loss term t, step k) pair to one parameter's gradient,
    eq. (eq-trunc-pairs). xs: (T, B, D), ys: (T, B).

    Returns C: (T, T, *shape) with C[t, k] = sum_b delta_{t,k} (x) input_k, where delta_{t,k} = dL_t/da_k
    (eq. eq-trunc-chain) and input_k is hs[k] for which="W" (shape (H, H)), xs[k] for "U" ((H, D)),
    1 for "b" ((H,)); C[t, k] = 0 for k > t. Summing C over both axes gives the full BPTT gradient.
    One reverse sweep, vectorised over the loss terms t (O(T) sequential steps, O(T^2) work).
    """
    which = choice(which, "which", ("W", "U", "b"))
    act_grad = activation_grad(activation)
    xs, h0 = check_inputs(params, xs, h0)
    ys = check_labels(params, xs, ys)
    T, B, _ = xs.shape
    H = params.n_hidden
    hs = run_hidden(params, xs, h0, activation)
    dH = logits_grad(output_logits(params, hs), ys) @ params.V      # (T, B, H): direct dL_t/dh_t
    fprime = act_grad(hs[1:])                                        # (T, B, H): f'(a_t)
    delta = np.zeros((T, T, B, H))                                   # delta[t, k] = dL_t/da_k
    carry = np.zeros((0, B, H))                                      # dL_t/dh_s for t = s+1 .. T-1
    for s in range(T - 1, -1, -1):
        buf = np.concatenate([dH[s][None], carry]) * fprime[s]       # dL_t/da_s for t = s .. T-1
        delta[s:, s] = buf
        carry = buf @ params.W                                       # dL_t/dh_{s-1}
    if which == "W":
        return np.einsum("tkbh,kbj->tkhj", delta, hs[:-1], optimize=True)
    if which == "U":
        return np.einsum("tkbh,kbj->tkhj", delta, xs, optimize=True)
    return delta.sum(axis=2)


def combine(C: np.ndarray, P: np.ndarray) -> np.ndarray:
    """The gradient a strategy computes, eq. (eq-trunc-strategy): sum_{t,k} P[t, k] C[t, k].
    C: (T, T, *shape) from ``pair_contributions``; P: (..., T, T) path weights (any number of leading
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


def relative_error(g: Any, ref: Any) -> np.ndarray:
    """||g - ref|| / ||ref|| (Frobenius over the trailing ref.ndim axes), vectorised over g's leading axes.
    g: (..., *ref.shape). Returns (...,)."""
    g, ref = np.asarray(g, dtype=float), np.asarray(ref, dtype=float)
    if ref.ndim == 0 or g.shape[g.ndim - ref.ndim:] != ref.shape:
        raise ValueError(f"g must have shape (..., {ref.shape}) matching ref, got {g.shape}")
    nref = np.linalg.norm(ref)
    if nref == 0:
        raise ValueError("ref is the zero gradient; the relative error is undefined")
    axes = tuple(range(g.ndim - ref.ndim, g.ndim))
    return np.sqrt(np.sum((g - ref) ** 2, axis=axes)) / nref


def cosine(g: Any, ref: Any) -> np.ndarray:
    """Cosine similarity <g, ref> / (||g|| ||ref||) over the trailing ref.ndim axes, vectorised over g's
    leading axes (0 where g = 0). g: (..., *ref.shape). Returns (...,)."""
    g, ref = np.asarray(g, dtype=float), np.asarray(ref, dtype=float)
    if ref.ndim == 0 or g.shape[g.ndim - ref.ndim:] != ref.shape:
        raise ValueError(f"g must have shape (..., {ref.shape}) matching ref, got {g.shape}")
    axes = tuple(range(g.ndim - ref.ndim, g.ndim))
    ng = np.sqrt(np.sum(g * g, axis=axes))
    dot = np.sum(g * ref, axis=axes)
    return np.where(ng > 0, dot / np.where(ng > 0, ng, 1.0) / np.linalg.norm(ref), 0.0)


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
    C: (T, T, *shape) from ``pair_contributions``. The mean of N draws has 1/N of it."""
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


# --------------------------------------------------------------------------- exercise checkers
@checks.exercise("trunc-1", hint="with detach_every=4 the cuts sit before steps 4, 8, 12, ...; L_7 "
                                 "goes back until it hits the start of its own chunk")
def _check_reach(answer: Any) -> tuple[bool, str]:
    expected = lookback_steps(7, 12, detach_every=4)
    got = np.sort(np.unique(np.asarray(list(answer), dtype=int)))
    if got.tolist() == expected.tolist():
        return True, f"L_7 reaches steps {expected.tolist()}, {len(expected)} of them"
    missing = sorted(set(expected.tolist()) - set(got.tolist()))
    extra = sorted(set(got.tolist()) - set(expected.tolist()))
    return False, f"missing steps {missing}, steps that are cut off: {extra}"


@checks.exercise("trunc-2", hint="E[xi] = pi * (1/pi) + (1 - pi) * 0; a product of independent factors "
                                 "has E[prod xi_j^2] = prod E[xi_j^2] with E[xi^2] = 1/pi")
def _check_moments(answer: Any) -> tuple[bool, str]:
    return checks.close(answer, [1.0, 0.25 ** -3 - 1.0], what="(mean, variance) of P[t, k]")


@checks.exercise("trunc-3", hint="without the 1/pi the factors are 0 or 1, so E[P[t, k]] = pi^(t-k); "
                                 "combine that expected weight matrix with the pair contributions")
def _check_bias(answer: Any) -> tuple[bool, str]:
    prob = long_memory_problem()
    C = pair_contributions(*prob)
    T = C.shape[0]
    lag = np.subtract.outer(np.arange(T), np.arange(T))
    expected_P = np.where(lag >= 0, 0.6 ** np.maximum(lag, 0), 0.0)
    expected = relative_error(combine(C, expected_P), C.sum(axis=(0, 1)))
    return checks.close(answer, expected, rtol=1e-6, what="relative error of the expected gradient")
