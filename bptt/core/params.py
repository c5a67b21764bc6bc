"""Parameter containers: the shared vector methods (``ParamArrays``) and the vanilla RNN's parameters in the
book's names (eq-fwd-a, eq-fwd-h, eq-fwd-o; Goodfellow et al. eqs. 10.8-10.11)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable, Iterator, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .validation import as_float_array, as_shaped

__all__ = ["ParamArrays", "RNNParams"]


class ParamArrays:
    """The methods shared by every parameter dataclass (``RNNParams``, ``LSTMParams``): its fields, in
    order, are arrays, and together they form one parameter vector."""

    def arrays(self) -> tuple[NDArray[np.float64], ...]:
        """The arrays in field order."""
        return tuple(getattr(self, f.name) for f in fields(self))  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[NDArray[np.float64]]:
        return iter(self.arrays())

    def map(self: P, fn: Callable[[NDArray[np.float64]], NDArray[np.float64]]) -> P:
        """A new object of the same type with ``fn`` applied to each array."""
        return type(self)(*(fn(a) for a in self.arrays()))

    def flat(self) -> NDArray[np.float64]:
        """All entries concatenated into one vector, in field order."""
        return np.concatenate([a.ravel() for a in self.arrays()])

    def norm(self) -> float:
        """Global L2 norm over all arrays."""
        return float(np.sqrt(sum(float(np.sum(a * a)) for a in self.arrays())))

    @property
    def n_params(self) -> int:
        """Total number of scalars in all arrays."""
        return sum(a.size for a in self.arrays())


P = TypeVar("P", bound=ParamArrays)


def array_size(field: str, axis: int, doc: str) -> property:
    """A read-only size property of a parameter dataclass: the length of array ``field`` along ``axis``
    (``n_in = array_size("U", 1, ...)`` reads D from U: (H, D))."""
    return property(lambda self: getattr(self, field).shape[axis], doc=doc)


def set_fields(obj: object, values: tuple[object, ...]) -> None:
    """Store the checked ``values`` in the fields of the frozen dataclass ``obj``, in field order."""
    for f, value in zip(fields(obj), values):  # type: ignore[arg-type]
        object.__setattr__(obj, f.name, value)


def recurrent_weights(U: ArrayLike, W: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The weights of a recurrent cell h_t = f(U x_t + W h_{t-1} + b), checked: U: (H, D), W: (H, H)."""
    U = as_float_array(U, "U", 2)
    H = U.shape[0]
    return U, as_shaped(W, "W", (H, H), "(H, H)")


def output_weights(V: ArrayLike, width: int, width_name: str = "H", *, nonempty: bool = False
                   ) -> NDArray[np.float64]:
    """The output weights V of o_t = c + V h_t (eq-fwd-o), checked: V: (K, width), and K >= 1 if ``nonempty``;
    ``width_name`` spells the width in symbols in the error message."""
    V = as_float_array(V, "V", 2)
    if V.shape[1] != width or (nonempty and V.shape[0] == 0):
        k = "K >= 1 and " if nonempty else ""
        raise ValueError(f"V must have shape (K, {width_name}) with {k}{width_name} = {width}, got {V.shape}")
    return V


@dataclass(frozen=True)
class RNNArrays(ParamArrays):
    """Five arrays named after the vanilla RNN's parameters U, W, V, b, c (no shape checks): the base of
    ``RNNParams`` and of per-step collections such as ``bptt.CopyContributions``."""

    U: NDArray[np.float64]
    W: NDArray[np.float64]
    V: NDArray[np.float64]
    b: NDArray[np.float64]
    c: NDArray[np.float64]


@dataclass(frozen=True)
class RNNParams(RNNArrays):
    """Weights of h_t = f(U x_t + W h_{t-1} + b), o_t = V h_t + c.

    U: (H, D) input -> hidden.   W: (H, H) hidden -> hidden.   V: (K, H) hidden -> output.
    b: (H,) hidden bias.         c: (K,) output bias.
    Crosswalk: U = W_x = W_xh, W = W_h = W_hh, V = W_y = W_hq (d2l writes them transposed).
    """

    def __post_init__(self) -> None:
        U, W = recurrent_weights(self.U, self.W)
        H = U.shape[0]
        V = output_weights(self.V, H)
        b = as_shaped(self.b, "b", (H,), "(H,)")
        c = as_shaped(self.c, "c", (V.shape[0],), "(K,)")
        set_fields(self, (U, W, V, b, c))

    # sizes ---------------------------------------------------------------
    n_in = array_size("U", 1, "D, the input size.")
    n_hidden = array_size("U", 0, "H, the number of hidden units.")
    n_out = array_size("V", 0, "K, the number of classes.")

    # construction --------------------------------------------------------
    @classmethod
    def random(cls, n_in: int, n_hidden: int, n_out: int, *, seed: int = 0,
               scale: float | None = None) -> "RNNParams":
        """Gaussian weights with standard deviation ``scale`` (default 1/sqrt(fan-in)) and zero biases."""
        for name, n in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
        if scale is not None and (not np.isfinite(scale) or scale < 0):
            raise ValueError(f"scale must be a finite number >= 0 or None, got {scale!r}")
        rng = np.random.default_rng(seed)

        def gauss(shape: tuple[int, int], fan_in: int) -> NDArray[np.float64]:
            std = 1.0 / np.sqrt(fan_in) if scale is None else scale
            return rng.normal(0.0, std, size=shape)

        return cls(U=gauss((n_hidden, n_in), n_in), W=gauss((n_hidden, n_hidden), n_hidden),
                   V=gauss((n_out, n_hidden), n_hidden), b=np.zeros(n_hidden), c=np.zeros(n_out))

    def with_W(self, W: NDArray[np.float64]) -> "RNNParams":
        """A copy with the recurrent matrix replaced."""
        return RNNParams(self.U, W, self.V, self.b, self.c)
