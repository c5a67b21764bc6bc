"""The chain rule through time, one path at a time (chapter 3).

BPTT's gradient is a sum over paths in the unrolled graph. This module makes those paths explicit:

* ``bptt.copy_contributions`` (the core): dL_t/dW^(k), the part of the gradient that flows through the
  copy of each weight used at step k (Goodfellow's W^(t) trick); summed over t and k it is the full
  gradient (eq-chain-copies), summed over k alone it is dL_t/dW (eq-chain-product).
* the O(T) recursion dL/dh_t = dL_t/dh_t + dL/dh_{t+1} dh_{t+1}/dh_t (eq-chain-recursion) is the core's
  ``bptt.state_grads``; exercise chain-3 checks a learner's version against it.
* a scalar many-to-one RNN (the hand-derivation note's s_t = f(u x_t + w s_{t-1} + k)) whose paths are
  listed one by one with their factors (``scalar_paths``), and its gradients (``scalar_grads``).
The drawing of the unrolled graph is ``bptt.present.figures.draw_unrolled``; the chapter's exercise checkers
are in ``bptt.present.chain_exercises``.

Steps: the math is 1-based (h_1 .. h_T, copy W^(1) used at step 1); arrays are 0-based, so
``C.W[t - 1, k - 1]`` is dL_t/dW^(k) and ``hs[k]`` is h_k (``hs[0] = h_0``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.validation import as_float_array, choice
from ..core.activations import activation_fn, activation_grad
from ..core.rnn import softmax


# --------------------------------------------------------------------------- the scalar many-to-one RNN
@dataclass(frozen=True)
class ScalarRNN:
    """The hand-derivation note's RNN with one hidden unit and one loss at the end (many-to-one):

        z_t = u x_t + w s_{t-1} + k,   s_t = f(z_t)  (t = 1 .. T),   o = v s_T + c,   L = -log softmax(o)[y].

    u, w, k: floats; v, c: (K,) output weights and biases; s0: the initial state s_0.
    """

    u: float
    w: float
    k: float
    v: np.ndarray
    c: np.ndarray
    s0: float = 0.0
    activation: str = "tanh"

    def __post_init__(self) -> None:
        for name in ("u", "w", "k", "s0"):
            val = getattr(self, name)
            if isinstance(val, bool) or not np.isscalar(val) or not np.isfinite(float(val)):
                raise ValueError(f"{name} must be a finite real number, got {val!r}")
            object.__setattr__(self, name, float(val))
        v = as_float_array(self.v, "v", 1)
        c = as_float_array(self.c, "c", 1)
        if v.shape != c.shape or v.size < 2:
            raise ValueError(f"v and c must both have shape (K,) with K >= 2, got {v.shape} and {c.shape}")
        object.__setattr__(self, "v", v)
        object.__setattr__(self, "c", c)
        activation_fn(self.activation)


def _scalar_inputs(rnn: ScalarRNN, xs: Any, y: Any) -> tuple[np.ndarray, int]:
    if not isinstance(rnn, ScalarRNN):
        raise ValueError(f"rnn must be a ScalarRNN, got {type(rnn).__name__}")
    xs = as_float_array(xs, "xs", 1)
    if xs.size == 0:
        raise ValueError("xs is an empty sequence: T must be >= 1")
    if isinstance(y, bool) or not isinstance(y, (int, np.integer)) or not 0 <= y < rnn.v.size:
        raise ValueError(f"y must be a class index in [0, K) = [0, {rnn.v.size}), got {y!r}")
    return xs, int(y)


def scalar_forward(rnn: ScalarRNN, xs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xs: (T,). Returns s (T+1,) with s[0] = s_0, z (T,) with z[t-1] = z_t, and the logits o (K,)."""
    xs, _ = _scalar_inputs(rnn, xs, 0)
    f = activation_fn(rnn.activation)
    s = np.empty(xs.size + 1)
    z = np.empty(xs.size)
    s[0] = rnn.s0
    for t in range(xs.size):
        z[t] = rnn.u * xs[t] + rnn.w * s[t] + rnn.k
        s[t + 1] = f(z[t])
    return s, z, rnn.v * s[-1] + rnn.c


@dataclass(frozen=True)
class ScalarPath:
    """One path from the copy p^(copy) of a shared weight p to L: its factors (name, value) and their product."""

    param: str
    copy: int
    factors: tuple[tuple[str, float], ...]
    product: float

    def formula(self) -> str:
        """The factors as plain text, e.g. ``dL/ds2 * f'(z2) * w * f'(z1) * x1``."""
        return " * ".join(name for name, _ in self.factors)


def scalar_paths(rnn: ScalarRNN, xs: Any, y: int, param: str = "u") -> list[ScalarPath]:
    """Every path from a copy of ``param`` in {"u", "w", "k"} to L, one per step j = 1 .. T (eq-chain-scalar):

        dL/dp^(j) = dL/ds_T * prod_{i=j+1}^{T} (f'(z_i) w) * f'(z_j) * dz_j/dp^(j),

    with dz_j/du^(j) = x_j, dz_j/dw^(j) = s_{j-1}, dz_j/dk^(j) = 1. The products sum to dL/dp.
    """
    param = choice(param, "param", ("u", "w", "k"))
    xs, y = _scalar_inputs(rnn, xs, y)
    s, z, o = scalar_forward(rnn, xs)
    fp = activation_grad(rnn.activation)(s[1:])                       # f'(z_t) from s_t
    g = softmax(o)
    g[y] -= 1.0
    T = xs.size
    dL_dsT = ("dL/ds%d" % T, float(rnn.v @ g))
    local = {"u": lambda j: ("x%d" % j, float(xs[j - 1])),
             "w": lambda j: ("s%d" % (j - 1), float(s[j - 1])),
             "k": lambda j: ("1", 1.0)}[param]
    paths = []
    for j in range(1, T + 1):
        factors = [dL_dsT]
        for i in range(T, j, -1):
            factors += [("f'(z%d)" % i, float(fp[i - 1])), ("w", rnn.w)]
        factors += [("f'(z%d)" % j, float(fp[j - 1])), local(j)]
        paths.append(ScalarPath(param, j, tuple(factors), float(np.prod([v for _, v in factors]))))
    return paths


def scalar_grads(rnn: ScalarRNN, xs: Any, y: int) -> dict[str, Any]:
    """dL/du, dL/dw, dL/dk (floats) and dL/dv, dL/dc ((K,)) by the O(T) backward recursion."""
    xs, y = _scalar_inputs(rnn, xs, y)
    s, z, o = scalar_forward(rnn, xs)
    fp = activation_grad(rnn.activation)(s[1:])
    do = softmax(o)
    do[y] -= 1.0
    ds = float(rnn.v @ do)
    gu = gw = gk = 0.0
    for t in range(xs.size, 0, -1):
        dz = ds * fp[t - 1]
        gu, gw, gk = gu + dz * xs[t - 1], gw + dz * s[t - 1], gk + dz
        ds = dz * rnn.w
    return {"u": gu, "w": gw, "k": gk, "v": do * s[-1], "c": do}


def example_scalar_rnn() -> tuple[ScalarRNN, np.ndarray, int]:
    """The chapter's 2-step example (and exercise chain-1's): (rnn, xs (2,), y)."""
    rnn = ScalarRNN(u=0.9, w=1.4, k=0.1, v=np.array([1.5, -0.8, 0.4]), c=np.array([0.0, 0.2, -0.1]), s0=0.6)
    return rnn, np.array([1.0, -0.7]), 0
