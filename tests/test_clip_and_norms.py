"""clip_grad_norm against torch.nn.utils.clip_grad_norm_, and gradient_norms against torch autograd."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from rnn_reference import (ACTIVATIONS, PARAM_NAMES, activations, problems, random_problem, seeds,
                           torch_gradient_norms)


def _random_grads(seed, scale=1.0, shape=(4, 3, 5)):
    D, K, H = shape
    rng = np.random.default_rng(seed)
    return bptt.RNNParams(U=rng.normal(0, scale, (H, D)), W=rng.normal(0, scale, (H, H)),
                          V=rng.normal(0, scale, (K, H)), b=rng.normal(0, scale, H), c=rng.normal(0, scale, K))


def _torch_clip(grads, max_norm):
    """Clip with torch.nn.utils.clip_grad_norm_ on float64 tensors whose .grad are the given arrays."""
    tensors = []
    for name in PARAM_NAMES:
        t = torch.zeros(getattr(grads, name).shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(getattr(grads, name))
        tensors.append(t)
    total = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    return bptt.RNNParams(*(t.grad.numpy() for t in tensors)), float(total)


@settings(max_examples=40)
@given(seed=seeds, scale=st.floats(1e-3, 1e3), ratio=st.sampled_from([0.0, 0.01, 0.5, 0.999, 1.0, 1.001, 2.0, 100.0]))
def test_clip_grad_norm_matches_torch(seed, scale, ratio):
    """Same clipped arrays and same pre-clipping total norm as torch, for max_norm below, at and above
    the gradient's norm (max_norm = ratio * norm)."""
    grads = _random_grads(seed, scale)
    max_norm = ratio * grads.norm()
    clipped, total = bptt.clip_grad_norm(grads, max_norm)
    ref_clipped, ref_total = _torch_clip(grads, max_norm)
    assert total == pytest.approx(ref_total, rel=1e-12)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(getattr(clipped, name), getattr(ref_clipped, name), rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_when_clipping():
    """A gradient longer than max_norm is rescaled onto (just under) the max_norm sphere, direction kept."""
    grads = _random_grads(1, scale=10.0)
    clipped, total = bptt.clip_grad_norm(grads, 1.0)
    assert total == pytest.approx(np.linalg.norm(grads.flat()), rel=1e-14)
    assert clipped.norm() == pytest.approx(1.0, rel=1e-5) and clipped.norm() <= 1.0
    np.testing.assert_allclose(clipped.flat() / clipped.norm(), grads.flat() / total, rtol=1e-12)


def test_clip_grad_norm_when_not_clipping():
    """A gradient shorter than max_norm comes back unchanged."""
    grads = _random_grads(2, scale=0.01)
    clipped, total = bptt.clip_grad_norm(grads, 10.0)
    assert total == pytest.approx(grads.norm(), rel=1e-14)
    np.testing.assert_array_equal(clipped.flat(), grads.flat())


@settings(max_examples=40)
@given(prob=problems(), activation=activations)
def test_gradient_norms_match_torch(prob, activation):
    """G[t, k] = ||dL_t/dhs[k+1]|| equals torch autograd of each L_t onto the retained hidden states,
    and is exactly 0 above the diagonal (k > t)."""
    G = bptt.gradient_norms(*prob, activation=activation)
    T = prob.xs.shape[0]
    assert G.shape == (T, T)
    np.testing.assert_array_equal(G[np.triu_indices(T, 1)], 0.0)
    ref = torch_gradient_norms(*prob, activation=activation)
    np.testing.assert_allclose(G, ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_norms_each_activation(activation):
    """Fixed-problem check per activation (h0 None, i.e. zeros); the diagonal is positive, since each
    L_t depends on hs[t+1] directly through the output layer."""
    prob = random_problem(T=9, B=3, D=2, H=4, K=5, seed=4)
    G = bptt.gradient_norms(prob.params, prob.xs, prob.ys, activation=activation)
    ref = torch_gradient_norms(prob.params, prob.xs, prob.ys, None, activation)
    np.testing.assert_allclose(G, ref, rtol=1e-10, atol=1e-14)
    assert np.all(np.diag(G) > 0)
    np.testing.assert_array_equal(np.triu(G, 1), 0.0)
