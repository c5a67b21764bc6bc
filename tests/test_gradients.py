"""Forward pass and gradients of loss_and_grads against an independent PyTorch float64 reference,
finite differences and a hand-computable example."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from rnn_reference import (ACTIVATIONS, METHODS, PARAM_NAMES, activations, assert_grads_close, problems,
                           random_problem, seeds, torch_forward, torch_loss_and_grads)

# (window, detach_every); the strings are lengths relative to the sequence length T
TRUNCATIONS = [
    (None, None), (1, None), (2, None), ("T-1", None), ("T", None), ("T+3", None),
    (None, 1), (None, 2), (None, 3), (None, "T-1"), (None, "T+3"),
    (2, 3), (3, 2), (1, 2), ("T-1", 2), ("T+3", "T+3"),
]
KEEP_PROB = 0.6

#: hypothesis draws: either an entry of TRUNCATIONS or any window / chunk length 1..14 (or None)
truncations = st.sampled_from(TRUNCATIONS) | st.tuples(st.none() | st.integers(1, 14), st.none() | st.integers(1, 14))


def _resolve(v, T):
    """Turn "T-1", "T", "T+3" into numbers for a sequence of length T (at least 1)."""
    return max(1, T + {"T-1": -1, "T": 0, "T+3": 3}[v]) if isinstance(v, str) else v


def _library_and_reference(prob, activation, method, window, detach_every, rng_seed=0):
    """Run the library and the torch reference on the same problem with the same options (and xi draws)."""
    T = prob.xs.shape[0]
    window, detach_every = _resolve(window, T), _resolve(detach_every, T)
    xi = None
    if method == "randomized":      # randomized truncation: full BPTT with drawn factors xi
        xi = bptt.draw_xi(T, KEEP_PROB, np.random.default_rng(rng_seed))
    got = bptt.loss_and_grads(*prob, activation=activation, method="bptt" if xi is not None else method,
                              window=window, detach_every=detach_every, xi=xi)
    want = torch_loss_and_grads(*prob, activation=activation, window=window, detach_every=detach_every, xi=xi)
    return got, want


@pytest.mark.parametrize("window,detach_every", TRUNCATIONS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("method", METHODS)
def test_grid_matches_torch(method, activation, window, detach_every):
    """Every method x activation x truncation option gives torch's loss and gradients (1e-7 relative)."""
    prob = random_problem(T=7, B=3, D=4, H=5, K=3, seed=11)
    (loss, grads), (ref_loss, ref_grads) = _library_and_reference(prob, activation, method, window, detach_every)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert_grads_close(grads, ref_grads)


@settings(max_examples=60)
@given(prob=problems(), activation=activations, method=st.sampled_from(METHODS),
       trunc=truncations, rng_seed=seeds)
def test_random_shapes_match_torch(prob, activation, method, trunc, rng_seed):
    """The same agreement holds over random sizes (T 1..12, B 1..4, D 1..5, H 1..6, K 2..6) and seeds."""
    (loss, grads), (ref_loss, ref_grads) = _library_and_reference(prob, activation, method, *trunc, rng_seed)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert_grads_close(grads, ref_grads)


@settings(max_examples=40)
@given(prob=problems(), activation=activations, trunc=truncations)
def test_naive_equals_bptt(prob, activation, trunc):
    """The O(T^2) path sum and the O(T) recursion agree to round-off (1e-10), with any truncation."""
    T = prob.xs.shape[0]
    window, detach_every = (_resolve(v, T) for v in trunc)
    kw = dict(activation=activation, window=window, detach_every=detach_every)
    loss_n, naive = bptt.loss_and_grads(*prob, method="naive", **kw)
    loss_b, fast = bptt.loss_and_grads(*prob, method="bptt", **kw)
    assert loss_n == loss_b
    assert_grads_close(naive, fast, rtol=1e-10, atol=1e-15)


@settings(max_examples=30)
@given(prob=problems(), activation=activations, method=st.sampled_from(["bptt", "naive"]),
       extra=st.integers(0, 3))
def test_window_or_chunk_at_least_T_is_full_bptt(prob, activation, method, extra):
    """window >= T and detach_every >= T change nothing: they give exactly the full gradient."""
    T = prob.xs.shape[0]
    full_loss, full = bptt.loss_and_grads(*prob, activation=activation, method=method)
    for kw in (dict(window=T + extra), dict(detach_every=T + extra)):
        loss, grads = bptt.loss_and_grads(*prob, activation=activation, method=method, **kw)
        assert loss == full_loss
        assert_grads_close(grads, full, rtol=1e-12, atol=1e-15)


