"""Shared test helpers for the bptt unit suite (re-exported by conftest.py).

* A float64 PyTorch reference, written the way a PyTorch user would write it (explicit loop over time,
  autograd, ``h.detach()``), independently of the library's numpy recursions.
* ``random_problem``: a random RNN problem with nonzero biases and a random initial state.
* Hypothesis strategies for shapes, activations and seeds.

Test modules import from here (``from rnn_reference import ...``), not from ``conftest``: another
conftest.py below tests/ (tests/browser/) would shadow the module name ``conftest``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

import bptt

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
_TORCH_ACT = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda a: a}


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def torch_loss_and_grads(params, xs, ys, h0=None, activation="tanh", window=None, detach_every=None, xi=None):
    """Reference (loss, grads as RNNParams) by PyTorch autograd in float64.

    detach_every=k: ``h = h.detach()`` before every step t that is a positive multiple of k.
    xi (T,):        ``h = xi[t] * h + (1 - xi[t]) * h.detach()`` before step t >= 1, which leaves the value
                    of h unchanged and multiplies the gradient flowing back into it by xi[t].
    window=k:       every loss term L_t gets its own graph in which the parameters used at steps outside
                    t-k+1 .. t are ``.detach()``ed, so L_t sends gradient only to those k steps.
    """
    T, B, _ = np.shape(xs)
    P = {n: _t(getattr(params, n)).clone().requires_grad_(True) for n in PARAM_NAMES}
    x = _t(xs)
    y = torch.as_tensor(np.asarray(ys), dtype=torch.long)
    h_init = torch.zeros(B, P["W"].shape[0], dtype=torch.float64) if h0 is None else _t(h0)
    f = _TORCH_ACT[activation]

    def step_losses(n_steps, live):
        """Run n_steps steps; params at step s carry gradient iff live(s). Returns the list of L_t."""
        h, terms = h_init, []
        for t in range(n_steps):
            if detach_every is not None and t > 0 and t % detach_every == 0:
                h = h.detach()
            if xi is not None and t > 0:
                h = float(xi[t]) * h + (1.0 - float(xi[t])) * h.detach()
            U, W, V, b, c = (P[n] if live(t) else P[n].detach() for n in PARAM_NAMES)
            h = f(x[t] @ U.T + h @ W.T + b)
            terms.append(F.cross_entropy(h @ V.T + c, y[t]))  # mean over the batch
        return terms

    full_terms = step_losses(T, lambda s: True)
    loss = torch.stack(full_terms).sum()
    if window is None:
        objective = loss
    else:
        objective = sum(step_losses(t + 1, lambda s, t=t: s > t - window)[t] for t in range(T))
    grads = torch.autograd.grad(objective, [P[n] for n in PARAM_NAMES], allow_unused=True)
    grads = [torch.zeros_like(P[n]) if g is None else g for n, g in zip(PARAM_NAMES, grads)]
    return float(loss.detach()), bptt.RNNParams(*(g.detach().numpy() for g in grads))


def torch_forward(params, xs, h0=None, activation="tanh"):
    """Reference (hs (T+1, B, H), logits (T, B, K)) by an explicit torch loop."""
    T, B, _ = np.shape(xs)
    P = {n: _t(getattr(params, n)) for n in PARAM_NAMES}
    h = torch.zeros(B, P["W"].shape[0], dtype=torch.float64) if h0 is None else _t(h0)
    f = _TORCH_ACT[activation]
    hs, logits = [h], []
    for t in range(T):
        h = f(_t(xs[t]) @ P["U"].T + h @ P["W"].T + P["b"])
        hs.append(h)
        logits.append(h @ P["V"].T + P["c"])
    return torch.stack(hs).numpy(), torch.stack(logits).numpy()


def torch_gradient_norms(params, xs, ys, h0=None, activation="tanh"):
    """Reference G (T, T): G[t, k] = ||dL_t/dhs[k+1]|| by backward() of each L_t onto retained states."""
    T, B, _ = np.shape(xs)
    P = {n: _t(getattr(params, n)) for n in PARAM_NAMES}
    h = torch.zeros(B, P["W"].shape[0], dtype=torch.float64) if h0 is None else _t(h0)
    y = torch.as_tensor(np.asarray(ys), dtype=torch.long)
    f = _TORCH_ACT[activation]
    states, terms = [], []
    h = h.clone().requires_grad_(True)
    for t in range(T):
        h = f(_t(xs[t]) @ P["U"].T + h @ P["W"].T + P["b"])
        h.retain_grad()
        states.append(h)  # states[k] is hs[k + 1]
        terms.append(F.cross_entropy(h @ P["V"].T + P["c"], y[t]))
    return per_term_grad_norms(terms, states)


def per_term_grad_norms(terms: list, states: list) -> np.ndarray:
    """G[t, k] = ||d terms[t] / d states[k]|| by one autograd backward per loss term (states retain_grad)."""
    T = len(terms)
    G = np.zeros((T, len(states)))
    for t in range(T):
        for s in states:
            s.grad = None
        terms[t].backward(retain_graph=True)
        for k, s in enumerate(states):
            G[t, k] = 0.0 if s.grad is None else float(torch.linalg.norm(s.grad))
    return G


# --------------------------------------------------------------------------- comparisons
def assert_grads_close(got: bptt.RNNParams, want: bptt.RNNParams, rtol: float = 1e-7, atol: float = 1e-13):
    """Per array: max |got - want| <= rtol * max |want| + atol (tolerance relative to the largest entry)."""
    for name in PARAM_NAMES:
        g, w = getattr(got, name), getattr(want, name)
        assert g.shape == w.shape, f"{name}: shape {g.shape} != {w.shape}"
        err, scale = float(np.max(np.abs(g - w))), float(np.max(np.abs(w)))
        assert err <= rtol * scale + atol, f"{name}: max error {err:.3e} vs max |grad| {scale:.3e}"
