"""The chain rule through time, one path at a time (chapter 3).

BPTT's gradient is a sum over paths in the unrolled graph. This module makes those paths explicit:

* ``term_state_grads``: dL_t/dh_k for every loss term t and step k, kept apart (not summed over t).
* ``copy_contributions``: dL_t/dW^(k), the part of the gradient that flows through the copy of each
  weight used at step k (Goodfellow's W^(t) trick); summed over t and k it is the full gradient
  (eq-chain-copies), summed over k alone it is dL_t/dW (eq-chain-product).
* ``state_grads_recursive``: the O(T) recursion dL/dh_t = dL_t/dh_t + dL/dh_{t+1} dh_{t+1}/dh_t
  (eq-chain-recursion), written with row vectors as in the code.
* a scalar many-to-one RNN (the hand-derivation note's s_t = f(u x_t + w s_{t-1} + k)) whose paths are
  listed one by one with their factors (``scalar_paths``), and its gradients (``scalar_grads``).
* the drawings of the unrolled graph and of the chapter's path widget, and the chapter's exercise checkers.

Steps: the math is 1-based (h_1 .. h_T, copy W^(1) used at step 1); arrays are 0-based, so
``C.W[t - 1, k - 1]`` is dL_t/dW^(k) and ``hs[k]`` is h_k (``hs[0] = h_0``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

from . import checks, plotting
from ._validate import as_float_array, choice, positive_int
from .activations import activation_fn, activation_grad
from .params import RNNParams
from .rnn import check_inputs, check_labels, log_softmax, logits_grad, output_logits, run_hidden, softmax

#: refuse per-copy arrays larger than this many float64 entries (T^2 * H * max(H, D, K) grows fast)
MAX_COPY_ENTRIES = 20_000_000


# --------------------------------------------------------------------------- vector RNN: per-term, per-copy
def term_state_grads(params: RNNParams, xs: Any, ys: Any, h0: Any = None, *, activation: str = "tanh"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """dL_t/dh_k for every loss term t and every step k, kept separate (eq-chain-product, in rows).

    xs: (T, B, D), ys: (T, B), h0: (B, H) or None. L_t is the batch-mean cross-entropy at step t.
    Returns (DH, hs): DH (T, T, B, H) with DH[t-1, k-1] = dL_t/dh_k (zero for k > t), and the states
    hs (T+1, B, H). One reverse sweep carries every term at once: at step k the buffer holds
    dL_t/dh_k for t = k .. T and moves back with one product by diag(f'(a_k)) W.
    """
    activation_grad(activation)
    xs, h0 = check_inputs(params, xs, h0)
    ys = check_labels(params, xs, ys)
    T, B, _ = xs.shape
    H = params.n_hidden
    hs = run_hidden(params, xs, h0, activation)
    dH = logits_grad(output_logits(params, hs), ys) @ params.V      # direct dL_t/dh_t: (T, B, H)
    fprime = activation_grad(activation)(hs[1:])                     # f'(a_k): (T, B, H)
    DH = np.zeros((T, T, B, H))
    carry = np.zeros((0, B, H))
    for k in range(T - 1, -1, -1):
        C = np.concatenate([dH[k][None], carry])                     # rows: t = k, k+1, ..., T-1
        DH[k:, k] = C
        carry = (C * fprime[k]) @ params.W                           # dL_t/dh_{k-1} = dL_t/dh_k diag(f') W
    return DH, hs


@dataclass(frozen=True)
class CopyContributions:
    """dL_t/dtheta^(k) for theta in U, W, V, b, c: each array has two leading axes (t, k), 0-based.

    U: (T, T, H, D), W: (T, T, H, H), V: (T, T, K, H), b: (T, T, H), c: (T, T, K).
    Entries with k > t are zero (a copy used after step t cannot change L_t); V and c are nonzero only
    on the diagonal k = t (the output weights reach L_t through o_t alone).
    """

    U: np.ndarray
    W: np.ndarray
    V: np.ndarray
    b: np.ndarray
    c: np.ndarray

    @property
    def T(self) -> int:
        """The number of steps."""
        return self.W.shape[0]

    def total(self) -> RNNParams:
        """dL/dtheta = sum_t sum_k dL_t/dtheta^(k) (eq-chain-copies)."""
        return RNNParams(*(getattr(self, n).sum(axis=(0, 1)) for n in "UWVbc"))

    def term(self, t: int) -> RNNParams:
        """dL_t/dtheta = sum_k dL_t/dtheta^(k) for the 1-based loss term t (eq-chain-product)."""
        t = positive_int(t, "t")
        if t > self.T:
            raise ValueError(f"t must lie in 1 .. T = {self.T}, got {t}")
        return RNNParams(*(getattr(self, n)[t - 1].sum(axis=0) for n in "UWVbc"))

    def norms(self, name: str = "W") -> np.ndarray:
        """(T, T): N[t-1, k-1] = ||dL_t/dname^(k)|| (Frobenius), zero for k > t."""
        name = choice(name, "name", ("U", "W", "V", "b", "c"))
        a = getattr(self, name)
        return np.sqrt((a * a).reshape(self.T, self.T, -1).sum(-1))


def copy_contributions(params: RNNParams, xs: Any, ys: Any, h0: Any = None, *, activation: str = "tanh"
                       ) -> CopyContributions:
    """The contribution of each step's copy of each weight to each loss term (Goodfellow's W^(t) trick).

    With delta_k^(t) = dL_t/da_k = dL_t/dh_k * f'(a_k) (rows of shape (B, H)):
    dL_t/dW^(k) = delta_k^(t)^T h_{k-1},  dL_t/dU^(k) = delta_k^(t)^T x_k,  dL_t/db^(k) = sum_b delta_k^(t),
    dL_t/dV^(t) = (dL_t/do_t)^T h_t,      dL_t/dc^(t) = sum_b dL_t/do_t.
    xs: (T, B, D), ys: (T, B), h0: (B, H) or None. Memory grows as T^2 H^2: for long sequences use
    ``bptt.gradient_norms`` (ValueError above MAX_COPY_ENTRIES entries).
    """
    xs_arr, _ = check_inputs(params, xs, h0)
    T, B, D = xs_arr.shape
    H, K = params.n_hidden, params.n_out
    size = T * T * (H * H + H * D + K * H + H + K)
    if size > MAX_COPY_ENTRIES:
        raise ValueError(f"copy_contributions would hold {size} numbers (T = {T}, H = {H}); expected at most "
                         f"{MAX_COPY_ENTRIES}: use a shorter sequence or bptt.gradient_norms")
    DH, hs = term_state_grads(params, xs, ys, h0, activation=activation)
    DA = DH * activation_grad(activation)(hs[1:])[None]                 # (T, T, B, H), delta_k^(t)
    dO = logits_grad(output_logits(params, hs), check_labels(params, xs_arr, ys))   # (T, B, K)
    Vc = np.zeros((T, T, K, H))
    cc = np.zeros((T, T, K))
    idx = np.arange(T)
    Vc[idx, idx] = np.einsum("tbk,tbh->tkh", dO, hs[1:])
    cc[idx, idx] = dO.sum(axis=1)
    return CopyContributions(U=np.einsum("tkbi,kbj->tkij", DA, xs_arr),
                             W=np.einsum("tkbi,kbj->tkij", DA, hs[:-1]),
                             V=Vc, b=DA.sum(axis=2), c=cc)


def state_grads_recursive(dH: Any, fprime: Any, W: Any) -> np.ndarray:
    """The backward recursion for the total state gradient (eq-chain-recursion), in rows:

        dL/dh_T = dL_T/dh_T,   dL/dh_t = dL_t/dh_t + (dL/dh_{t+1} * f'(a_{t+1})) W.

    dH: (T, B, H) = the direct dL_t/dh_t; fprime: (T, B, H) = f'(a_t); W: (H, H). Returns (T, B, H).
    """
    dH = as_float_array(dH, "dH", 3)
    fprime = as_float_array(fprime, "fprime", 3)
    W = as_float_array(W, "W", 2)
    if fprime.shape != dH.shape:
        raise ValueError(f"fprime must have the shape of dH, (T, B, H) = {dH.shape}, got {fprime.shape}")
    H = dH.shape[2]
    if W.shape != (H, H):
        raise ValueError(f"W must have shape (H, H) = ({H}, {H}), got {W.shape}")
    out = np.empty_like(dH)
    carry = np.zeros_like(dH[0])
    for t in range(dH.shape[0] - 1, -1, -1):
        out[t] = dH[t] + carry
        carry = (out[t] * fprime[t]) @ W
    return out


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


def scalar_loss(rnn: ScalarRNN, xs: Any, y: int) -> float:
    """L = -log softmax(o)[y] for the sequence xs (T,)."""
    xs, y = _scalar_inputs(rnn, xs, y)
    return float(-log_softmax(scalar_forward(rnn, xs)[2])[y])


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


# --------------------------------------------------------------------------- drawings
_RED, _ORANGE, _GREY = "#d62728", "#ff9f40", "#b0b0b0"
# node labels are plain text with Unicode sub/superscripts: a widget draws hundreds of them, and mathtext
# layout would dominate the time to precompute its frames
_SUB = str.maketrans("0123456789()", "₀₁₂₃₄₅₆₇₈₉₍₎")
_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


_R = 0.27  # node radius in data units


def _arrow(ax: Axes, p: tuple[float, float], q: tuple[float, float], color: str, lw: float, *,
           start_gap: float = _R, end_gap: float = _R) -> None:
    """An arrow from p to q, both shortened along the line (data units) so it meets the node borders."""
    (x0, y0), (x1, y1) = p, q
    n = float(np.hypot(x1 - x0, y1 - y0))
    ux, uy = (x1 - x0) / n, (y1 - y0) / n
    ax.add_patch(FancyArrowPatch((x0 + ux * start_gap, y0 + uy * start_gap), (x1 - ux * end_gap, y1 - uy * end_gap),
                                 arrowstyle="-|>", mutation_scale=9 + 2 * lw, color=color, lw=lw,
                                 shrinkA=0, shrinkB=0, zorder=1))


def draw_unrolled(ax: Axes, T: int, *, t: int | None = None, k: int | None = None,
                  copy_values: np.ndarray | None = None, show_uv: bool = False, fontsize: float = 10) -> None:
    """Draw the unrolled graph x_j -> h_j -> o_j -> L_j (j = 1 .. T) with the copy W^(j) feeding h_j.

    t, k (1-based): highlight L_t, every copy W^(j) with j <= t (they all reach L_t, orange) and the path
    from W^(k) to L_t (red); copies with j > t are greyed (no path). copy_values (T,): numbers printed
    above the copies j <= t (e.g. ||dL_t/dW^(j)||). show_uv: label the U and V edges. fontsize: of the
    node labels (the other labels are a little smaller).
    """
    T = positive_int(T, "T")
    for name, val in (("t", t), ("k", k)):
        if val is not None and not 1 <= positive_int(val, name) <= T:
            raise ValueError(f"{name} must lie in 1 .. T = {T}, got {val}")
    if copy_values is not None:
        copy_values = as_float_array(copy_values, "copy_values", 1)
        if copy_values.shape != (T,):
            raise ValueError(f"copy_values must have shape (T,) = ({T},), got {copy_values.shape}")
    dx = 1.3                                       # horizontal distance between steps
    Y = {"x": 0.0, "h": 1.0, "o": 2.0, "L": 3.0}  # row of each kind of node
    active = t is not None
    reaches = (lambda j: j <= t) if active else (lambda j: False)
    on_path = (lambda j: k is not None and k <= j <= t) if active else (lambda j: False)

    def node(j: int, row: str, color: str, fill: str = "white", lw: float = 1.2) -> None:
        ax.add_patch(Circle((dx * j, Y[row]), _R, fc=fill, ec=color, lw=lw, zorder=2))
        ax.text(dx * j, Y[row], row + str(j).translate(_SUB), ha="center", va="center", fontsize=fontsize, zorder=3,
                color="#777777" if color == _GREY else "black")

    def edge(p: tuple[float, float], q: tuple[float, float], red: bool, color: str) -> None:
        _arrow(ax, p, q, _RED if red else color, 2.6 if red else 1.0)

    node(0, "h", "black")
    for j in range(1, T + 1):
        col = _GREY if active and j > t else "black"
        is_t = active and j == t
        node(j, "x", col)
        node(j, "h", _RED if on_path(j) else col, "#fde0dd" if on_path(j) else "white", 2.2 if on_path(j) else 1.2)
        node(j, "o", _RED if is_t and on_path(j) else col)
        node(j, "L", _RED if is_t else col, "#fde0dd" if is_t else "white", 2.2 if is_t else 1.2)
        X = dx * j
        edge((X, Y["x"]), (X, Y["h"]), False, col)
        edge((X, Y["h"]), (X, Y["o"]), is_t and on_path(j), col)
        edge((X, Y["o"]), (X, Y["L"]), is_t and on_path(j), col)
        edge((X - dx, Y["h"]), (X, Y["h"]), on_path(j - 1) and on_path(j), col)
        if show_uv:
            ax.text(X + 0.07, 0.5, "$U$", fontsize=fontsize - 2, color="#555555", va="center")
            ax.text(X + 0.07, 1.5, "$V$", fontsize=fontsize - 2, color="#555555", va="center")
        # the copy W^(j): a box above the h_{j-1} -> h_j edge, feeding h_j
        wx, wy = X - dx / 2, 1.62
        if active and j == k:
            wc, wf, wl = (_RED, "white", 1.4) if j > t else (_RED, "#fde0dd", 2.4)
        elif reaches(j):
            wc, wf, wl = _ORANGE, "#fff1e0", 1.6
        else:
            wc, wf, wl = col, "white", 1.0
        ax.add_patch(Rectangle((wx - 0.27, wy - 0.16), 0.54, 0.32, fc=wf, ec=wc, lw=wl,
                               ls="--" if active and j > t else "-", zorder=2))
        ax.text(wx, wy, "W" + f"({j})".translate(_SUP), ha="center", va="center", fontsize=fontsize - 2, zorder=3,
                color="#777777" if col == _GREY else "black")
        ecol = _RED if active and j == k and j <= t else (_ORANGE if reaches(j) else col)
        _arrow(ax, (wx + 0.12, wy - 0.16), (X, Y["h"]), ecol, 2.4 if ecol == _RED else 1.0, start_gap=0.0)
        if copy_values is not None and reaches(j):
            ax.text(wx, wy + 0.33, f"{copy_values[j - 1]:.3f}", ha="center", va="center", fontsize=fontsize - 2,
                    color=_RED if j == k else "#a05a00")
    ax.set_xlim(-0.4, dx * T + 0.4)
    ax.set_ylim(-0.35, 3.35)
    ax.set_aspect("equal")
    ax.axis("off")


def path_frame(t: int, k: int, contributions: CopyContributions, G: np.ndarray) -> Figure:
    """One frame of the chapter's path widget, for loss term t and copy k (1-based).

    contributions: from ``copy_contributions``; G (T, T): the gradient-flow map from ``bptt.gradient_norms``.
    Left: the unrolled graph with the path W^(k) -> L_t, the size ||dL_t/dW^(j)|| of every copy's
    contribution to L_t and (title) the size of their sum dL_t/dW; right: G with cell (t, k) marked.
    """
    if not isinstance(contributions, CopyContributions):
        raise ValueError(f"contributions must be a CopyContributions, got {type(contributions).__name__}")
    copy_norms = contributions.norms("W")
    G = as_float_array(G, "G", 2)
    T = copy_norms.shape[0]
    if G.shape != (T, T):
        raise ValueError(f"G must have shape (T, T) = ({T}, {T}), got {G.shape}")
    for name, val in (("t", t), ("k", k)):
        if not 1 <= positive_int(val, name) <= T:
            raise ValueError(f"{name} must lie in 1 .. T = {T}, got {val}")
    sum_norm = float(np.linalg.norm(contributions.W[t - 1].sum(axis=0)))
    fig = plt.figure(figsize=(8.6, 3.3))
    gs = fig.add_gridspec(1, 2, width_ratios=[2.3, 1], wspace=0.22)
    ax = fig.add_subplot(gs[0, 0])
    draw_unrolled(ax, T, t=t, k=k, copy_values=copy_norms[t - 1])
    Lt, Wk, hk = "L" + str(t).translate(_SUB), "W" + f"({k})".translate(_SUP), "h" + str(k).translate(_SUB)
    if k <= t:
        ax.set_title(f"‖∂{Lt}/∂{Wk}‖ = {copy_norms[t - 1, k - 1]:.3f},   sum over the {t} copies: "
                     f"‖∂{Lt}/∂W‖ = {sum_norm:.3f}", fontsize=9)
    else:
        ax.set_title(f"no path: k > t, so ∂{Lt}/∂{Wk} = 0", fontsize=9, color=_RED)
    axg = fig.add_subplot(gs[0, 1])
    # the colours of the chapter's G figure; its colour bar is left out to keep the frames small
    plotting.plot_gradient_map(axg, G, colorbar=False)
    js = np.arange(1, T + 1)
    axg.set_xticks(range(T), [str(j) for j in js])
    axg.set_yticks(range(T), [str(j) for j in js])
    axg.set_xlabel("step $k$")
    axg.set_ylabel("loss term $t$")
    if k <= t:
        axg.set_title(f"G[{t},{k}] = ‖∂{Lt}/∂{hk}‖ = {G[t - 1, k - 1]:.3f}", fontsize=9)
        axg.add_patch(Rectangle((k - 1.5, t - 1.5), 1, 1, fill=False, ec="#00c0ff", lw=2.5))
    else:
        axg.set_title(f"G[{t},{k}]: nothing arrives", fontsize=9)
        axg.plot(k - 1, t - 1, marker="x", color=_RED, ms=10, mew=2.5)
    return fig


# --------------------------------------------------------------------------- exercise checkers
def _scalar_cases() -> list[tuple[ScalarRNN, np.ndarray, int]]:
    """The chapter's example and three random 2-step scalar RNNs (K = 2..4 classes) for exercise chain-1."""
    rng = np.random.default_rng(11)
    cases = [example_scalar_rnn()]
    for K in (2, 3, 4):
        u, w, k, s0 = rng.normal(size=4)
        rnn = ScalarRNN(u=u, w=w, k=k, v=rng.normal(size=K), c=rng.normal(size=K), s0=s0)
        cases.append((rnn, rng.normal(size=2), int(rng.integers(K))))
    return cases


@checks.exercise("chain-1", hint="dL/dw is a sum over the two copies of w: the copy at step 2 multiplies s_1, "
                 "the copy at step 1 multiplies s_0 and reaches L through s_1 (a factor f'(z_2) w)")
def _check_chain_1(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"expected a function dL_dw(rnn, xs, y), got {type(answer).__name__}"
    for rnn, xs, y in _scalar_cases():
        paths = scalar_paths(rnn, xs, y, "w")
        expected = sum(p.product for p in paths)
        try:
            with checks.forbidding(scalar_paths, scalar_grads):
                got = answer(rnn, xs.copy(), y)
        except PermissionError:
            return False, "your function calls scalar_paths or scalar_grads: form the two paths yourself"
        if got is None:
            return False, "your function returned None: return dL/dw as a number"
        ok, msg = checks.close(got, expected, rtol=1e-6, what=f"dL/dw for u={rnn.u:.3g}, w={rnn.w:.3g}")
        if not ok:
            a = float(np.asarray(got, dtype=float))
            for p in paths:
                if np.isclose(a, p.product, rtol=1e-6):
                    return False, (f"that is only the path through the copy w^({p.copy}) ({p.formula()}); "
                                   f"the other copy of w reaches L too")
            return ok, msg
    return True, "matches dL/dw on the chapter's example and 3 random scalar RNNs"


@checks.exercise("chain-2", hint="L_t depends on h_t, which depends on the copies W^(1) .. W^(t)")
def _check_chain_2(answer: Any) -> tuple[bool, str]:
    expected = np.arange(1, 11)
    a = np.asarray(answer)
    if a.dtype.kind not in "iu":
        return False, f"expected an array of 10 integer counts, got dtype {a.dtype}"
    ok, msg = checks.close(a, expected, what="list of copy counts")
    if ok:
        return True, (f"L_t reaches t copies; over the whole sequence that is {int(expected.sum())} "
                      f"(t, k) terms, one Jacobian chain each if they were computed separately")
    return ok, msg


def _recursion_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3)
    cases = []
    for T, B, H in ((1, 1, 2), (4, 2, 3), (7, 3, 5)):
        h = np.tanh(rng.normal(size=(T, B, H)))
        cases.append((rng.normal(size=(T, B, H)), 1.0 - h * h, rng.normal(0, 1 / np.sqrt(H), (H, H))))
    return cases


@checks.exercise("chain-3", hint="loop t from T down to 1; carry (dL/dh_{t+1} * f'(a_{t+1})) @ W into step t "
                 "(the batch sits in the rows, so the math's W^T delta is the code's delta @ W)")
def _check_chain_3(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"expected a function dL_dh(dH, fprime, W), got {type(answer).__name__}"
    fn: Callable[..., Any] = answer
    for dH, fp, W in _recursion_cases():
        got = fn(dH.copy(), fp.copy(), W.copy())
        if got is None:
            return False, "your function returned None: return the (T, B, H) array of dL/dh_t"
        ok, msg = checks.close(got, state_grads_recursive(dH, fp, W), rtol=1e-9, atol=1e-12,
                               what=f"result for T, B, H = {dH.shape}")
        if not ok:
            return ok, msg
    return True, "matches the recursion on 3 random problems (T = 1, 4, 7)"