def test_truncation_changes_the_gradient():
    """Sanity check that the options are not no-ops: window=1 and detach_every=1 differ from full BPTT
    in the recurrent gradient but leave the output-layer gradients (V, c) untouched."""
    prob = random_problem(T=6, seed=3)
    _, full = bptt.loss_and_grads(*prob)
    for kw in (dict(window=1), dict(detach_every=1)):
        _, g = bptt.loss_and_grads(*prob, **kw)
        assert np.max(np.abs(g.W - full.W)) > 1e-3 * np.max(np.abs(full.W))
        np.testing.assert_allclose(g.V, full.V, rtol=1e-12)
        np.testing.assert_allclose(g.c, full.c, rtol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_finite_differences(activation):
    """Full BPTT matches central differences (eps 1e-6, float64) on a few entries of every parameter."""
    prob = random_problem(T=6, B=2, D=3, H=4, K=3, seed=5)
    _, grads = bptt.loss_and_grads(*prob, activation=activation)
    rng = np.random.default_rng(0)
    eps = 1e-6
    for name in PARAM_NAMES:
        base = getattr(prob.params, name)
        for _ in range(3):
            idx = tuple(rng.integers(0, n) for n in base.shape)
            values = []
            for sign in (+1, -1):
                arr = base.copy()
                arr[idx] += sign * eps
                p = bptt.RNNParams(**{n: (arr if n == name else getattr(prob.params, n)) for n in PARAM_NAMES})
                values.append(bptt.loss(p, prob.xs, prob.ys, prob.h0, activation=activation))
            fd = (values[0] - values[1]) / (2 * eps)
            assert getattr(grads, name)[idx] == pytest.approx(fd, rel=1e-5, abs=1e-8), (name, idx)


@settings(max_examples=30)
@given(prob=problems(), activation=activations, zero_h0=st.booleans())
def test_forward_matches_torch(prob, activation, zero_h0):
    """forward returns hs (T+1, B, H) with hs[0] = h0 (zeros for None) and logits (T, B, K), equal to torch's."""
    T, B, _ = prob.xs.shape
    H, K = prob.params.n_hidden, prob.params.n_out
    h0 = None if zero_h0 else prob.h0
    hs, logits = bptt.forward(prob.params, prob.xs, h0, activation=activation)
    assert hs.shape == (T + 1, B, H) and logits.shape == (T, B, K)
    np.testing.assert_array_equal(hs[0], np.zeros((B, H)) if zero_h0 else prob.h0)
    ref_hs, ref_logits = torch_forward(prob.params, prob.xs, h0, activation)
    np.testing.assert_allclose(hs, ref_hs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-12, atol=1e-12)


def test_loss_function_matches_loss_and_grads():
    """bptt.loss is the loss that loss_and_grads returns."""
    prob = random_problem(seed=8)
    assert bptt.loss(*prob) == pytest.approx(bptt.loss_and_grads(*prob)[0], rel=1e-14)


def test_doubling_example_from_the_notes():
    """U = V = I, W = 2I, identity activation, zero biases, x_t = e_t: h_{t+1} = e_t + 2 h_t, so
    logits[t] = sum_{j<=t} 2^(t-j) e_j; the first coordinate runs 1, 2, 4, 8, ..."""
    n = 5
    I = np.eye(n)
    params = bptt.RNNParams(U=I, W=2 * I, V=I, b=np.zeros(n), c=np.zeros(n))
    xs = I[:, None, :]  # (T=n, B=1, D=n), x_t = e_t
    hs, logits = bptt.forward(params, xs, activation="identity")
    expected = np.array([[2.0 ** (t - j) if j <= t else 0.0 for j in range(n)] for t in range(n)])
    np.testing.assert_array_equal(logits[:, 0, :], expected)
    np.testing.assert_array_equal(logits[:, 0, 0], [1, 2, 4, 8, 16])
    np.testing.assert_array_equal(hs[1:], logits)


def test_inputs_are_not_modified():
    """forward, loss_and_grads and gradient_norms leave the caller's arrays untouched."""
    prob = random_problem(T=6, seed=9)
    before = [a.copy() for a in (*prob.params.arrays(), prob.xs, prob.ys, prob.h0)]
    bptt.forward(prob.params, prob.xs, prob.h0, activation="sigmoid")
    for method in ("bptt", "naive"):
        bptt.loss_and_grads(*prob, method=method, window=2, detach_every=3, xi=bptt.draw_xi(6, 0.5, 0))
    bptt.gradient_norms(*prob)
    for a, b in zip(before, (*prob.params.arrays(), prob.xs, prob.ys, prob.h0)):
        np.testing.assert_array_equal(a, b)


def test_random_params_shapes_seed_and_scale():
    """RNNParams.random(D, H, K): U (H, D), W (H, H), V (K, H), zero b (H,) and c (K,); reproducible from
    the seed; weights have std `scale` (default 1/sqrt(fan-in))."""
    D, H, K = 40, 60, 50
    p = bptt.RNNParams.random(D, H, K, seed=3)
    assert [a.shape for a in p.arrays()] == [(H, D), (H, H), (K, H), (H,), (K,)]
    assert (p.n_in, p.n_hidden, p.n_out) == (D, H, K)
    np.testing.assert_array_equal(p.b, 0.0)
    np.testing.assert_array_equal(p.c, 0.0)
    np.testing.assert_array_equal(p.flat(), bptt.RNNParams.random(D, H, K, seed=3).flat())
    assert not np.array_equal(p.W, bptt.RNNParams.random(D, H, K, seed=4).W)
    assert p.U.std() == pytest.approx(1 / np.sqrt(D), rel=0.1)
    assert p.W.std() == pytest.approx(1 / np.sqrt(H), rel=0.1)
    assert bptt.RNNParams.random(D, H, K, scale=0.3).W.std() == pytest.approx(0.3, rel=0.1)
