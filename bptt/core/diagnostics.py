"""Gradient-flow diagnostics: how much of each loss term reaches each earlier step."""
from __future__ import annotations

from typing import Any

import numpy as np

from .validation import positive_int
from .activations import activation_grad
from .backward import backward_per_term
from .params import RNNParams
from .rnn import check_inputs, check_labels, logits_grad, output_logits, run_hidden
from .truncation import carry_multipliers


def gradient_norms(params: RNNParams, xs: Any, ys: Any, h0: Any = None, *, activation: str = "tanh",
                   window: int | None = None, detach_every: int | None = None,
                   xi: np.ndarray | None = None) -> np.ndarray:
    """The gradient-flow map G: (T, T). G[t, k] = ||dL_t/dhs[k+1]|| (Frobenius over batch and units) for
    k <= t and 0 for k > t, with L_t the batch-mean cross-entropy at step t.

    xs: (T, B, D), ys: (T, B). Optional truncation (``window``, ``detach_every``, randomized factors
    ``xi`` (T,) from ``draw_xi``) gives the map of what that strategy actually propagates.
    """
    activation_grad(activation)
    xs, h0 = check_inputs(params, xs, h0)
    ys = check_labels(params, xs, ys)
    if window is not None:
        window = positive_int(window, "window")
    T = xs.shape[0]
    hs = run_hidden(params, xs, h0, activation)
    dH = logits_grad(output_logits(params, hs), ys) @ params.V
    G = np.zeros((T, T))
    backward_per_term(dH, activation_grad(activation)(hs[1:]), params.W,
                      carry_multipliers(T, detach_every=detach_every, xi=xi), window, norms=G)
    return G


def lag_profile(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average G[t, t - lag] over t for each lag = 0 .. T-1 (geometric mean, ignoring zeros).
    Returns (lags (T,), profile (T,)); the profile shows how fast gradients shrink or grow with distance."""
    G = np.asarray(G, dtype=float)
    T = G.shape[0]
    lags = np.arange(T)
    prof = np.zeros(T)
    for lag in lags:
        d = np.diagonal(G, offset=-lag)
        d = d[d > 0]
        prof[lag] = np.exp(np.mean(np.log(d))) if d.size else 0.0
    return lags, prof


def jacobian_product_norms(params: RNNParams, hs: np.ndarray, *, activation: str = "tanh", batch: int = 0
                           ) -> np.ndarray:
    """Spectral norms ||dh_t/dh_k||_2 = ||prod_{j=k+1}^{t} diag(f'(a_j)) W||_2 for one batch entry.
    hs: (T+1, B, H) from ``forward``. Returns J: (T, T), J[t, k] for k <= t (J[t, t] = 1), 0 above."""
    fp = activation_grad(activation)(hs[1:, batch])  # (T, H)
    T = fp.shape[0]
    J = np.zeros((T, T))
    for t in range(T):
        M = np.eye(params.n_hidden)
        J[t, t] = 1.0
        for k in range(t - 1, -1, -1):
            M = M @ (fp[k + 1][:, None] * params.W)   # dh_{k+2}/dh_{k+1} in 0-based steps
            J[t, k] = np.linalg.norm(M, 2)
    return J
