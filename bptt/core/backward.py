"""The backward pass of the vanilla RNN: ONE step rule and the loops around it.

* ``prepare`` runs the forward pass and hands every caller the same backward inputs: the states hs, the
  logit gradients dO = dL/do_t (eq-chain-dlogits), the direct state gradients dH = dL_t/dh_t through the
  output layer (eq-chain-dh-direct) and f'(a_t).
* ``step_back`` is the local rule of one step (eq-chain-delta, eq-chain-recursion): the gradient arriving
  at h_s becomes delta_s = dL/da_s, and delta_s W is what flows on into h_{s-1}.
* The loops differ only in how they sweep the (loss term t, step k) triangle: ``backward_full`` (O(T), one
  carried total), ``backward_per_term`` (each loss term kept apart, optionally cut after a window),
  ``backward_naive`` (O(T^2), each term on its own) and ``loss_and_grads_checkpointed`` (full BPTT over
  recomputed segments, eq-cost-checkpoint). Each takes an ``on_step(s, dh, da)`` hook, called once per
  step-rule application with the 0-based step s, the gradient dh arriving at hs[s+1] and da = dL/da there,
  so a study observes the sweep (per-term norms, per-copy contributions, counting products) instead of
  writing it again. The arrays the hook receives are its own: no loop writes to them afterwards.
* ``param_grads`` turns the deltas into the parameter gradients (eq-chain-grads).

Goodfellow et al. number the same equations 10.18-10.28. Rows are batch entries, so ``da @ W`` is the
math's W^T delta.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .activations import activation_grad
from .params import RNNParams
from .rnn import check_inputs, check_labels, losses_and_logits_grad, output_logits, run_hidden
from .scratch import scratch
from .truncation import carry_multipliers
from .validation import METHODS, as_weights, choice, positive_int

__all__ = ["prepare", "Prepared", "step_back", "layer_grads", "param_grads", "backward_full", "backward_per_term",
           "backward_naive", "state_grads", "StepCounter", "loss_and_grads", "weighted_loss_and_grads",
           "loss_and_grads_checkpointed"]

Array = NDArray[np.float64]
#: a hook the loops call once per application of the step rule: on_step(s, dh, da)
OnStep = Callable[[int, Array, Array], None]


# --------------------------------------------------------------------------- inputs of every backward pass
class Prepared(NamedTuple):
    """What every backward pass starts from. xs: (T, B, D) checked inputs; hs: (T+1, B, H) states;
    dO: (T, B, K) = dL/do_t; dH: (T, B, H) = the direct dL_t/dh_t = V^T dL/do_t; fprime: (T, B, H) = f'(a_t);
    losses: (T,) the per-step (weighted) losses L_t."""

    xs: Array
    hs: Array
    dO: Array
    dH: Array
    fprime: Array
    losses: Array


def _new(role: str, shape: tuple[int, ...]) -> Array:
    return np.empty(shape)


def prepare(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
            activation: str = "tanh", weights: ArrayLike | None = None, reuse_buffers: bool = False) -> Prepared:
    """Check the inputs, run the forward pass and compute the backward inputs (see ``Prepared``).

    xs: (T, B, D); ys: (T, B) ints in [0, K); h0: (B, H) or None (zeros); weights: None, (T,) or (T, B),
    >= 0, weighting the per-step losses (eq-loss-weighted). ``reuse_buffers``: take hs, dO, dH and fprime
    from the thread-local scratch cache (they are overwritten by the next such call; only for callers that
    return none of them)."""
    grad_fn = activation_grad(activation)
    xs_arr, h0_arr = check_inputs(params, xs, h0)
    ys_arr = check_labels(params, xs_arr, ys)
    T, B, _ = xs_arr.shape
    w = None if weights is None else as_weights(weights, T, B)
    H, K = params.n_hidden, params.n_out
    buf = scratch if reuse_buffers else _new
    hs = run_hidden(params, xs_arr, h0_arr, activation, out=buf("hs", (T + 1, B, H)))
    losses, dO = losses_and_logits_grad(output_logits(params, hs, out=buf("dO", (T, B, K))), ys_arr,
                                        weights=w, in_place=True)
    dH = buf("dH", (T, B, H))
    np.matmul(dO.reshape(T * B, K), params.V, out=dH.reshape(T * B, H))
    fprime = grad_fn(hs[1:], out=buf("fprime", (T, B, H)))
    return Prepared(xs_arr, hs, dO, dH, fprime, losses)


# --------------------------------------------------------------------------- the step rule
def step_back(dh: Array, fprime: Array, W: Array, *, out: Array | None = None) -> tuple[Array, Array]:
    """One step's local backward rule (eq-chain-delta, eq-chain-recursion). dh: (..., B, H) = the gradient
    arriving at h_s, fprime: (B, H) = f'(a_s). Returns da = dL/da_s = dh * f'(a_s) and da W, the part that
    flows into h_{s-1} (times the Jacobian diag(f'(a_s)) W, eq-chain-jacobian). ``out`` receives da if given."""
    da = np.multiply(dh, fprime, out=out)
    return da, da @ W


def layer_grads(dA: Array, inputs: Array, states: Array) -> tuple[Array, Array, Array]:
    """The gradients of one affine layer a_t = U x_t + W h_{t-1} + b (or o_t = V h_t + c with no W), each
    step's copy summed in one matrix product over all T*B rows (eq-chain-grads). dA: (T, B, N) = dL/da_t;
    inputs: (T, B, D) = x_t; states: (T, B, M) = h_{t-1}, or None for a layer with no recurrent input.
    Returns (dU: (N, D), dW: (N, M) or None, db: (N,)). The vanilla RNN, the LSTM (N = 4H gate
    pre-activations) and every cell of a deep RNN assemble their parameter gradients with it."""
    T, B, N = dA.shape
    dA2 = dA.reshape(T * B, N)
    dW = None if states is None else dA2.T @ states.reshape(T * B, -1)
    return dA2.T @ inputs.reshape(T * B, -1), dW, dA2.sum(0)


def param_grads(params: RNNParams, xs: Array, hs: Array, dA: Array, dO: Array) -> RNNParams:
    """The vanilla RNN's parameter gradients (eq-chain-grads) from ``layer_grads``.
    xs: (T, B, D), hs: (T+1, B, H), dA: (T, B, H) = dL/da_t, dO: (T, B, K) = dL/do_t."""
    dU, dW, db = layer_grads(dA, xs, hs[:-1])
    dV, _, dc = layer_grads(dO, hs[1:], None)
    return RNNParams(U=dU, W=dW, V=dV, b=db, c=dc)


# --------------------------------------------------------------------------- the loops
def _sweep_full(dH: Array, fprime: Array, W: Array, mult: Array, *, in_place: bool = False,
                on_step: OnStep | None = None) -> tuple[Array, Array]:
    """The O(T) reverse sweep; returns (dA, dh0) with dh0 = the gradient flowing into hs[0]."""
    T = dH.shape[0]
    dA = dH if in_place else dH.copy()   # dA[s] starts as the direct term dL_s/dh_s, then gathers the carry
    for s in range(T - 1, -1, -1):
        if on_step is None:
            da, back = step_back(dA[s], fprime[s], W, out=dA[s])
        else:                            # the hook keeps dh and da: hand it arrays this loop never writes
            dh = dA[s].copy()
            da, back = step_back(dh, fprime[s], W)
            on_step(s, dh, da)
            dA[s] = da
        if s > 0:
            dA[s - 1] += back * mult[s] if mult[s] != 1.0 else back
    return dA, back


def backward_full(dH: Array, fprime: Array, W: Array, mult: Array, *, in_place: bool = False,
                  on_step: OnStep | None = None) -> Array:
    """O(T) BPTT (eq-chain-recursion): dL/dh_s = dH[s] + m[s+1] (dL/da_{s+1}) W, one reverse sweep.
    dH: (T, B, H) = direct dL_s/dh_s, fprime: (T, B, H), mult: (T,) carry factors (``carry_multipliers``).
    Returns dA: (T, B, H) (written over dH when ``in_place``, which saves a copy of T*B*H numbers).
    ``on_step(s, dh, da)`` sees the total dL/dh_s and dL/da_s of every step."""
    return _sweep_full(dH, fprime, W, mult, in_place=in_place, on_step=on_step)[0]


def state_grads(dH: Array, fprime: Array, W: Array, mult: Array | None = None) -> Array:
    """The total state gradients dL/dh_t: (T, B, H) of the reverse recursion (eq-chain-recursion), read off
    ``backward_full`` by its hook. dH: (T, B, H) direct dL_t/dh_t; fprime: (T, B, H); W: (H, H)."""
    out = np.empty_like(dH)

    def keep(s: int, dh: Array, da: Array) -> None:
        out[s] = dh

    backward_full(dH, fprime, W, np.ones(dH.shape[0]) if mult is None else mult, on_step=keep)
    return out


def backward_per_term(dH: Array, fprime: Array, W: Array, mult: Array, window: int | None = None, *,
                      on_step: OnStep | None = None) -> Array:
    """Reverse sweep that keeps each loss term's gradient separate, so a term can stop after ``window``
    steps (eq-trunc-window). At step s the buffer holds dL_t/dh_s for t = s, s+1, ... (one matmul for all).
    ``on_step(s, dh, da)`` gets those rows: dh[n] = dL_{s+n}/dh_s and da[n] = dL_{s+n}/da_s, shape (n, B, H).
    Cost O(T * min(window, T)) step-products. Returns dA: (T, B, H)."""
    T = dH.shape[0]
    reach = T if window is None else min(window, T)
    dA = np.empty_like(dH)
    carry = dH[:0]  # (0, B, H): nothing is carried into the last step
    for s in range(T - 1, -1, -1):
        C = np.concatenate([dH[s][None], carry])
        da, back = step_back(C, fprime[s], W)
        if on_step is not None:
            on_step(s, C, da)
        dA[s] = da.sum(0)
        carry = back[:reach - 1] * mult[s]
    return dA


def backward_naive(dH: Array, fprime: Array, W: Array, mult: Array, window: int | None = None, *,
                   on_step: OnStep | None = None) -> Array:
    """O(T^2) reference: each loss term L_t is back-propagated on its own, step by step, through every
    earlier step it reaches; the contributions of all terms (all paths) are summed explicitly.
    ``on_step(s, dh, da)`` sees dL_t/dh_s and dL_t/da_s: (B, H) for one term t at a time."""
    T = dH.shape[0]
    reach = T if window is None else min(window, T)
    dA = np.zeros_like(dH)
    for t in range(T):
        dh = dH[t]
        for s in range(t, max(-1, t - reach), -1):
            da, back = step_back(dh, fprime[s], W)
            if on_step is not None:
                on_step(s, dh, da)
            dA[s] += da
            dh = back * mult[s]
    return dA


@dataclass
class StepCounter:
    """An ``on_step`` hook that counts applications of the step rule (one product with W each)."""

    calls: int = 0

    def __call__(self, s: int, dh: Array, da: Array) -> None:
        self.calls += 1


# --------------------------------------------------------------------------- gradients
def truncation_options(T: int, window: object, detach_every: object, xi: object
                       ) -> tuple[int | None, Array]:
    """Check the truncation arguments shared by the gradient functions. Returns (window, mult) with mult:
    (T,) the carry factors of ``carry_multipliers`` (xi: None or (T,) randomized factors from ``draw_xi``)."""
    if window is not None:
        window = positive_int(window, "window")
    return window, carry_multipliers(T, detach_every=detach_every, xi=xi)


def loss_and_grads(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                   activation: str = "tanh", method: str = "bptt", window: int | None = None,
                   detach_every: int | None = None, xi: ArrayLike | None = None, weights: ArrayLike | None = None,
                   on_step: OnStep | None = None) -> tuple[float, RNNParams]:
    """Loss L = sum_t mean_b CE(softmax(o_t), y_t) (eq-loss-total) and its gradient with respect to U, W, V,
    b, c by BPTT (eq-chain-recursion, eq-chain-grads).

    xs: (T, B, D) float; ys: (T, B) int in [0, K); h0: (B, H) or None (zeros).
    method: "bptt" (O(T) reverse recursion) or "naive" (O(T^2), every loss term on its own); both give the
    same numbers. Truncation (eq-trunc-strategy), combinable with each other and with both methods:
    window=k: L_t reaches back to steps t-k+1 .. t only (eq-trunc-window); detach_every=k: the state
    entering step t is detached when t is a positive multiple of k (eq-trunc-detach); xi: (T,) randomized
    factors from ``draw_xi`` multiply the carried gradient (eq-trunc-xi). weights: None, (T,) or (T, B),
    >= 0: the weighted loss L = sum_t sum_b w[t, b] L_t[b] / B (eq-loss-weighted).
    ``on_step(s, dh, da)``: an optional hook the loop calls at every application of the step rule (e.g. a
    ``StepCounter``); the arrays it receives stay valid after it returns.
    Returns (loss, grads) with grads an RNNParams of the same shapes as params.
    """
    method = choice(method, "method", METHODS)
    activation_grad(activation)
    xs_arr, h0_arr = check_inputs(params, xs, h0)
    check_labels(params, xs_arr, ys)
    T = xs_arr.shape[0]
    window, mult = truncation_options(T, window, detach_every, xi)
    # scratch buffers only when no hook sees them (a hook may keep what it is handed)
    p = prepare(params, xs_arr, ys, h0_arr, activation=activation, weights=weights, reuse_buffers=on_step is None)
    if method == "naive":
        dA = backward_naive(p.dH, p.fprime, params.W, mult, window, on_step=on_step)
    elif window is not None and window < T:
        dA = backward_per_term(p.dH, p.fprime, params.W, mult, window, on_step=on_step)
    else:
        dA = backward_full(p.dH, p.fprime, params.W, mult, in_place=True, on_step=on_step)
    return float(p.losses.sum()), param_grads(params, p.xs, p.hs, dA, p.dO)


def weighted_loss_and_grads(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                            weights: ArrayLike | None, activation: str = "tanh") -> tuple[float, RNNParams]:
    """Full BPTT for the weighted loss L = sum_t sum_b w[t, b] L_t[b] / B (eq-loss-weighted): the same call
    as ``loss_and_grads(..., weights=weights)``. xs: (T, B, D); ys: (T, B); h0: (B, H) or None;
    weights: None (all ones), (T,) or (T, B), >= 0. Returns (loss, grads)."""
    return loss_and_grads(params, xs, ys, h0, activation=activation, weights=weights)


def loss_and_grads_checkpointed(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None = None, *,
                                activation: str = "tanh", segment: int | None = None,
                                on_step: OnStep | None = None) -> tuple[float, RNNParams]:
    """Full BPTT with checkpoints (eq-cost-checkpoint): the same loss and gradients as
    ``loss_and_grads(method="bptt")`` while storing O(T/k + k) states instead of O(T).

    xs: (T, B, D); ys: (T, B); h0: (B, H) or None. segment: k, the number of steps between checkpoints
    (default ceil(sqrt(T)), which minimises T/k + k). The forward pass keeps only the state entering each
    segment; the backward pass recomputes one segment's states from its checkpoint (one extra forward in
    all), runs the reverse sweep over it and hands dL/dh at the segment's start to the segment before.
    """
    activation_grad(activation)
    xs_arr, h0_arr = check_inputs(params, xs, h0)
    ys_arr = check_labels(params, xs_arr, ys)
    T = xs_arr.shape[0]
    k = math.ceil(math.sqrt(T)) if segment is None else positive_int(segment, "segment")
    starts = list(range(0, T, k))
    checkpoints, h = [], h0_arr
    for s in starts:                                   # forward: keep one state per segment
        checkpoints.append(h)
        h = run_hidden(params, xs_arr[s:s + k], h, activation)[-1].copy()   # a copy: a view keeps hs alive
    total, grads = 0.0, params.map(np.zeros_like)
    carry = np.zeros_like(h0_arr)                      # dL/dh at the end of this segment from later steps
    for s, h_in in zip(reversed(starts), reversed(checkpoints)):
        p = prepare(params, xs_arr[s:s + k], ys_arr[s:s + k], h_in, activation=activation)  # recompute (own arrays)
        p.dH[-1] += carry
        hook = None if on_step is None else (lambda j, dh, da, s=s: on_step(s + j, dh, da))
        dA, carry = _sweep_full(p.dH, p.fprime, params.W, np.ones(len(p.dH)), in_place=True, on_step=hook)
        total += float(p.losses.sum())
        grads = RNNParams(*(a + b for a, b in zip(grads, param_grads(params, p.xs, p.hs, dA, p.dO))))
    return total, grads
