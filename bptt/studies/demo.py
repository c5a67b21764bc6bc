"""Small, deterministic models and inputs that several chapters use for demonstrations."""
from __future__ import annotations

import numpy as np

from ..core.params import RNNParams


def orthogonal(n: int, *, seed: int | np.random.Generator = 0) -> np.ndarray:
    """A uniformly random orthogonal (n, n) matrix (QR of a Gaussian matrix, signs fixed): every singular
    value is 1. ``seed``: an int, or a Generator to draw from (it then advances by n*n normals)."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def rnn_with_radius(n_in: int, n_hidden: int, n_out: int, rho: float, *, seed: int = 0) -> RNNParams:
    """An RNN whose recurrent matrix is rho times an orthogonal matrix, so every singular value of W,
    and its spectral radius, equals rho. U, V are random with 1/sqrt(fan-in) scale; zero biases."""
    p = RNNParams.random(n_in, n_hidden, n_out, seed=seed)
    return p.with_W(rho * orthogonal(n_hidden, seed=seed + 1))


def impulse(T: int, n_in: int, *, batch: int = 1) -> np.ndarray:
    """Inputs (T, batch, n_in) that are zero except x_0 = (1, 0, ..., 0): the RNN's impulse response."""
    xs = np.zeros((T, batch, n_in))
    xs[0, :, 0] = 1.0
    return xs
