"""The forward pass and the loss: eqs. (10.8)-(10.11) of Goodfellow et al., batched.

    a_t = U x_t + W h_{t-1} + b,   h_t = f(a_t),   o_t = V h_t + c,   yhat_t = softmax(o_t)
    L = sum_t L_t,   L_t = mean over the batch of -log yhat_t[y_t]

Rows are batch entries, so in code ``x_t @ U.T`` stands for U x_t.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import as_float_array, as_labels, as_sequences, check_shape
from .activations import IN_PLACE, activation_fn
from .params import RNNParams


def check_inputs(params: RNNParams, xs: Any, h0: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``xs`` (T, B, D) and ``h0`` (B, H) or None against ``params``; return float64 copies."""
    if not isinstance(params, RNNParams):
        raise ValueError(f"params must be an RNNParams, got {type(params).__name__}")
    xs = as_sequences(xs, params.n_in, params.U.shape)
    B = xs.shape[1]
    if h0 is None:
        h0 = np.zeros((B, params.n_hidden))
    else:
        h0 = as_float_array(h0, "h0", 2)
        check_shape(h0, "h0", (B, params.n_hidden), "(B, H)")
    return xs, h0


def check_labels(params: RNNParams, xs: np.ndarray, ys: Any) -> np.ndarray:
    """Validate ``ys`` (T, B) integer class indices in [0, K)."""
    T, B, _ = xs.shape
    return as_labels(ys, T, B, params.n_out)


def run_hidden(params: RNNParams, xs: np.ndarray, h0: np.ndarray, activation: str,
               out: np.ndarray | None = None) -> np.ndarray:
    """The recurrence alone, for already-checked inputs. Returns hs: (T+1, B, H), hs[0] = h0
    (written into ``out`` if given)."""
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
        a += hs[t] @ WT          # a_t = U x_t + b + W h_{t-1}   (eq. 10.8)
        f_in_place(a)            # h_t = f(a_t), stored in place
    return hs


def output_logits(params: RNNParams, hs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """o_t = V h_t + c for every step at once. hs: (T+1, B, H) -> logits: (T, B, K) (into ``out``)."""
    T1, B, H = hs.shape
    logits = np.empty((T1 - 1, B, params.n_out)) if out is None else out
    np.matmul(hs[1:].reshape(-1, H), params.V.T, out=logits.reshape(-1, params.n_out))
    logits += params.c
    return logits


def forward(params: RNNParams, xs: Any, h0: Any = None, *, activation: str = "tanh") -> tuple[np.ndarray, np.ndarray]:
    """Run the RNN over a batch of sequences.

    xs: (T, B, D); h0: (B, H) or None for zeros.
    Returns hs: (T+1, B, H) with hs[0] = h0, hs[t+1] = f(U x_t + W hs[t] + b), and logits: (T, B, K),
    logits[t] = V hs[t+1] + c.
    """
    activation_fn(activation)  # validate the name before anything else
    xs, h0 = check_inputs(params, xs, h0)
    hs = run_hidden(params, xs, h0, activation)
    return hs, output_logits(params, hs)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, stable for any finite logits (the log-sum-exp trick)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """softmax over the last axis, computed through log_softmax."""
    return np.exp(log_softmax(logits))


def step_losses(logits: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Per-step losses L_t = mean_b -log softmax(logits[t, b])[ys[t, b]]. logits: (T, B, K), ys: (T, B) -> (T,)."""
    logp = log_softmax(logits)
    picked = np.take_along_axis(logp, ys[..., None], axis=-1)[..., 0]
    return -picked.mean(axis=1)


def losses_and_logits_grad(logits: np.ndarray, ys: np.ndarray, *, in_place: bool = False
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Per-step losses L_t (T,) and dL/do_t = (softmax(o_t) - onehot(y_t)) / B (T, B, K), eq. (10.18)
    with the batch mean, from one stable log-sum-exp pass over logits: (T, B, K) and ys: (T, B).
    ``in_place``: the gradient is written over ``logits``."""
    B = logits.shape[1]
    idx = ys[..., None]
    g = np.subtract(logits, logits.max(axis=-1, keepdims=True), out=logits if in_place else None)
    picked = np.take_along_axis(g, idx, axis=-1)[..., 0]
    np.exp(g, out=g)
    total = g.sum(axis=-1, keepdims=True)                   # in [1, K]: no overflow, no log(0)
    losses = (np.log(total[..., 0]) - picked).mean(axis=1)
    g *= 1.0 / (total * B)                                  # softmax / B
    np.put_along_axis(g, idx, np.take_along_axis(g, idx, axis=-1) - 1.0 / B, axis=-1)
    return losses, g


def logits_grad(logits: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """dL/do_t = (softmax(o_t) - onehot(y_t)) / B for every step: (T, B, K). Eq. (10.18), batch-mean."""
    return losses_and_logits_grad(logits, ys)[1]


def loss(params: RNNParams, xs: Any, ys: Any, h0: Any = None, *, activation: str = "tanh") -> float:
    """L = sum_t L_t for the whole sequence (no gradients)."""
    hs, logits = forward(params, xs, h0, activation=activation)
    ys = check_labels(params, np.asarray(xs, dtype=float), ys)
    return float(step_losses(logits, ys).sum())
