"""Small, deterministic inputs that several chapters use for demonstrations (the models with a chosen
spectral radius are in the core: ``bptt.rnn_with_radius``, ``bptt.orthogonal``)."""
from __future__ import annotations

import numpy as np


def impulse(T: int, n_in: int, *, batch: int = 1) -> np.ndarray:
    """Inputs (T, batch, n_in) that are zero except x_0 = (1, 0, ..., 0): the RNN's impulse response."""
    xs = np.zeros((T, batch, n_in))
    xs[0, :, 0] = 1.0
    return xs
