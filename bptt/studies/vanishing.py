"""Vanishing and exploding gradients: the Jacobian-product bound, scaled recurrent matrices, a loss cliff
and what clipping does to the direction of a step (Pascanu, Mikolov & Bengio 2013). The sizes of W
(``bptt.spectral_radius``, ``bptt.top_singular_value``), clipping (``bptt.clip_grad_norm``,
``bptt.clip_elementwise``) and ``bptt.cosine`` are in the core.

Equation labels refer to ``book/06_vanishing.ipynb``:

    dh_j/dh_{j-1} = diag(f'(a_j)) W                                   (eq-van-step)
    ||dh_t/dh_k||_2 <= (gamma * sigma_max(W))^(t-k)                   (eq-van-bound)
    ||dL_t/dh_k|| <= ||dL_t/dh_t|| (gamma * sigma_max(W))^(t-k)       (eq-van-loss-bound)
    h_t = w * sigmoid(h_{t-1}) + b,  L = (h_T - target)^2             (eq-van-cliff)
    g <- g * min(1, theta / ||g||)   versus   g_i <- clip(g_i, -c, c)  (eq-van-clip-norm, eq-van-clip-elem)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core.activations import DERIVATIVE_BOUND, sigmoid
from ..core.diagnostics import gradient_norms, lag_profile
from ..core.params import RNNParams
from ..core.spectral import scale_to_spectral_radius, scale_to_top_singular_value
from ..core.validation import choice, nonneg_number, positive_int, square_matrix

ACTIVATION_NAMES = tuple(DERIVATIVE_BOUND)


# --------------------------------------------------------------------------- the size of W
def power_norm_rates(W: Any, n_max: int) -> np.ndarray:
    """||W^n||_2^(1/n) for n = 1 .. n_max: (n_max,). Starts at sigma_max(W) and tends to rho(W)
    (Gelfand's formula), which is why rho, not sigma_max, sets the long-run rate of a linear RNN."""
    W = square_matrix(W)
    n_max = positive_int(n_max, "n_max")
    out = np.zeros(n_max)
    M, log_norm = np.eye(W.shape[0]), 0.0
    for n in range(1, n_max + 1):
        M = M @ W
        s = float(np.linalg.norm(M, 2))
        if s == 0.0:  # nilpotent: W^n = 0 from here on
            break
        log_norm += np.log(s)
        M = M / s  # keep the running product at norm 1 so long powers neither overflow nor underflow
        out[n - 1] = np.exp(log_norm / n)
    return out


# --------------------------------------------------------------------------- the bound
def derivative_bound(activation: str) -> float:
    """gamma = sup |f'| for the activation (1 for tanh and ReLU, 1/4 for sigmoid), ``DERIVATIVE_BOUND``."""
    return DERIVATIVE_BOUND[choice(activation, "activation", ACTIVATION_NAMES)]


def lag_bound(lags: Any, sigma_max: float, gamma: float, start: float = 1.0) -> np.ndarray:
    """start * (gamma * sigma_max)^lag for each lag (eq-van-bound; with start = ||dL_t/dh_t||, eq-van-loss-bound).
    lags: (n,) non-negative; returns (n,). Overflow gives inf (callers keep T moderate)."""
    lags = np.asarray(lags, dtype=float)
    if lags.ndim != 1 or np.any(lags < 0) or not np.all(np.isfinite(lags)):
        raise ValueError(f"lags must be a 1-D array of finite numbers >= 0, got shape {lags.shape}")
    rate = nonneg_number(sigma_max, "sigma_max") * nonneg_number(gamma, "gamma")
    start = nonneg_number(start, "start")
    with np.errstate(over="ignore"):
        return start * rate ** lags


def profile_bound(G: Any, sigma_max: float, gamma: float) -> np.ndarray:
    """The bound on ``lag_profile(G)`` implied by eq-van-loss-bound: (T,).

    G: (T, T) from ``gradient_norms``. Every entry obeys G[t, t-l] <= G[t, t] (gamma sigma_max)^l.
    ``lag_profile`` averages (geometric mean) G[t, t-l] over the t whose entry is positive, so the bound
    averages G[t, t] over the same t and multiplies by (gamma sigma_max)^l; a lag with no positive entry
    gets 0, as in the profile. Returned for l = 0 .. T-1 (the JS engine's ``lagBound`` is the same)."""
    G = np.asarray(G, dtype=float)
    if G.ndim != 2 or G.shape[0] != G.shape[1] or G.shape[0] == 0:
        raise ValueError(f"G must be a non-empty square (T, T) map, got shape {np.shape(G)}")
    diag = np.diagonal(G)
    T = G.shape[0]
    rate = nonneg_number(sigma_max, "sigma_max") * nonneg_number(gamma, "gamma")
    bound = np.zeros(T)
    with np.errstate(divide="ignore"):
        log_diag = np.log(diag)
    for lag in range(T):
        keep = (np.diagonal(G, offset=-lag) > 0) & (diag[lag:] > 0)   # the t (from lag on) the profile averages
        if keep.any():
            with np.errstate(over="ignore"):
                bound[lag] = np.exp(np.mean(log_diag[lag:][keep])) * rate ** lag
    return bound


# --------------------------------------------------------------------------- gradient-flow maps
def flow_problem(*, n_in: int = 4, n_hidden: int = 32, n_out: int = 5, batch: int = 8, steps: int = 40,
                 seed: int = 0) -> tuple[RNNParams, np.ndarray, np.ndarray]:
    """A seeded random RNN and data for the gradient-flow experiments.
    Returns (params, xs: (steps, batch, n_in) standard normal, ys: (steps, batch) uniform labels)."""
    steps, batch = positive_int(steps, "steps"), positive_int(batch, "batch")
    params = RNNParams.random(n_in, n_hidden, n_out, seed=seed)
    rng = np.random.default_rng(seed + 1)
    return params, rng.normal(size=(steps, batch, params.n_in)), rng.integers(0, params.n_out, (steps, batch))


def flow_map(params: RNNParams, xs: Any, ys: Any, *, radius: float, activation: str = "tanh",
             input_scale: float = 1.0, steps: int | None = None, kind: str = "spectral"
             ) -> tuple[np.ndarray, np.ndarray]:
    """The gradient-flow map G: (T, T) (``gradient_norms``) after rescaling W.

    kind="spectral": W scaled to spectral radius ``radius``; kind="singular": to sigma_max = ``radius``.
    input_scale multiplies U (large inputs push units into saturation); steps keeps the first T steps of
    xs: (T0, B, D), ys: (T0, B). Returns (G, W_scaled)."""
    if not isinstance(params, RNNParams):
        raise ValueError(f"params must be an RNNParams, got {type(params).__name__}")
    kind = choice(kind, "kind", ("spectral", "singular"))
    W = (scale_to_spectral_radius if kind == "spectral" else scale_to_top_singular_value)(params.W, radius)
    scaled = RNNParams(params.U * nonneg_number(input_scale, "input_scale"), W, params.V, params.b, params.c)
    xs, ys = np.asarray(xs), np.asarray(ys)
    if steps is not None:
        steps = positive_int(steps, "steps")
        if steps > xs.shape[0]:
            raise ValueError(f"steps must be <= the length of xs ({xs.shape[0]}), got {steps}")
        xs, ys = xs[:steps], ys[:steps]
    with np.errstate(over="raise", invalid="raise"):
        return gradient_norms(scaled, xs, ys, activation=activation), W


def per_step_factor(G: Any) -> float:
    """The average factor per step back, (profile[T-1] / profile[0])^(1/(T-1)) of ``lag_profile(G)``.
    G: (T, T) with T >= 2. Below 1: the gradient vanishes with distance; above 1: it explodes."""
    G = np.asarray(G, dtype=float)
    if G.ndim != 2 or G.shape[0] != G.shape[1] or G.shape[0] < 2:
        raise ValueError(f"G must be a square (T, T) map with T >= 2, got shape {np.shape(G)}")
    _, prof = lag_profile(G)
    if prof[0] <= 0 or prof[-1] <= 0:
        raise ValueError("the profile must be positive at lag 0 and lag T-1")
    return float((prof[-1] / prof[0]) ** (1.0 / (G.shape[0] - 1)))


# --------------------------------------------------------------------------- a loss cliff
def cliff_loss_and_grad(w: Any, b: Any, *, steps: int = 15, h0: float = 0.5, target: float = 0.7
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one-unit RNN of eq-van-cliff, h_t = w sigmoid(h_{t-1}) + b, L = (h_T - target)^2, for arrays
    of (w, b) at once (they broadcast to a common shape S). BPTT by hand:
    dL/dh_T = 2 (h_T - target), dL/dh_{t-1} = dL/dh_t * w s_{t-1} (1 - s_{t-1}),
    dL/dw = sum_t dL/dh_t s_{t-1}, dL/db = sum_t dL/dh_t, with s_{t-1} = sigmoid(h_{t-1}).
    Returns (L, dL/dw, dL/db), each of shape S."""
    steps = positive_int(steps, "steps")
    w, b = np.broadcast_arrays(np.asarray(w, dtype=float), np.asarray(b, dtype=float))
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
        raise ValueError("w and b must be finite")
    hs = np.empty((steps + 1,) + w.shape)
    hs[0] = h0
    for t in range(steps):
        hs[t + 1] = w * sigmoid(hs[t]) + b
    loss = (hs[-1] - target) ** 2
    g = 2.0 * (hs[-1] - target)
    dw, db = np.zeros(w.shape), np.zeros(w.shape)
    for t in range(steps, 0, -1):
        s = sigmoid(hs[t - 1])
        dw += g * s
        db += g
        g = g * w * s * (1.0 - s)
    return loss, dw, db


# --------------------------------------------------------------------------- exercises
def exercise_matrix() -> np.ndarray:
    """The recurrent matrix of exercise vanishing-2: a seeded 16 x 16 Gaussian matrix, std 0.15."""
    return np.random.default_rng(2013).normal(0.0, 0.15, (16, 16))


#: the gradient of exercise vanishing-3
EXERCISE_GRADIENT = np.array([12.0, -0.5, 3.0, -40.0, 0.2, 6.0])
