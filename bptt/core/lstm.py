"""The LSTM cell with its own BPTT, in PyTorch's gate order (i, f, g, o) so weights copy into torch.nn.LSTM.

One step (rows are batch entries, so ``x @ W_ih.T`` stands for W_ih x):

    z_t = W_ih x_t + W_hh h_{t-1} + b                      (4H pre-activations, blocks i, f, g, o)
    i_t = sigma(z_i), f_t = sigma(z_f), g_t = tanh(z_g), o_t = sigma(z_o)     (eq-lstm-gates)
    c_t = f_t * c_{t-1} + i_t * g_t                                          (eq-lstm-cell)
    h_t = o_t * tanh(c_t)                                                    (eq-lstm-hidden)
    y-logits_t = V h_t + c_out                                               (eq-lstm-head)

The loss is the one of ``bptt.loss_and_grads`` (sum over t of the batch-mean cross-entropy), optionally
weighted per step: L = sum_t w_t L_t, so ``weights = [0, ..., 0, 1]`` scores only the last step.
``lstm_step`` and ``lstm_step_back`` are the local rules; every loop in this module is built from them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .validation import as_float_array, as_labels, as_sequence, as_shaped, as_state, as_weights, choice, positive_int
from .activations import sigmoid as _sigmoid
from .params import ParamArrays, array_size, output_weights, set_fields
from .backward import layer_grads
from .rnn import logits_grad, losses_and_logits_grad

#: the gate blocks of W_ih, W_hh and b, in torch.nn.LSTM's order
GATES = ("i", "f", "g", "o")

__all__ = ["LSTMParams", "LSTMCache", "lstm_step", "lstm_step_back", "lstm_forward", "lstm_loss",
           "lstm_loss_and_grads", "lstm_gradient_norms", "n_lstm_params"]


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class LSTMParams(ParamArrays):
    """Weights of an LSTM layer plus a softmax output head.

    W_ih: (4H, D) input -> gates.   W_hh: (4H, H) hidden -> gates.   b: (4H,) gate bias.
    V: (K, H) hidden -> output.     c: (K,) output bias.
    The 4H rows are the blocks i, f, g, o (``GATES``), as in torch.nn.LSTM's ``weight_ih_l0`` /
    ``weight_hh_l0``; torch's two biases ``bias_ih_l0 + bias_hh_l0`` add up to b.
    """

    W_ih: NDArray[np.float64]
    W_hh: NDArray[np.float64]
    b: NDArray[np.float64]
    V: NDArray[np.float64]
    c: NDArray[np.float64]

    def __post_init__(self) -> None:
        W_ih = as_float_array(self.W_ih, "W_ih", 2)
        if W_ih.shape[0] % 4 or W_ih.shape[0] == 0:
            raise ValueError(f"W_ih must have shape (4H, D) with 4H a positive multiple of 4, got {W_ih.shape}")
        H = W_ih.shape[0] // 4
        W_hh = as_shaped(self.W_hh, "W_hh", (4 * H, H), "(4H, H)")
        b = as_shaped(self.b, "b", (4 * H,), "(4H,)")
        V = output_weights(self.V, H, nonempty=True)
        c = as_shaped(self.c, "c", (V.shape[0],), "(K,)")
        set_fields(self, (W_ih, W_hh, b, V, c))

    n_in = array_size("W_ih", 1, "D, the input size.")
    n_hidden = array_size("W_hh", 1, "H, the number of hidden (and cell) units.")
    n_out = array_size("V", 0, "K, the number of classes.")

    def gate(self, name: str) -> slice:
        """Rows of W_ih / W_hh / b that belong to gate ``name`` in ``GATES``."""
        k = GATES.index(choice(name, "gate", GATES))
        H = self.n_hidden
        return slice(k * H, (k + 1) * H)

    @classmethod
    def random(cls, n_in: int, n_hidden: int, n_out: int, *, seed: int = 0, forget_bias: float = 0.0
               ) -> "LSTMParams":
        """PyTorch's default initialisation, U(-1/sqrt(H), 1/sqrt(H)) for every weight and the gate bias,
        except that the forget-gate block of b is set to ``forget_bias``. Output bias c = 0."""
        for name, n in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
            positive_int(n, name)
        if not np.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias!r}")
        rng = np.random.default_rng(seed)
        a = 1.0 / math.sqrt(n_hidden)
        H = n_hidden
        p = cls(W_ih=rng.uniform(-a, a, (4 * H, n_in)), W_hh=rng.uniform(-a, a, (4 * H, H)),
                b=rng.uniform(-a, a, 4 * H), V=rng.uniform(-a, a, (n_out, H)), c=np.zeros(n_out))
        return p.with_forget_bias(forget_bias)

    def with_forget_bias(self, value: float) -> "LSTMParams":
        """A copy whose forget-gate bias block b[H:2H] is ``value`` (the 'dial' of the chapter)."""
        b = self.b.copy()
        b[self.gate("f")] = value
        return LSTMParams(self.W_ih, self.W_hh, b, self.V, self.c)


def n_lstm_params(D: int, H: int, K: int | None = None, *, torch_biases: bool = False) -> int:
    """Number of scalars of an LSTM layer: 4H(D + H + 1) (one bias), or 4H(D + H + 2) with torch's two
    biases; plus the head K(H + 1) if K is given."""
    D, H = positive_int(D, "D"), positive_int(H, "H")
    n = 4 * H * (D + H + (2 if torch_biases else 1))
    return n + (0 if K is None else positive_int(K, "K") * (H + 1))


# --------------------------------------------------------------------------- the local rules
def lstm_step(z_in: NDArray[np.float64], h_prev: NDArray[np.float64], c_prev: NDArray[np.float64], W_hh: NDArray[np.float64]
              ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """One LSTM step. z_in: (B, 4H) = W_ih x_t + b (the input part of the pre-activations), h_prev, c_prev:
    (B, H). Returns (h_t, c_t, gates (B, 4H) = [i, f, g, o] after their nonlinearities, tanh(c_t)).
    Implements eqs. (eq-lstm-gates), (eq-lstm-cell), (eq-lstm-hidden)."""
    H = h_prev.shape[-1]
    z = z_in + h_prev @ W_hh.T
    gates = np.empty_like(z)
    gates[:, :2 * H] = _sigmoid(z[:, :2 * H])     # i, f
    gates[:, 2 * H:3 * H] = np.tanh(z[:, 2 * H:3 * H])  # g
    gates[:, 3 * H:] = _sigmoid(z[:, 3 * H:])     # o
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    c = f * c_prev + i * g
    tc = np.tanh(c)
    return o * tc, c, gates, tc


def lstm_step_back(dh: NDArray[np.float64], dc: NDArray[np.float64], gates: NDArray[np.float64], c_prev: NDArray[np.float64], tanh_c: NDArray[np.float64],
                   W_hh: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The local backward rule of one step (eqs. eq-lstm-back-c ... eq-lstm-back-h).

    dh: (..., B, H) = dL/dh_t arriving at h_t; dc: (..., B, H) = dL/dc_t arriving from c_{t+1} only.
    gates: (B, 4H), c_prev: (B, H), tanh_c: (B, H) from ``lstm_step``. Leading dims (...) let several loss
    terms be carried at once. Returns (dz (..., B, 4H) = dL/dz_t, dh_prev = dz W_hh, dc_prev = dc_t * f_t,
    dc_t = the total dL/dc_t = dc + dh * o_t * (1 - tanh(c_t)^2)).
    """
    H = tanh_c.shape[-1]
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc_t = dc + dh * o * (1.0 - tanh_c * tanh_c)
    dz = np.concatenate([dc_t * g * i * (1.0 - i),          # through i_t
                         dc_t * c_prev * f * (1.0 - f),     # through f_t
                         dc_t * i * (1.0 - g * g),          # through g_t
                         dh * tanh_c * o * (1.0 - o)], axis=-1)  # through o_t
    return dz, dz @ W_hh, dc_t * f, dc_t


