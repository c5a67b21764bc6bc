"""Gradient-flow diagnostics: how much of each loss term reaches each earlier step (``gradient_norms``),
through which copy of each weight (``copy_contributions``), the norms of Jacobian products, and how far an
approximate gradient is from the exact one (``relative_error``, ``cosine``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .activations import activation_grad
from .backward import backward_per_term, prepare
from .rnn import check_inputs
from .params import ParamArrays, RNNArrays, RNNParams, array_size
from .truncation import carry_multipliers
from .validation import as_float_array, choice, positive_int

__all__ = ["gradient_norms", "lag_profile", "jacobian_product_norms", "copy_contributions", "CopyContributions",
           "relative_error", "cosine"]


def gradient_norms(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                   activation: str = "tanh", window: int | None = None, detach_every: int | None = None,
                   xi: ArrayLike | None = None) -> NDArray[np.float64]:
    """The gradient-flow map G: (T, T). G[t-1, k-1] = ||dL_t/dh_k|| (Frobenius over batch and units) for
    k <= t and 0 for k > t, with L_t the batch-mean cross-entropy at step t (0-based: G[t, k] is the norm
    of dL/dhs[k+1] of the loss at logits[t]).

    xs: (T, B, D), ys: (T, B). Optional truncation (``window``, ``detach_every``, randomized factors
    ``xi`` (T,) from ``draw_xi``) gives the map of what that strategy actually propagates. The norms are
    read by a hook from the per-term loop around the one step rule.
    """
    if window is not None:
        window = positive_int(window, "window")
    p = prepare(params, xs, ys, h0, activation=activation)
    T = p.xs.shape[0]
    G = np.zeros((T, T))

    def record(s: int, dh: NDArray[np.float64], da: NDArray[np.float64]) -> None:
        G[s:s + len(dh), s] = np.sqrt(np.einsum("nbh,nbh->n", dh, dh))

    backward_per_term(p.dH, p.fprime, params.W, carry_multipliers(T, detach_every=detach_every, xi=xi), window,
                      on_step=record)
    return G


#: refuse per-copy arrays larger than this many float64 entries (T^2 * H * max(H, D, K) grows fast)
MAX_COPY_ENTRIES = 20_000_000


@dataclass(frozen=True)
class CopyContributions(RNNArrays):
    """dL_t/dtheta^(k) for theta in U, W, V, b, c: each array has two leading axes (t, k), 0-based.

    U: (T, T, H, D), W: (T, T, H, H), V: (T, T, K, H), b: (T, T, H), c: (T, T, K).
    Entries with k > t are zero (a copy used after step t cannot change L_t); V and c are nonzero only
    on the diagonal k = t (the output weights reach L_t through o_t alone).
    """

    T = array_size("W", 0, "The number of steps.")

    def total(self) -> RNNParams:
        """dL/dtheta = sum_t sum_k dL_t/dtheta^(k) (eq-chain-copies)."""
        return RNNParams(*(getattr(self, n).sum(axis=(0, 1)) for n in "UWVbc"))

    def term(self, t: int) -> RNNParams:
        """dL_t/dtheta = sum_k dL_t/dtheta^(k) for the 1-based loss term t (eq-chain-product)."""
        t = positive_int(t, "t")
        if t > self.T:
            raise ValueError(f"t must lie in 1 .. T = {self.T}, got {t}")
        return RNNParams(*(getattr(self, n)[t - 1].sum(axis=0) for n in "UWVbc"))

    def norms(self, name: str = "W") -> NDArray[np.float64]:
        """(T, T): N[t-1, k-1] = ||dL_t/dname^(k)|| (Frobenius), zero for k > t."""
        name = choice(name, "name", ("U", "W", "V", "b", "c"))
        a = getattr(self, name)
        return np.sqrt((a * a).reshape(self.T, self.T, -1).sum(-1))


def copy_contributions(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                       activation: str = "tanh") -> CopyContributions:
    """The contribution of each step's copy of each weight to each loss term (Goodfellow's W^(t) trick,
    eq-chain-copy-term).

    With delta_k^(t) = dL_t/da_k (rows of shape (B, H)), which the per-term loop around the step rule
    hands to its hook at every step k:
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
    p = prepare(params, xs_arr, ys, h0, activation=activation)
    DA = np.zeros((T, T, B, H))                                          # DA[t-1, k-1] = delta_k^(t)

    def keep(k: int, dh: NDArray[np.float64], da: NDArray[np.float64]) -> None:
        DA[k:k + len(da), k] = da

    backward_per_term(p.dH, p.fprime, params.W, np.ones(T), on_step=keep)
    Vc = np.zeros((T, T, K, H))
    cc = np.zeros((T, T, K))
    idx = np.arange(T)
    Vc[idx, idx] = np.einsum("tbk,tbh->tkh", p.dO, p.hs[1:])
    cc[idx, idx] = p.dO.sum(axis=1)
    return CopyContributions(U=np.einsum("tkbi,kbj->tkij", DA, p.xs, optimize=True),
                             W=np.einsum("tkbi,kbj->tkij", DA, p.hs[:-1], optimize=True),
                             V=Vc, b=DA.sum(axis=2), c=cc)


