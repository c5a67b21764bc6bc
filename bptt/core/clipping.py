"""Gradient clipping: rescale the whole gradient (keeps its direction) or clip each entry (does not)."""
from __future__ import annotations

import numbers

import numpy as np

from .params import RNNParams


def clip_grad_norm(grads: RNNParams, max_norm: float) -> tuple[RNNParams, float]:
    """Scale all five arrays by min(1, max_norm / (total_norm + 1e-6)), the rule of
    ``torch.nn.utils.clip_grad_norm_``. total_norm is the L2 norm over all entries of U, W, V, b, c.
    Returns (clipped, total_norm) where total_norm is measured before clipping."""
    if not isinstance(grads, RNNParams):
        raise ValueError(f"grads must be an RNNParams, got {type(grads).__name__}")
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real) or not np.isfinite(max_norm) \
            or max_norm < 0:
        raise ValueError(f"max_norm must be a finite number >= 0, got {max_norm!r}")
    total = grads.norm()
    coef = min(1.0, float(max_norm) / (total + 1e-6))
    return grads.map(lambda g: g * coef), total


def clip_elementwise(grads: RNNParams, limit: float) -> RNNParams:
    """Clip every entry to [-limit, limit] (min-char-rnn uses 5). Changes the direction of the step."""
    if not isinstance(grads, RNNParams):
        raise ValueError(f"grads must be an RNNParams, got {type(grads).__name__}")
    if isinstance(limit, bool) or not isinstance(limit, numbers.Real) or not np.isfinite(limit) or limit <= 0:
        raise ValueError(f"limit must be a finite number > 0, got {limit!r}")
    return grads.map(lambda g: np.clip(g, -limit, limit))
