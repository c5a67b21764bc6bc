"""The loss over time (chapter 02): which steps carry a loss, and the gradient each step's loss sends back.

Every setting of a sequence model is one weighted sum of the per-step cross-entropies

    L = sum_t sum_b w[t, b] * ell[t, b] / B,      ell[t, b] = -log softmax(o_t[b])[y_t[b]]     (eq-loss-weighted)

many-to-many: w = 1 everywhere (the library's ``bptt.loss``); many-to-one: only the last step is 1;
one-to-many: w = 1 everywhere but the input is zero after the first step; padding masks and averaging over
time (w = 1/T) are further weightings. The gradient with respect to the logits is, step by step,

    dL/do_t[b] = w[t, b] * (softmax(o_t[b]) - onehot(y_t[b])) / B                           (eq-loss-dodt)

and the gradient reaching each hidden state follows the reverse recursion of the next chapter
(eq-loss-dh; Goodfellow et al. eq. 10.21), here with weighted losses. Shapes: T steps, B batch, D inputs,
H hidden, K classes; code steps are 0-based (logits[t] is o_{t+1} in the 1-based prose).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..core.backward import backward_full, param_grads, prepare
from ..core.params import RNNParams
from ..core.rnn import losses_and_logits_grad, output_logits
from ..core.validation import as_float_array, as_labels, as_weights, choice, positive_int

#: the input/output settings of note-d, each a weighting of the same per-step losses
SETTINGS = ("many-to-many", "many-to-one", "one-to-many")


# --------------------------------------------------------------------------- weights
def setting_weights(setting: str, T: int) -> np.ndarray:
    """Per-step loss weights w: (T,) for a setting. many-to-many and one-to-many: all ones (every
    output has a target); many-to-one: zeros except the last step (only the final output is scored)."""
    setting = choice(setting, "setting", SETTINGS)
    T = positive_int(T, "T")
    w = np.ones(T)
    if setting == "many-to-one":
        w[:-1] = 0.0
    return w


def padding_mask(lengths: Any, T: int | None = None) -> np.ndarray:
    """Weights (T, B) for a batch of sequences of different lengths padded to T steps:
    w[t, b] = 1 if t < lengths[b] else 0. T defaults to max(lengths)."""
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.size == 0 or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths must be a non-empty 1-D array of integers, got {lengths!r}")
    if lengths.min() < 1:
        raise ValueError(f"every length must be >= 1, got {lengths.tolist()}")
    T = int(lengths.max()) if T is None else positive_int(T, "T")
    if lengths.max() > T:
        raise ValueError(f"lengths must be <= T = {T}, got {lengths.tolist()}")
    return (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)


def _logits_and_labels(logits: Any, ys: Any) -> tuple[np.ndarray, np.ndarray]:
    logits = as_float_array(logits, "logits", 3)
    T, B, K = logits.shape
    if T == 0 or B == 0 or K < 2:
        raise ValueError(f"logits must have shape (T, B, K) with T, B >= 1 and K >= 2, got {logits.shape}")
    return logits, as_labels(ys, T, B, K)


# --------------------------------------------------------------------------- loss and dL/do
def weighted_loss_and_logit_grads(logits: ArrayLike, ys: ArrayLike, weights: ArrayLike
                                  ) -> tuple[float, NDArray[np.float64]]:
    """L of eq-loss-weighted and dL/do_t for every step (eq-loss-dodt), by the core's one log-sum-exp pass.

    logits: (T, B, K); ys: (T, B) ints in [0, K); weights: (T,) or (T, B), >= 0.
    Returns (L, dO) with dO: (T, B, K), dO[t, b] = w[t, b] * (softmax(o_t[b]) - onehot(y_t[b])) / B.
    A step with weight 0 receives exactly zero gradient on its logits."""
    logits_arr, ys_arr = _logits_and_labels(logits, ys)
    T, B, _ = logits_arr.shape
    steps, dO = losses_and_logits_grad(logits_arr, ys_arr, weights=as_weights(weights, T, B))
    return float(steps.sum()), dO


def softmax_jacobian(p: Any) -> np.ndarray:
    """The Jacobian of softmax at a point whose probabilities are p: (..., K) -> (..., K, K),
    J[..., i, j] = d yhat_i / d o_j = p_i (delta_ij - p_j), i.e. diag(p) - p p^T (eq-loss-jac)."""
    if np.ndim(p) < 1:
        raise ValueError("p must be an array of probabilities with a last axis of size K, got a scalar")
    p = as_float_array(p, "p", np.ndim(p))
    return p[..., :, None] * np.eye(p.shape[-1]) - p[..., :, None] * p[..., None, :]


def naive_softmax(logits: Any) -> np.ndarray:
    """softmax computed literally as exp(o) / sum exp(o), WITHOUT the max shift: overflows to inf/nan for
    logits above ~709 and underflows to 0 below ~-745. Kept only to show why ``bptt.softmax`` shifts."""
    o = np.asarray(logits, dtype=np.float64)
    e = np.exp(o)
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- through the RNN
def one_to_many_inputs(x0: Any, T: int) -> np.ndarray:
    """Inputs for the one-to-many setting: x0 (B, D) at the first step, zeros afterwards -> (T, B, D)."""
    x0 = as_float_array(x0, "x0", 2)
    T = positive_int(T, "T")
    xs = np.zeros((T,) + x0.shape)
    xs[0] = x0
    return xs


def weighted_backward(params: RNNParams, xs: ArrayLike, ys: ArrayLike, weights: ArrayLike,
                      h0: ArrayLike | None = None, *, activation: str = "tanh") -> dict[str, Any]:
    """Forward pass, weighted loss and full BPTT in one call, keeping the intermediate gradients.

    xs: (T, B, D); ys: (T, B); weights: (T,) or (T, B); h0: (B, H) or None.
    Returns a dict with
      loss:   L (eq-loss-weighted);
      steps:  (T,) the weighted per-step losses;
      hs:     (T+1, B, H) states, logits: (T, B, K);
      dO:     (T, B, K) dL/do_t (eq-loss-dodt);
      dH:     (T, B, H) dL/dh_t, the total gradient reaching each state, its own loss through V and every
              later loss through W (eq-loss-dh), read off the core's reverse sweep by its hook;
      grads:  RNNParams, dL/dU, dL/dW, dL/dV, dL/dc, dL/db.
    The loss and gradients are ``bptt.weighted_loss_and_grads``'s: the same preparation and loop.
    """
    p = prepare(params, xs, ys, h0, activation=activation, weights=weights)
    dH = np.empty_like(p.dH)

    def keep(s: int, dh: NDArray[np.float64], da: NDArray[np.float64]) -> None:
        dH[s] = dh

    dA = backward_full(p.dH, p.fprime, params.W, np.ones(len(p.dH)), on_step=keep)
    return {"loss": float(p.losses.sum()), "steps": p.losses, "hs": p.hs, "logits": output_logits(params, p.hs),
            "dO": p.dO, "dH": dH, "grads": param_grads(params, p.xs, p.hs, dA, p.dO)}


def output_grads(hs: Any, dO: Any) -> tuple[np.ndarray, np.ndarray]:
    """dL/dV = sum_t dL/do_t h_t^T and dL/dc = sum_t dL/do_t (eq-loss-dV): no history needed.
    hs: (T+1, B, H) with hs[0] = h0 (unused); dO: (T, B, K). Returns (dV (K, H), dc (K,))."""
    hs = as_float_array(hs, "hs", 3)
    dO = as_float_array(dO, "dO", 3)
    if hs.shape[0] != dO.shape[0] + 1 or hs.shape[1] != dO.shape[1]:
        raise ValueError(f"hs must have shape (T+1, B, H) and dO (T, B, K); got {hs.shape} and {dO.shape}")
    return np.einsum("tbk,tbh->kh", dO, hs[1:]), dO.sum(axis=(0, 1))


# --------------------------------------------------------------------------- a model that knows the cycle
def cycle_rnn(K: int = 4, *, drive: float = 2.0, memory: float = 0.5, confidence: float = 4.0) -> RNNParams:
    """A hand-built RNN (D = H = K) that predicts the next symbol of the cycle 0, 1, ..., K-1, 0, ...

    U = drive * I writes the current one-hot symbol into the state; W = memory * P and V = confidence * P,
    where P is the cyclic shift (P e_s = e_{s+1 mod K}): the state also pushes the symbol it saw one step
    ahead, and the output names the symbol after the one held in the state. b = c = 0."""
    K = positive_int(K, "K")
    if K < 2:
        raise ValueError(f"K must be >= 2, got {K}")
    for name, v in (("drive", drive), ("memory", memory), ("confidence", confidence)):
        if not np.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
    P = np.roll(np.eye(K), 1, axis=0)
    return RNNParams(U=drive * np.eye(K), W=memory * P, V=confidence * P, b=np.zeros(K), c=np.zeros(K))


def cycle_sequence(K: int, T: int, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One sequence of the cycle (batch of 1): xs (T, 1, K) one-hot symbols start, start+1, ... mod K and
    ys (T, 1) the next symbol of each step (the target of next-symbol prediction)."""
    K, T = positive_int(K, "K"), positive_int(T, "T")
    s = (start + np.arange(T + 1)) % K
    return np.eye(K)[s[:-1]][:, None, :], s[1:, None].astype(np.int64)
