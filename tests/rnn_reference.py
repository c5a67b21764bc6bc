"""Shared test helpers for the bptt unit suite (re-exported by conftest.py).

* The float64 PyTorch reference of ``bptt.studies.torch_ref`` (explicit loop over time, autograd,
  ``h.detach()``), independent of the library's numpy recursions, under the tests' names.
* ``random_problem``: a random RNN problem with nonzero biases and a random initial state.
* Hypothesis strategies for shapes, activations and seeds.

Test modules import from here (``from rnn_reference import ...``), not from ``conftest``: another
conftest.py below tests/ (tests/browser/) would shadow the module name ``conftest``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

import bptt
from bptt.studies import torch_ref

ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
METHODS = ("bptt", "naive", "randomized")
PARAM_NAMES = ("U", "W", "V", "b", "c")


# --------------------------------------------------------------------------- problems
class Problem(NamedTuple):
    params: bptt.RNNParams
    xs: np.ndarray   # (T, B, D)
    ys: np.ndarray   # (T, B) int64
    h0: np.ndarray   # (B, H)


def random_problem(T: int = 5, B: int = 3, D: int = 4, H: int = 5, K: int = 3, *, seed: int = 0,
                   weight_scale: float = 1.0) -> Problem:
    """Gaussian weights (std weight_scale/sqrt(fan-in)), nonzero Gaussian biases, inputs, labels and h0."""
    rng = np.random.default_rng(seed)
    params = bptt.RNNParams(
        U=rng.normal(0, weight_scale / np.sqrt(D), (H, D)),
        W=rng.normal(0, weight_scale / np.sqrt(H), (H, H)),
        V=rng.normal(0, weight_scale / np.sqrt(H), (K, H)),
        b=rng.normal(0, 0.5, H),
        c=rng.normal(0, 0.5, K),
    )
    xs = rng.normal(0, 1, (T, B, D))
    ys = rng.integers(0, K, (T, B))
    h0 = rng.normal(0, 0.5, (B, H))
    return Problem(params, xs, ys, h0)


# --------------------------------------------------------------------------- hypothesis strategies
activations = st.sampled_from(ACTIVATIONS)
seeds = st.integers(0, 2**32 - 1)


@st.composite
def shapes(draw, max_T: int = 12) -> dict:
    """Sizes T 1..max_T, B 1..4, D 1..5, H 1..6, K 2..6."""
    return dict(T=draw(st.integers(1, max_T)), B=draw(st.integers(1, 4)), D=draw(st.integers(1, 5)),
                H=draw(st.integers(1, 6)), K=draw(st.integers(2, 6)))


@st.composite
def problems(draw, max_T: int = 12) -> Problem:
    """A random_problem of hypothesis-drawn sizes and seed."""
    return random_problem(**draw(shapes(max_T)), seed=draw(seeds))


# --------------------------------------------------------------------------- torch reference
# The library's one torch reference (bptt.studies.torch_ref: an explicit loop over time, autograd,
# ``h.detach()``), under the names and argument orders the tests use.
def torch_loss_and_grads(params, xs, ys, h0=None, activation="tanh", window=None, detach_every=None, xi=None):
    """Reference (loss, grads as RNNParams) by PyTorch autograd in float64 (``torch_ref.autograd_loss_and_grads``)."""
    return torch_ref.autograd_loss_and_grads(params, xs, ys, h0, activation=activation, window=window,
                                             detach_every=detach_every, xi=xi)


def torch_forward(params, xs, h0=None, activation="tanh"):
    """Reference (hs (T+1, B, H), logits (T, B, K)) by the torch module's explicit loop."""
    return torch_ref.forward(params, xs, h0, activation=activation)


def torch_gradient_norms(params, xs, ys, h0=None, activation="tanh"):
    """Reference G (T, T): G[t, k] = ||dL_t/dhs[k+1]|| by backward() of each L_t onto retained states."""
    return torch_ref.gradient_map(params, xs, ys, h0, activation=activation)


per_term_grad_norms = torch_ref.per_term_grad_norms


# --------------------------------------------------------------------------- comparisons
def assert_grads_close(got: bptt.RNNParams, want: bptt.RNNParams, rtol: float = 1e-7, atol: float = 1e-13):
    """Per array: max |got - want| <= rtol * max |want| + atol (tolerance relative to the largest entry)."""
    for name in PARAM_NAMES:
        g, w = getattr(got, name), getattr(want, name)
        assert g.shape == w.shape, f"{name}: shape {g.shape} != {w.shape}"
        err, scale = float(np.max(np.abs(g - w))), float(np.max(np.abs(w)))
        assert err <= rtol * scale + atol, f"{name}: max error {err:.3e} vs max |grad| {scale:.3e}"


def assert_exact_gradient(loss: float, grads: bptt.RNNParams, params, xs, ys, h0=None, activation="tanh"):
    """(loss, grads) from another algorithm equal float64 autograd's and full BPTT's (``loss_and_grads``) to the
    contract's tolerances: loss to 1e-12 relative, every gradient rtol 1e-9, atol 1e-12."""
    ref_loss, ref = torch_loss_and_grads(params, xs, ys, h0, activation=activation)
    full_loss, full = bptt.loss_and_grads(params, xs, ys, h0, activation=activation)
    assert abs(loss - ref_loss) <= 1e-12 * abs(ref_loss) and abs(loss - full_loss) <= 1e-12 * abs(full_loss)
    assert_grads_close(grads, ref, rtol=1e-9, atol=1e-12)
    for got, want in zip(grads, full):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