# --------------------------------------------------------------------------- checked inputs and the loops
class LSTMCache(NamedTuple):
    """What the forward pass keeps for the backward pass. xs: (T, B, D); hs, cs: (T+1, B, H) with
    hs[0] = h0, cs[0] = c0; gates: (T, B, 4H) activated [i, f, g, o]; tanh_c: (T, B, H); logits: (T, B, K)."""

    xs: NDArray[np.float64]
    hs: NDArray[np.float64]
    cs: NDArray[np.float64]
    gates: NDArray[np.float64]
    tanh_c: NDArray[np.float64]
    logits: NDArray[np.float64]


def _check_inputs(params: object, xs: ArrayLike, h0: ArrayLike, c0: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    if not isinstance(params, LSTMParams):
        raise ValueError(f"params must be an LSTMParams, got {type(params).__name__}")
    xs = as_sequence(xs, params.n_in, "W_ih", params.W_ih.shape)
    B, H = xs.shape[1], params.n_hidden
    return xs, as_state(h0, "h0", B, H), as_state(c0, "c0", B, H)


def _run(params: LSTMParams, xs: NDArray[np.float64], h0: NDArray[np.float64], c0: NDArray[np.float64]) -> LSTMCache:
    T, B, _ = xs.shape
    H = params.n_hidden
    z_in = (xs.reshape(T * B, -1) @ params.W_ih.T).reshape(T, B, 4 * H) + params.b  # all steps at once
    hs, cs = np.empty((T + 1, B, H)), np.empty((T + 1, B, H))
    gates, tanh_c = np.empty((T, B, 4 * H)), np.empty((T, B, H))
    hs[0], cs[0] = h0, c0
    for t in range(T):
        hs[t + 1], cs[t + 1], gates[t], tanh_c[t] = lstm_step(z_in[t], hs[t], cs[t], params.W_hh)
    logits = (hs[1:].reshape(T * B, H) @ params.V.T).reshape(T, B, -1) + params.c   # eq-lstm-head
    return LSTMCache(xs, hs, cs, gates, tanh_c, logits)


def _run_labelled(params: LSTMParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike, c0: ArrayLike,
                  weights: ArrayLike | None = None) -> tuple[LSTMCache, NDArray[np.int64], NDArray[np.float64] | None]:
    """Check the inputs, the labels ys: (T, B) and the loss weights (None, or (T,) / (T, B) broadcast to
    (T, B)), then run the forward pass. Returns (cache, ys, weights)."""
    xs, h0, c0 = _check_inputs(params, xs, h0, c0)
    T, B, _ = xs.shape
    ys = as_labels(ys, T, B, params.n_out)
    w = None if weights is None else as_weights(weights, T, B)
    return _run(params, xs, h0, c0), ys, w


def lstm_forward(params: LSTMParams, xs: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None) -> LSTMCache:
    """Run the LSTM over a batch. xs: (T, B, D); h0, c0: (B, H) or None for zeros.
    Returns an ``LSTMCache`` (hs, cs: (T+1, B, H); gates: (T, B, 4H); logits: (T, B, K), logits[t] = V hs[t+1] + c)."""
    return _run(params, *_check_inputs(params, xs, h0, c0))


def lstm_loss(params: LSTMParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None, *,
              weights: ArrayLike | None = None) -> float:
    """L = sum_t w_t L_t with L_t the batch-mean cross-entropy at step t (no gradients)."""
    cache, ys, w = _run_labelled(params, xs, ys, h0, c0, weights)
    return float(losses_and_logits_grad(cache.logits, ys, weights=w)[0].sum())


def lstm_loss_and_grads(params: LSTMParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None, *,
                        weights: ArrayLike | None = None) -> tuple[float, LSTMParams]:
    """Loss L = sum_t w_t L_t (w = ones by default: exactly the loss of ``bptt.loss_and_grads``) and its
    gradient by BPTT through both time channels, h and c.

    xs: (T, B, D) float; ys: (T, B) int in [0, K); h0, c0: (B, H) or None; weights: (T,), (T, B) or None.
    Returns (loss, grads) with grads an LSTMParams of the same shapes as params.
    """
    cache, ys, w = _run_labelled(params, xs, ys, h0, c0, weights)
    T, B, _ = cache.xs.shape
    losses, dO = losses_and_logits_grad(cache.logits, ys, weights=w)   # dL/do_t (eq-loss-dodt)
    dH = dO @ params.V                                          # direct dL_t/dh_t
    dZ = np.empty_like(cache.gates)
    dh, dc = np.zeros_like(cache.hs[0]), np.zeros_like(cache.cs[0])
    for t in range(T - 1, -1, -1):
        dZ[t], dh, dc, _ = lstm_step_back(dH[t] + dh, dc, cache.gates[t], cache.cs[t], cache.tanh_c[t], params.W_hh)
    dW_ih, dW_hh, db = layer_grads(dZ, cache.xs, cache.hs[:-1])
    dV, _, dc = layer_grads(dO, cache.hs[1:], None)
    return float(losses.sum()), LSTMParams(W_ih=dW_ih, W_hh=dW_hh, b=db, V=dV, c=dc)


def lstm_gradient_norms(params: LSTMParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, c0: ArrayLike | None = None, *,
                        wrt: str = "h") -> NDArray[np.float64]:
    """The gradient-flow map G: (T, T), the LSTM twin of ``bptt.gradient_norms``.

    wrt="h": G[t, k] = ||dL_t/dhs[k+1]||; wrt="c": G[t, k] = ||dL_t/dcs[k+1]|| (Frobenius over batch and
    units; total derivatives through both channels); 0 for k > t. xs: (T, B, D), ys: (T, B).
    One reverse sweep that carries every loss term's (dh, dc) separately: O(T^2) step-products.
    """
    wrt = choice(wrt, "wrt", ("h", "c"))
    cache, ys, _ = _run_labelled(params, xs, ys, h0, c0)
    T = len(ys)
    dH = logits_grad(cache.logits, ys) @ params.V
    G = np.zeros((T, T))
    Ch, Cc = dH[:0], dH[:0]   # (n, B, H): dL_t/dh_s and dL_t/dc_s (from c_{s+1}) for t = s+1, ..., T-1
    for s in range(T - 1, -1, -1):
        Ch = np.concatenate([dH[s][None], Ch])
        Cc = np.concatenate([np.zeros_like(dH[s])[None], Cc])
        _, Ch_prev, Cc_prev, dc_total = lstm_step_back(Ch, Cc, cache.gates[s], cache.cs[s], cache.tanh_c[s],
                                                       params.W_hh)
        shown = Ch if wrt == "h" else dc_total
        G[s:, s] = np.sqrt(np.einsum("nbh,nbh->n", shown, shown))
        Ch, Cc = Ch_prev, Cc_prev
    return G
