"""Argument checks shared by the library: every bad input becomes a ValueError that says what was expected."""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
METHODS = ("bptt", "naive", "randomized")


def as_float_array(x: Any, name: str, ndim: int) -> np.ndarray:
    """Return ``x`` as a finite float64 array with ``ndim`` dimensions, or raise ValueError."""
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)) \
            or arr.dtype == np.bool_:
        raise ValueError(f"{name} must be a real numeric array (float64 expected), got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; all entries must be finite")
    return arr


def as_sequences(xs: Any, n_in: int, u_shape: tuple[int, ...]) -> np.ndarray:
    """Return ``xs`` as a finite float64 (T, B, D) array with T, B >= 1 and D = n_in (the width of the
    input matrix U, of shape ``u_shape``), or raise ValueError."""
    xs = as_float_array(xs, "xs", 3)
    T, B, D = xs.shape
    if T == 0:
        raise ValueError("xs is an empty sequence: T must be >= 1")
    if B == 0:
        raise ValueError("xs has an empty batch: B must be >= 1")
    if D != n_in:
        raise ValueError(f"xs must have shape (T, B, D) with D = {n_in} (U is {u_shape}), got {xs.shape}")
    return xs


def check_shape(arr: np.ndarray, name: str, expected: tuple[int, ...], what: str) -> None:
    """Raise ValueError unless ``arr.shape == expected``; ``what`` spells the expected shape in symbols."""
    if arr.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {what} = {tuple(expected)}, got {arr.shape}")


def as_labels(ys: Any, T: int, B: int, K: int) -> np.ndarray:
    """Return ``ys`` as an int64 array of shape (T, B) with entries in [0, K), or raise ValueError."""
    arr = np.asarray(ys)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ys must hold integer class indices (an integer dtype), got dtype {arr.dtype}")
    check_shape(arr, "ys", (T, B), "(T, B)")
    if arr.size and (arr.min() < 0 or arr.max() >= K):
        raise ValueError(f"ys must lie in [0, K) = [0, {K}), got values in [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64, copy=False)


def positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int >= 1, or raise ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= 1 (or None), got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1 (or None), got {value}")
    return int(value)


def probability(value: Any, name: str) -> float:
    """Return ``value`` as a float in (0, 1], or raise ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    value = float(value)
    if not (0.0 < value <= 1.0):
        raise ValueError(f"{name} must lie in (0, 1], got {value}")
    return value


def choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``options``, or raise ValueError listing them."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(repr(o) for o in options)}; got {value!r}")
    return value
