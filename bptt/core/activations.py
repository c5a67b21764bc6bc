"""Hidden-layer nonlinearities f and their derivatives f'(a), written in terms of h = f(a).

Writing f' through h means the backward pass needs only the stored states hs:
tanh' = 1 - h^2, sigmoid' = h (1 - h), relu' = [h > 0], identity' = 1.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .validation import ACTIVATIONS, choice

__all__ = ["activation_fn", "activation_grad", "sigmoid", "DERIVATIVE_BOUND"]


def sigmoid(a: ArrayLike) -> NDArray[np.float64]:
    """The logistic function 1 / (1 + e^-a), computed from exp(-|a|) only, so no overflow for large |a|."""
    a = np.asarray(a, dtype=np.float64)
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _one_minus_square(h: NDArray[np.float64], out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    d = np.square(h, out=out)
    return np.subtract(1.0, d, out=d)


def _sigmoid_grad(h: NDArray[np.float64], out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    d = np.subtract(1.0, h, out=out)
    return np.multiply(d, h, out=d)


def _relu_grad(h: NDArray[np.float64], out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    return np.greater(h, 0.0, out=np.empty_like(h) if out is None else out, casting="unsafe")


def _identity_grad(h: NDArray[np.float64], out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    if out is None:
        return np.ones_like(h)
    out.fill(1.0)
    return out


FORWARD: dict[str, Callable[[NDArray[np.float64]], NDArray[np.float64]]] = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda a: np.maximum(a, 0.0),
    "identity": lambda a: a,
}

#: the same functions applied in place (a is overwritten with f(a)), for the sequential forward loop
IN_PLACE: dict[str, Callable[[NDArray[np.float64]], NDArray[np.float64]]] = {
    "tanh": lambda a: np.tanh(a, out=a),
    "sigmoid": lambda a: np.copyto(a, sigmoid(a)) or a,
    "relu": lambda a: np.maximum(a, 0.0, out=a),
    "identity": lambda a: a,
}

DERIVATIVE_FROM_OUTPUT: dict[str, Callable[..., NDArray[np.float64]]] = {
    "tanh": _one_minus_square,
    "sigmoid": _sigmoid_grad,
    "relu": _relu_grad,
    "identity": _identity_grad,
}

#: sup |f'|: the gamma of Pascanu, Mikolov & Bengio (2013) in the vanishing-gradient bound.
DERIVATIVE_BOUND: dict[str, float] = {"tanh": 1.0, "sigmoid": 0.25, "relu": 1.0, "identity": 1.0}


def activation_fn(name: str) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """f for ``name`` in ACTIVATIONS."""
    return FORWARD[choice(name, "activation", ACTIVATIONS)]


def activation_grad(name: str) -> Callable[..., NDArray[np.float64]]:
    """(h, out=None) -> f'(a) for ``name`` in ACTIVATIONS (h = f(a)); ``out`` receives it if given."""
    return DERIVATIVE_FROM_OUTPUT[choice(name, "activation", ACTIVATIONS)]
