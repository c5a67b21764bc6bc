"""One step at a time: the pieces the loops that hold O(1) states share (RTRL, SnAp-1, UORO and the
memory-budgeted BPTT). They advance the RNN by the library's forward pass over a single step
(``run_hidden``, eq-fwd-a, eq-fwd-h) and read each step's loss and gradients through the library's output
layer (``output_logits``, ``losses_and_logits_grad``, eq-chain-dlogits), so none writes the step again.

A loop keeps ``pair``: (2, B, H), a working buffer whose row 1 is the current state h_t; a forward step
moves it to row 0 and writes h_{t+1} into row 1.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .activations import activation_grad
from .params import RNNParams
from .rnn import check_inputs, check_labels, losses_and_logits_grad, output_logits, run_hidden

Array = NDArray[np.float64]


def checked_problem(params: RNNParams, xs: ArrayLike, ys: ArrayLike, h0: ArrayLike | None, activation: str
                    ) -> tuple[Array, NDArray[np.int64], Array, Callable[..., Array]]:
    """The checks of ``loss_and_grads`` (same messages): returns xs: (T, B, D), ys: (T, B), h0: (B, H) and
    the activation's derivative h -> f'(a)."""
    grad_fn = activation_grad(activation)
    xs_arr, h0_arr = check_inputs(params, xs, h0)
    return xs_arr, check_labels(params, xs_arr, ys), h0_arr, grad_fn


def start_pair(h0: Array) -> Array:
    """A working buffer (2, B, H) whose row 1 holds h_0."""
    pair = np.empty((2,) + h0.shape)
    pair[1] = h0
    return pair


def forward_step(params: RNNParams, x: Array, pair: Array, activation: str) -> Array:
    """One application of the forward step (eq-fwd-a, eq-fwd-h): x: (B, D) = x_t, pair[1] = h_{t-1} on entry;
    afterwards pair = (h_{t-1}, h_t). Returns pair[1] = h_t (a view into the buffer)."""
    run_hidden(params, x[None], pair[1], activation, out=pair)
    return pair[1]


def step_outputs(params: RNNParams, pair: Array, y: NDArray[np.int64], grad_fn: Callable[..., Array],
                 grads: RNNParams) -> tuple[float, Array, Array]:
    """Step t's own loss and gradients from its state h_t = pair[1] and labels y: (B,).

    Returns (L_t, g_t, f'(a_t)) with g_t = dL_t/dh_t = V^T dL_t/do_t: (B, H) the direct gradient
    (eq-chain-dh-direct) and f'(a_t): (B, H); adds the step's output-layer terms dO^T h_t and dO
    (eq-chain-grads) into grads.V and grads.c in place."""
    losses, dO = losses_and_logits_grad(output_logits(params, pair), y[None], in_place=True)
    h, dO = pair[1], dO[0]
    grads.V[...] += dO.T @ h
    grads.c[...] += dO.sum(0)
    return float(losses[0]), dO @ params.V, grad_fn(h)


def zero_grads(params: RNNParams) -> RNNParams:
    """Gradient accumulators: an RNNParams of zeros shaped like ``params``."""
    return params.map(np.zeros_like)
