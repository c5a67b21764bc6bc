"""Gradient clipping (eq-van-clip-norm, eq-van-clip-elem): rescale the whole gradient (keeps its direction)
or clip each entry (does not). One rule each, for any parameter object (``RNNParams``, ``LSTMParams``,
``DeepRNNParams``: any ``ParamArrays``) and for plain arrays alike."""
from __future__ import annotations

from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .params import ParamArrays
from .validation import as_float_array, nonneg_number

__all__ = ["clip_grad_norm", "clip_elementwise"]

G = TypeVar("G", ParamArrays, NDArray[np.float64])


def norm_clip_factor(total: float, max_norm: float, eps: float = 1e-6) -> float:
    """min(1, max_norm / (total + eps)): the factor that brings a gradient of norm ``total`` down to at most
    ``max_norm`` (eq-van-clip-norm). eps = 1e-6 is torch.nn.utils.clip_grad_norm_'s; eps = 0 is exact
    (then a zero gradient is left as it is)."""
    denom = total + eps
    return 1.0 if denom == 0 else min(1.0, max_norm / denom)


def _as_grads(grads: object) -> ParamArrays | NDArray[np.float64]:
    if isinstance(grads, ParamArrays):
        return grads
    if isinstance(grads, (np.ndarray, list, tuple)):
        arr = np.asarray(grads)
        return as_float_array(arr, "grads", arr.ndim)
    raise ValueError(f"grads must be a ParamArrays (e.g. RNNParams) or an array, got {type(grads).__name__}")


def clip_grad_norm(grads: G | ArrayLike, max_norm: float, *, eps: float = 1e-6) -> tuple[G, float]:
    """Scale the whole gradient by min(1, max_norm / (total_norm + eps)) (eq-van-clip-norm), the rule of
    ``torch.nn.utils.clip_grad_norm_`` (eps = 1e-6, its default; eps = 0 gives exactly ``max_norm``).

    grads: any ``ParamArrays`` (total_norm is the L2 norm over all entries of all arrays) or an array of
    any shape. Returns (clipped, total_norm): clipped of the same type and shapes as grads, total_norm
    measured before clipping."""
    g = _as_grads(grads)
    max_norm = nonneg_number(max_norm, "max_norm")
    eps = nonneg_number(eps, "eps")
    total = g.norm() if isinstance(g, ParamArrays) else float(np.linalg.norm(g))
    coef = norm_clip_factor(total, max_norm, eps)
    return (g.map(lambda a: a * coef) if isinstance(g, ParamArrays) else g * coef), total


def clip_elementwise(grads: G | ArrayLike, limit: float) -> G:
    """Clip every entry to [-limit, limit] (eq-van-clip-elem; min-char-rnn uses 5). Changes the direction.
    grads: any ``ParamArrays`` or an array of any shape; returns the same type and shapes."""
    g = _as_grads(grads)
    limit = nonneg_number(limit, "limit", strict=True)
    return g.map(lambda a: np.clip(a, -limit, limit)) if isinstance(g, ParamArrays) else np.clip(g, -limit, limit)
