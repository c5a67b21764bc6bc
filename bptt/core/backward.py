"""Backward passes. Every method computes the same thing, dA: (T, B, H) with dA[s] = the part of
dL/da_s that the strategy keeps, and then one function turns dA into the parameter gradients
(Goodfellow eqs. 10.22-10.28). The local rule of one step lives in ``step_back``; the methods are
loops around it that differ only in how they sweep the (t, k) triangle.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .scratch import scratch
from .validation import METHODS, choice, positive_int, probability
from .activations import activation_grad
from .params import RNNParams
from .rnn import check_inputs, check_labels, losses_and_logits_grad, output_logits, run_hidden
from .truncation import carry_multipliers, draw_xi


def step_back(dh: np.ndarray, fprime: np.ndarray, W: np.ndarray, *, out: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """One step's local backward rule. dh: (..., B, H) = dL/dh_s, fprime: (B, H) = f'(a_s).
    Returns da = dL/da_s = dh * f'(a_s) and dh_prev = da W, the part that flows into h_{s-1}
    (eqs. 10.20-10.21). ``out`` (same shape as dh) receives da if given."""
    da = np.multiply(dh, fprime, out=out)
    return da, da @ W


def param_grads(params: RNNParams, xs: np.ndarray, hs: np.ndarray, dA: np.ndarray, dO: np.ndarray) -> RNNParams:
    """Sum every step's copy of each weight in one matrix product over all T*B rows.
    xs: (T, B, D), hs: (T+1, B, H), dA: (T, B, H) = dL/da_t, dO: (T, B, K) = dL/do_t."""
    T, B, H = dA.shape
    dA2 = dA.reshape(T * B, H)
    dO2 = dO.reshape(T * B, -1)
    return RNNParams(U=dA2.T @ xs.reshape(T * B, -1), W=dA2.T @ hs[:-1].reshape(T * B, H),
                     V=dO2.T @ hs[1:].reshape(T * B, H), b=dA2.sum(0), c=dO2.sum(0))


def backward_full(dH: np.ndarray, fprime: np.ndarray, W: np.ndarray, mult: np.ndarray, *,
                  in_place: bool = False) -> np.ndarray:
    """O(T) BPTT: dL/dh_s = dH[s] + m[s+1] (dL/da_{s+1}) W  (eq. 10.21), one reverse sweep.
    dH: (T, B, H) = direct dL_s/dh_s, fprime: (T, B, H), mult: (T,). Returns dA: (T, B, H)
    (written over dH when ``in_place``, which saves a copy of T*B*H numbers)."""
    T = dH.shape[0]
    dA = dH if in_place else dH.copy()   # dA[s] starts as the direct term dL_s/dh_s
    for s in range(T - 1, -1, -1):
        _, back = step_back(dA[s], fprime[s], W, out=dA[s])
        if s > 0:
            dA[s - 1] += back * mult[s] if mult[s] != 1.0 else back
    return dA


def backward_per_term(dH: np.ndarray, fprime: np.ndarray, W: np.ndarray, mult: np.ndarray,
                      window: int | None = None, norms: np.ndarray | None = None) -> np.ndarray:
    """Reverse sweep that keeps each loss term's gradient separate, so a term can stop after ``window``
    steps. At step s the buffer C holds dL_t/dh_s for t = s, s+1, ... (one matmul for all of them).
    If ``norms`` (T, T) is given, norms[t, s] receives ||dL_t/dh_s|| (Frobenius over batch and units).
    Cost O(T * min(window, T)) step-products. Returns dA: (T, B, H)."""
    T = dH.shape[0]
    reach = T if window is None else min(window, T)
    dA = np.empty_like(dH)
    carry = dH[:0]  # (0, B, H): nothing is carried into the last step
    for s in range(T - 1, -1, -1):
        C = np.concatenate([dH[s][None], carry])
        if norms is not None:
            norms[s:s + len(C), s] = np.sqrt(np.einsum("nbh,nbh->n", C, C))
        da, back = step_back(C, fprime[s], W)
        dA[s] = da.sum(0)
        carry = back[:reach - 1] * mult[s]
    return dA


def backward_naive(dH: np.ndarray, fprime: np.ndarray, W: np.ndarray, mult: np.ndarray,
                   window: int | None = None) -> np.ndarray:
    """O(T^2) reference: each loss term L_t is back-propagated on its own, step by step, through every
    earlier step it reaches; the contributions of all terms (all paths) are summed explicitly."""
    T = dH.shape[0]
    reach = T if window is None else min(window, T)
    dA = np.zeros_like(dH)
    for t in range(T):
        dh = dH[t]
        for s in range(t, max(-1, t - reach), -1):
            da, back = step_back(dh, fprime[s], W)
            dA[s] += da
            dh = back * mult[s]
    return dA


def truncation_options(T: int, method: str, window: Any, detach_every: Any, keep_prob: Any, rng: Any
                       ) -> tuple[int | None, int | None, np.ndarray | None]:
    """Check the truncation arguments of ``loss_and_grads`` and draw the randomized factors.
    Returns (window, detach_every, xi) with xi: (T,) from ``draw_xi`` for method "randomized", else None."""
    if window is not None:
        window = positive_int(window, "window")
    if detach_every is not None:
        detach_every = positive_int(detach_every, "detach_every")
    xi = None
    if method == "randomized":
        if keep_prob is None:
            raise ValueError("method='randomized' needs keep_prob, a number in (0, 1]")
        xi = draw_xi(T, keep_prob, rng)
    elif keep_prob is not None:
        probability(keep_prob, "keep_prob")
    return window, detach_every, xi


def loss_and_grads(params: RNNParams, xs: Any, ys: Any, h0: Any = None, *, activation: str = "tanh",
                   method: str = "bptt", window: int | None = None, detach_every: int | None = None,
                   keep_prob: float | None = None, rng: Any = None) -> tuple[float, RNNParams]:
    """Loss L = sum_t mean_b CE(softmax(o_t), y_t) and its gradient with respect to U, W, V, b, c.

    xs: (T, B, D) float; ys: (T, B) int in [0, K); h0: (B, H) or None (zeros).
    method: "bptt" (O(T) reverse recursion), "naive" (O(T^2), every term on its own) or "randomized"
    (the carried gradient is multiplied by xi_t = 1/keep_prob w.p. keep_prob, else 0; drawn from rng,
    see ``draw_xi``). window=k: L_t reaches back to steps t-k+1 .. t only. detach_every=k: the state
    entering step t is detached when t is a positive multiple of k. Both combine with every method.
    Returns (loss, grads) with grads an RNNParams of the same shapes as params.
    """
    method = choice(method, "method", METHODS)
    activation_grad(activation)
    xs, h0 = check_inputs(params, xs, h0)
    ys = check_labels(params, xs, ys)
    T = xs.shape[0]
    window, detach_every, xi = truncation_options(T, method, window, detach_every, keep_prob, rng)
    mult = carry_multipliers(T, detach_every=detach_every, xi=xi)

    B, H, K = xs.shape[1], params.n_hidden, params.n_out
    hs = run_hidden(params, xs, h0, activation, out=scratch("hs", (T + 1, B, H)))
    losses, dO = losses_and_logits_grad(output_logits(params, hs, out=scratch("dO", (T, B, K))), ys,
                                        in_place=True)
    dH = scratch("dH", (T, B, H))            # direct dL_t/dh_t = V^T dL/do_t  (eq. 10.19)
    np.matmul(dO.reshape(T * B, K), params.V, out=dH.reshape(T * B, H))
    fprime = activation_grad(activation)(hs[1:], out=scratch("fprime", (T, B, H)))
    if method == "naive":
        dA = backward_naive(dH, fprime, params.W, mult, window)
    elif window is not None and window < T:
        dA = backward_per_term(dH, fprime, params.W, mult, window)
    else:
        dA = backward_full(dH, fprime, params.W, mult, in_place=True)
    return float(losses.sum()), param_grads(params, xs, hs, dA, dO)
