"""The forward pass and the loss, batched (the book's eq-fwd-a, eq-fwd-h, eq-fwd-o, eq-fwd-yhat and
eq-loss-batch, eq-loss-total; Goodfellow et al. eqs. 10.8-10.11):

    a_t = b + W h_{t-1} + U x_t,   h_t = f(a_t),   o_t = c + V h_t,   yhat_t = softmax(o_t)
    L = sum_t L_t,   L_t = mean over the batch of -log yhat_t[y_t]

Rows are batch entries, so in code ``x_t @ U.T`` stands for U x_t.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .validation import as_labels, as_sequence, as_state
from .activations import IN_PLACE, activation_fn
from .params import RNNParams

if TYPE_CHECKING:                     # deep.py imports this module
    from .deep import CellParams

__all__ = ["forward", "loss", "softmax", "log_softmax", "step_losses", "logits_grad"]

Array = NDArray[np.float64]


def check_inputs(params: RNNParams, xs: ArrayLike, h0: ArrayLike | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate ``xs`` (T, B, D) and ``h0`` (B, H) or None against ``params``; return float64 copies."""
    if not isinstance(params, RNNParams):
        raise ValueError(f"params must be an RNNParams, got {type(params).__name__}")
    xs = as_sequence(xs, params.n_in, "U", params.U.shape)
    return xs, as_state(h0, "h0", xs.shape[1], params.n_hidden)


def check_labels(params: RNNParams, xs: NDArray[np.float64], ys: ArrayLike) -> NDArray[np.int64]:
    """Validate ``ys`` (T, B) integer class indices in [0, K)."""
    T, B, _ = xs.shape
    return as_labels(ys, T, B, params.n_out)


def run_hidden(params: RNNParams | CellParams, xs: NDArray[np.float64], h0: NDArray[np.float64], activation: str,
               out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """The recurrence alone, for already-checked inputs: any cell with U: (H, D), W: (H, H), b: (H,) (an
    ``RNNParams`` or a deep RNN's ``CellParams``). xs: (T, B, D), h0: (B, H). Returns hs: (T+1, B, H),
    hs[0] = h0 (written into ``out`` if given)."""
    activation_fn(activation)
    f_in_place = IN_PLACE[activation]
    T, B, _ = xs.shape
    hs = np.empty((T + 1, B, params.n_hidden)) if out is None else out
    hs[0] = h0
    # the input projections U x_t + b of all steps in one product; only the W-chain is sequential
    np.matmul(xs.reshape(T * B, -1), params.U.T, out=hs[1:].reshape(T * B, -1))
    hs[1:] += params.b
    WT = np.ascontiguousarray(params.W.T)
    for t in range(T):
        a = hs[t + 1]
        a += hs[t] @ WT          # a_t = U x_t + b + W h_{t-1}   (eq-fwd-a)
        f_in_place(a)            # h_t = f(a_t), stored in place
    return hs


def output_logits(params: RNNParams, hs: NDArray[np.float64], out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """o_t = V h_t + c for every step at once. hs: (T+1, B, H) -> logits: (T, B, K) (into ``out``)."""
    T1, B, H = hs.shape
    logits = np.empty((T1 - 1, B, params.n_out)) if out is None else out
    np.matmul(hs[1:].reshape(-1, H), params.V.T, out=logits.reshape(-1, params.n_out))
    logits += params.c
    return logits


def forward(params: RNNParams, xs: ArrayLike, h0: ArrayLike | None = None, *, activation: str = "tanh") -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Run the RNN over a batch of sequences.

    xs: (T, B, D); h0: (B, H) or None for zeros.
    Returns hs: (T+1, B, H) with hs[0] = h0, hs[t+1] = f(U x_t + W hs[t] + b), and logits: (T, B, K),
    logits[t] = V hs[t+1] + c.
    """
    activation_fn(activation)  # validate the name before anything else
    xs, h0 = check_inputs(params, xs, h0)
    hs = run_hidden(params, xs, h0, activation)
    return hs, output_logits(params, hs)


def log_softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    """log softmax over the last axis, stable for any finite logits (the log-sum-exp trick)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    """softmax over the last axis, computed through log_softmax."""
    return np.exp(log_softmax(logits))


def step_losses(logits: NDArray[np.float64], ys: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per-step losses L_t = mean_b -log softmax(logits[t, b])[ys[t, b]]. logits: (T, B, K), ys: (T, B) -> (T,)."""
    logp = log_softmax(logits)
    picked = np.take_along_axis(logp, ys[..., None], axis=-1)[..., 0]
    return -picked.mean(axis=1)


def losses_and_logits_grad(logits: Array, ys: NDArray[np.int64], *, weights: Array | None = None,
                           in_place: bool = False) -> tuple[Array, Array]:
    """Per-step losses L_t (T,) and dL/do_t = w (softmax(o_t) - onehot(y_t)) / B (T, B, K) (eq-chain-dlogits,
    eq-loss-dodt), from one stable log-sum-exp pass over logits: (T, B, K) and ys: (T, B).
    weights: None (all ones) or checked per-example weights (T, B) (eq-loss-weighted): then
    L_t = sum_b w[t, b] L_t[b] / B. ``in_place``: the gradient is written over ``logits``."""
    B = logits.shape[1]
    idx = ys[..., None]
    g = np.subtract(logits, logits.max(axis=-1, keepdims=True), out=logits if in_place else None)
    picked = np.take_along_axis(g, idx, axis=-1)[..., 0]
    np.exp(g, out=g)
    total = g.sum(axis=-1, keepdims=True)                   # in [1, K]: no overflow, no log(0)
    nll = np.log(total[..., 0]) - picked                    # (T, B)
    if weights is None:
        losses, scale = nll.mean(axis=1), 1.0 / B
        g *= 1.0 / (total * B)                              # softmax / B
    else:
        losses, scale = (weights * nll).sum(axis=1) / B, weights[..., None] / B
        g *= scale / total                                  # w * softmax / B
    np.put_along_axis(g, idx, np.take_along_axis(g, idx, axis=-1) - scale, axis=-1)
    return losses, g


def logits_grad(logits: NDArray[np.float64], ys: NDArray[np.float64]) -> NDArray[np.float64]:
    """dL/do_t = (softmax(o_t) - onehot(y_t)) / B for every step: (T, B, K). eq-chain-dlogits, batch-mean."""
    return losses_and_logits_grad(logits, ys)[1]


def loss(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *, activation: str = "tanh") -> float:
    """L = sum_t L_t for the whole sequence (no gradients)."""
    hs, logits = forward(params, xs, h0, activation=activation)
    ys = check_labels(params, np.asarray(xs, dtype=float), ys)
    return float(step_losses(logits, ys).sum())
