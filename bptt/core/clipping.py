"""Gradient clipping (eq-van-clip-norm, eq-van-clip-elem): rescale the whole gradient (keeps its direction)
or clip each entry (does not). One rule each, for parameter objects and for flat vectors."""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .params import ParamArrays, RNNParams
from .validation import nonneg_number

def norm_clip_factor(total: float, max_norm: float, eps: float = 1e-6) -> float:
    """min(1, max_norm / (total + eps)): the factor that brings a gradient of norm ``total`` down to at most
    ``max_norm`` (eq-van-clip-norm). eps = 1e-6 is torch.nn.utils.clip_grad_norm_'s; eps = 0 is exact
    (then a zero gradient is left as it is)."""
    denom = total + eps
    return 1.0 if denom == 0 else min(1.0, max_norm / denom)


def _check_params(grads: object) -> None:
    if not isinstance(grads, ParamArrays):
        raise ValueError(f"grads must be an RNNParams, got {type(grads).__name__}")


def clip_grad_norm(grads: RNNParams, max_norm: float) -> tuple[RNNParams, float]:
    """Scale all arrays by min(1, max_norm / (total_norm + 1e-6)), the rule of
    ``torch.nn.utils.clip_grad_norm_``. total_norm is the L2 norm over all entries of U, W, V, b, c
    (any ``ParamArrays``, e.g. ``LSTMParams``, works the same way).
    Returns (clipped, total_norm) where total_norm is measured before clipping."""
    _check_params(grads)
    max_norm = nonneg_number(max_norm, "max_norm")
    total = grads.norm()
    coef = norm_clip_factor(total, max_norm)
    return grads.map(lambda g: g * coef), total


def clip_elementwise(grads: RNNParams, limit: float) -> RNNParams:
    """Clip every entry to [-limit, limit] (min-char-rnn uses 5, eq-van-clip-elem). Changes the direction."""
    _check_params(grads)
    limit = nonneg_number(limit, "limit", strict=True)
    return grads.map(lambda g: np.clip(g, -limit, limit))


def clip_vector_norm(g: ArrayLike, max_norm: float) -> NDArray[np.float64]:
    """g * min(1, max_norm / ||g||) for a flat vector g: (n,), exactly (eq-van-clip-norm; keeps the direction)."""
    g = np.asarray(g, dtype=np.float64)
    return g * norm_clip_factor(float(np.linalg.norm(g)), nonneg_number(max_norm, "max_norm"), eps=0.0)


def clip_vector_elementwise(g: ArrayLike, limit: float) -> NDArray[np.float64]:
    """Each entry of g: (n,) clipped to [-limit, limit] (eq-van-clip-elem)."""
    limit = nonneg_number(limit, "limit", strict=True)
    return np.clip(np.asarray(g, dtype=np.float64), -limit, limit)