def lag_profile(G: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Average G[t, t - lag] over t for each lag = 0 .. T-1 (geometric mean, ignoring zeros).
    Returns (lags (T,), profile (T,)); the profile shows how fast gradients shrink or grow with distance."""
    G = np.asarray(G, dtype=float)
    T = G.shape[0]
    lags = np.arange(T)
    prof = np.zeros(T)
    for lag in lags:
        d = np.diagonal(G, offset=-lag)
        d = d[d > 0]
        prof[lag] = np.exp(np.mean(np.log(d))) if d.size else 0.0
    return lags, prof


def jacobian_product_norms(params: RNNParams, hs: NDArray[np.float64], *, activation: str = "tanh", batch: int = 0
                           ) -> NDArray[np.float64]:
    """Spectral norms ||dh_t/dh_k||_2 = ||prod_{j=k+1}^{t} diag(f'(a_j)) W||_2 for one batch entry.
    hs: (T+1, B, H) from ``forward``. Returns J: (T, T), J[t, k] for k <= t (J[t, t] = 1), 0 above."""
    fp = activation_grad(activation)(hs[1:, batch])  # (T, H)
    T = fp.shape[0]
    J = np.zeros((T, T))
    for t in range(T):
        M = np.eye(params.n_hidden)
        J[t, t] = 1.0
        for k in range(t - 1, -1, -1):
            M = M @ (fp[k + 1][:, None] * params.W)   # dh_{k+2}/dh_{k+1} in 0-based steps
            J[t, k] = np.linalg.norm(M, 2)
    return J


def _compared(g: object, ref: object) -> tuple[NDArray[np.float64], NDArray[np.float64], tuple[int, ...]]:
    """g and ref as float arrays (a ``ParamArrays`` flattened), g: (..., *ref.shape), and the trailing axes."""
    g = g.flat() if isinstance(g, ParamArrays) else np.asarray(g)
    ref = ref.flat() if isinstance(ref, ParamArrays) else np.asarray(ref)
    g, ref = as_float_array(g, "g", g.ndim), as_float_array(ref, "ref", ref.ndim)
    if ref.ndim == 0 or g.shape[g.ndim - ref.ndim:] != ref.shape:
        raise ValueError(f"g must have shape (..., *ref.shape) = (..., {ref.shape}), got {g.shape}")
    if not np.any(ref):
        raise ValueError("ref is the zero gradient: the comparison is undefined")
    return g, ref, tuple(range(g.ndim - ref.ndim, g.ndim))


def relative_error(g: ArrayLike | ParamArrays, ref: ArrayLike | ParamArrays) -> NDArray[np.float64] | float:
    """||g - ref|| / ||ref|| (Frobenius over the trailing ref.ndim axes), vectorised over g's leading axes.
    g: (..., *ref.shape), or two ``ParamArrays`` (flattened). Returns (...,), a float for one g."""
    g, ref, axes = _compared(g, ref)
    out = np.sqrt(np.sum((g - ref) ** 2, axis=axes)) / np.linalg.norm(ref)
    return float(out) if out.ndim == 0 else out


def cosine(g: ArrayLike | ParamArrays, ref: ArrayLike | ParamArrays) -> NDArray[np.float64] | float:
    """Cosine similarity <g, ref> / (||g|| ||ref||) over the trailing ref.ndim axes, in [-1, 1], vectorised
    over g's leading axes; 1 = same direction. g: (..., *ref.shape), or two ``ParamArrays`` (flattened).
    Returns (...,), a float for one g. ValueError if ref or any g is zero (no direction)."""
    g, ref, axes = _compared(g, ref)
    ng = np.sqrt(np.sum(g * g, axis=axes))
    if np.any(ng == 0):
        raise ValueError("g contains a zero gradient: its cosine with ref is undefined")
    out = np.clip(np.sum(g * ref, axis=axes) / ng / np.linalg.norm(ref), -1.0, 1.0)
    return float(out) if out.ndim == 0 else out
