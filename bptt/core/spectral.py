"""The size of the recurrent matrix W: its spectral radius and largest singular value (the per-step growth
rates of eq-van-bound), rescaling W to a chosen size, and random orthogonal matrices and RNNs with a chosen
spectral radius (eq-fwd-radius)."""
from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .params import RNNParams
from .validation import nonneg_number, positive_int, square_matrix

__all__ = ["spectral_radius", "top_singular_value", "scale_to_spectral_radius", "scale_to_top_singular_value",
           "orthogonal", "rnn_with_radius"]


def spectral_radius(W: ArrayLike) -> float:
    """rho(W) = max |eigenvalue| of W: (H, H). The per-step growth rate of W^n for large n."""
    return float(np.max(np.abs(np.linalg.eigvals(square_matrix(W)))))


def top_singular_value(W: ArrayLike) -> float:
    """sigma_max(W) = ||W||_2, the most W: (H, H) can stretch any vector in one step."""
    return float(np.linalg.norm(square_matrix(W), 2))


def _rescaled(W: ArrayLike, target: float, name: str, measure: Callable[[ArrayLike], float],
              zero_msg: str) -> NDArray[np.float64]:
    """W times the positive scalar that makes ``measure(W)`` equal ``target`` (>= 0)."""
    W = square_matrix(W)
    target = nonneg_number(target, name)
    current = measure(W)
    if current == 0:
        raise ValueError(zero_msg)
    return W * (target / current)


def scale_to_spectral_radius(W: ArrayLike, rho: float) -> NDArray[np.float64]:
    """W: (H, H) multiplied by a positive scalar so that its spectral radius is ``rho`` (>= 0)."""
    return _rescaled(W, rho, "rho", spectral_radius,
                     "W has spectral radius 0 (nilpotent or zero), so no scaling can reach rho > 0")


def scale_to_top_singular_value(W: ArrayLike, sigma: float) -> NDArray[np.float64]:
    """W: (H, H) multiplied by a positive scalar so that ||W||_2 = ``sigma`` (>= 0)."""
    return _rescaled(W, sigma, "sigma", top_singular_value, "W is the zero matrix, so no scaling can reach sigma > 0")


def orthogonal(n: int, *, seed: int | np.random.Generator = 0) -> NDArray[np.float64]:
    """A uniformly random orthogonal (n, n) matrix (QR of a Gaussian matrix, signs fixed): every singular
    value is 1. ``seed``: an int, or a Generator to draw from (it then advances by n*n normals)."""
    n = positive_int(n, "n")
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(n, n)))
    return q * np.sign(np.diag(r))


def rnn_with_radius(n_in: int, n_hidden: int, n_out: int, rho: float, *, seed: int = 0) -> RNNParams:
    """An RNN whose recurrent matrix W: (H, H) is rho times an orthogonal matrix, so every singular value of
    W, and its spectral radius, equals rho. U: (H, D), V: (K, H) random with 1/sqrt(fan-in) scale; zero
    biases (``RNNParams.random`` with this W)."""
    rho = nonneg_number(rho, "rho")
    p = RNNParams.random(n_in, n_hidden, n_out, seed=seed)
    return p.with_W(rho * orthogonal(n_hidden, seed=seed + 1))
