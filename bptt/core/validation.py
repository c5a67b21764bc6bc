"""Argument checks shared by the library: every bad input becomes a ValueError that says what was expected."""
from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike, NDArray

ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
METHODS = ("bptt", "naive", "randomized")


def as_float_array(x: ArrayLike, name: str, ndim: int) -> NDArray[np.float64]:
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


def check_shape(arr: NDArray[np.float64], name: str, expected: tuple[int, ...], what: str) -> None:
    """Raise ValueError unless ``arr.shape == expected``; ``what`` spells the expected shape in symbols."""
    if arr.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {what} = {tuple(expected)}, got {arr.shape}")


def as_shaped(x: ArrayLike, name: str, expected: tuple[int, ...], what: str) -> NDArray[np.float64]:
    """``x`` as a finite float64 array of shape ``expected`` (spelled ``what`` in symbols), or ValueError."""
    arr = as_float_array(x, name, len(expected))
    check_shape(arr, name, expected, what)
    return arr


def as_state(s: ArrayLike, name: str, B: int, H: int) -> NDArray[np.float64]:
    """An initial state (B, H): zeros for None, else ``s`` checked by ``as_shaped``."""
    return np.zeros((B, H)) if s is None else as_shaped(s, name, (B, H), "(B, H)")


def as_labels(ys: ArrayLike, T: int, B: int, K: int) -> NDArray[np.int64]:
    """Return ``ys`` as an int64 array of shape (T, B) with entries in [0, K), or raise ValueError."""
    arr = np.asarray(ys)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ys must hold integer class indices (an integer dtype), got dtype {arr.dtype}")
    check_shape(arr, "ys", (T, B), "(T, B)")
    if arr.size and (arr.min() < 0 or arr.max() >= K):
        raise ValueError(f"ys must lie in [0, K) = [0, {K}), got values in [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64, copy=False)


def positive_int(value: object, name: str, *, optional: bool = True) -> int:
    """Return ``value`` as an int >= 1, or raise ValueError (whose message offers None if ``optional``)."""
    what = "an integer >= 1" + (" (or None)" if optional else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be {what}, got {value}")
    return int(value)


def as_generator(rng: object, name: str = "rng") -> np.random.Generator:
    """A numpy Generator from ``rng``: None gives a fresh one (OS entropy), an integer seed >= 0
    ``np.random.default_rng(rng)``, a Generator itself (draws advance it); anything else raises ValueError."""
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(f"{name} must be None, an integer seed >= 0 or a numpy Generator, got {rng!r}")


def probability(value: object, name: str) -> float:
    """Return ``value`` as a float in (0, 1], or raise ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
    value = float(value)
    if not (0.0 < value <= 1.0):
        raise ValueError(f"{name} must lie in (0, 1], got {value}")
    return value


def choice(value: object, name: str, options: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``options``, or raise ValueError listing them."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(repr(o) for o in options)}; got {value!r}")
    return value


def as_weights(weights: ArrayLike, T: int, B: int) -> NDArray[np.float64]:
    """Validate per-step loss weights, (T,) or (T, B), finite and >= 0; return them broadcast to (T, B)."""
    w = np.asarray(weights)
    if w.ndim not in (1, 2):
        raise ValueError(f"weights must have shape (T,) = ({T},) or (T, B) = ({T}, {B}), got {w.shape}")
    w = as_float_array(w, "weights", w.ndim)
    if w.shape not in ((T,), (T, B)):
        raise ValueError(f"weights must have shape (T,) = ({T},) or (T, B) = ({T}, {B}), got {w.shape}")
    if np.any(w < 0):
        raise ValueError("weights must be >= 0 (a negative weight would reward a wrong prediction)")
    return np.broadcast_to(w[:, None], (T, B)) if w.ndim == 1 else w


def nonneg_number(value: object, name: str, *, strict: bool = False) -> float:
    """``value`` as a finite float >= 0 (> 0 if ``strict``), or ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value < 0 or (strict and value == 0):
        raise ValueError(f"{name} must be a finite number {'> 0' if strict else '>= 0'}, got {value!r}")
    return float(value)


def square_matrix(W: ArrayLike, name: str = "W") -> NDArray[np.float64]:
    """``W`` as a finite float64 non-empty square matrix (H, H), or ValueError."""
    W = as_float_array(W, name, 2)
    if W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix (H, H), got shape {W.shape}")
    return W


def as_sequence(xs: ArrayLike, n_in: int, weight_name: str, weight_shape: tuple[int, ...]) -> NDArray[np.float64]:
    """``xs`` as a finite float64 batch of sequences (T, B, D) with T, B >= 1 and D = ``n_in`` (the input
    size of the weight ``weight_name`` of shape ``weight_shape``), or ValueError."""
    xs = as_float_array(xs, "xs", 3)
    T, B, D = xs.shape
    if T == 0:
        raise ValueError("xs is an empty sequence: T must be >= 1")
    if B == 0:
        raise ValueError("xs has an empty batch: B must be >= 1")
    if D != n_in:
        raise ValueError(f"xs must have shape (T, B, D) with D = {n_in} ({weight_name} is {weight_shape}), got {xs.shape}")
    return xs
