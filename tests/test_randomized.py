"""Randomized truncation: exact agreement with the torch reference for given draws, and unbiasedness."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from rnn_reference import activations, assert_grads_close, problems, random_problem, seeds, torch_loss_and_grads

keep_probs = st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.9, 1.0]) | st.floats(0.05, 1.0)


# --------------------------------------------------------------------------- the draws
@settings(max_examples=30)
@given(T=st.integers(1, 12), p=keep_probs, seed=seeds)
def test_draw_xi_is_the_documented_rule(T, p, seed):
    """draw_xi: xi[0] = 1 and xi[1:] = (rng.random(T-1) < p) / p, so every xi_t is 0 or 1/p."""
    xi = bptt.draw_xi(T, p, np.random.default_rng(seed))
    expected = np.concatenate([[1.0], (np.random.default_rng(seed).random(T - 1) < p) / p])
    np.testing.assert_array_equal(xi, expected)
    assert set(np.unique(xi[1:])) <= {0.0, 1.0 / p}


@settings(max_examples=40)
@given(prob=problems(), activation=activations, p=keep_probs, seed=seeds,
       window=st.sampled_from([None, 1, 2, 4]), detach_every=st.sampled_from([None, 1, 2, 3]))
def test_randomized_equals_torch_for_the_same_draws(prob, activation, p, seed, window, detach_every):
    """For the xi's that draw_xi gives, loss_and_grads(xi=xi) equals the torch reference with
    h = xi*h + (1-xi)*h.detach() to round-off (with any window / detach_every as well, both methods)."""
    T = prob.xs.shape[0]
    kw = dict(activation=activation, window=window, detach_every=detach_every)
    xi = bptt.draw_xi(T, p, np.random.default_rng(seed))
    loss, grads = bptt.loss_and_grads(*prob, xi=xi, **kw)
    np.testing.assert_allclose(bptt.loss_and_grads(*prob, xi=xi, method="naive", **kw)[1].flat(), grads.flat(),
                               rtol=1e-10, atol=1e-13)
    ref_loss, ref_grads = torch_loss_and_grads(*prob, xi=xi, **kw)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert_grads_close(grads, ref_grads, rtol=1e-11, atol=1e-14)


def test_integer_seed_is_reproducible():
    """draw_xi's rng may be an integer seed: the same seed gives the same factors and the same gradient."""
    prob = random_problem(T=8, seed=2)
    a = bptt.loss_and_grads(*prob, xi=bptt.draw_xi(8, 0.5, 123))[1]
    b = bptt.loss_and_grads(*prob, xi=bptt.draw_xi(8, 0.5, 123))[1]
    np.testing.assert_array_equal(a.flat(), b.flat())


def test_bad_xi_is_refused():
    prob = random_problem(T=8, seed=2)
    for bad in (np.ones(7), np.ones((8, 1)), np.full(8, np.nan)):
        with pytest.raises(ValueError, match="xi"):
            bptt.loss_and_grads(*prob, xi=bad)


@settings(max_examples=20)
@given(prob=problems(), activation=activations, seed=seeds)
def test_keep_prob_one_is_full_bptt(prob, activation, seed):
    """keep_prob = 1 keeps every step with factor 1: the gradient is the full BPTT gradient."""
    full = bptt.loss_and_grads(*prob, activation=activation)[1]
    rand = bptt.loss_and_grads(*prob, activation=activation, xi=bptt.draw_xi(prob.xs.shape[0], 1.0, seed))[1]
    assert_grads_close(rand, full, rtol=1e-13, atol=0.0)


# --------------------------------------------------------------------------- unbiasedness
N_DRAWS = 4000
Z = 5.0
PROB = random_problem(T=6, B=2, D=3, H=4, K=3, seed=1, weight_scale=1.5)
P_KEEP = 0.5


def _randomized(rng):
    return bptt.loss_and_grads(*PROB, xi=bptt.draw_xi(PROB.xs.shape[0], P_KEEP, rng))[1]


def _manual(rng, rescale):
    """The randomized estimator rebuilt from the library's building blocks; rescale=False drops the 1/p."""
    params, xs, ys, h0 = PROB
    T = xs.shape[0]
    xi = bptt.draw_xi(T, P_KEEP, rng)
    if not rescale:
        xi = xi * P_KEEP  # keep/drop with factor 1, not 1/p: biased towards short paths
    hs, logits = bptt.forward(params, xs, h0)
    dO = bptt.logits_grad(logits, ys)
    fprime = bptt.activation_grad("tanh")(hs[1:])
    dA = bptt.backward_full(dO @ params.V, fprime, params.W, xi)
    return bptt.param_grads(params, xs, hs, dA, dO)


def _samples(estimator, seed=2024):
    rng = np.random.default_rng(seed)
    return np.stack([estimator(rng).flat() for _ in range(N_DRAWS)])


def _entries(name):
    """The slice of RNNParams.flat() (U, W, V, b, c order) that holds parameter ``name``."""
    sizes = [a.size for a in PROB.params.arrays()]
    i = "UWVbc".index(name)
    return slice(sum(sizes[:i]), sum(sizes[:i + 1]))


def unbiasedness_violations(samples, target, z=Z):
    """Indices of entries where the sample mean is more than z standard errors from ``target``;
    entries that never vary across draws must equal ``target`` exactly."""
    constant = np.ptp(samples, axis=0) == 0
    bad_constant = np.flatnonzero(constant & (samples[0] != target))
    se = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    dev = np.abs(samples.mean(axis=0) - target)
    bad_varying = np.flatnonzero(~constant & (dev > z * se))
    return np.concatenate([bad_constant, bad_varying])


@pytest.fixture(scope="module")
def full_gradient():
    return bptt.loss_and_grads(*PROB)[1].flat()


@pytest.fixture(scope="module")
def randomized_samples():
    return _samples(_randomized)


def test_randomized_estimator_is_unbiased(randomized_samples, full_gradient):
    """The mean of 4000 randomized gradients is within 5 standard errors of the full gradient in every
    entry (seeded, so deterministic); V and c never vary and equal the full gradient exactly."""
    assert unbiasedness_violations(randomized_samples, full_gradient).size == 0
    for name in "Vc":
        assert np.ptp(randomized_samples[:, _entries(name)], axis=0).max() == 0.0


def test_randomized_draws_vary(randomized_samples):
    """The estimator is really random: every entry of W's gradient varies across draws."""
    assert np.all(randomized_samples[:, _entries("W")].std(axis=0) > 0)


def test_manual_rebuild_matches_library():
    """The hand-built estimator used for the power check is the library's estimator (same draws)."""
    for seed in range(5):
        lib = _randomized(np.random.default_rng(seed)).flat()
        manual = _manual(np.random.default_rng(seed), rescale=True).flat()
        np.testing.assert_allclose(manual, lib, rtol=1e-13, atol=1e-15)


def test_criterion_has_power_against_a_biased_estimator(full_gradient):
    """Without the 1/keep_prob rescaling the estimator is biased, and the same 5-SE criterion on the
    same number of draws rejects it: the unbiasedness test could not pass by accident."""
    biased = _samples(lambda rng: _manual(rng, rescale=False))
    assert unbiasedness_violations(biased, full_gradient).size > 0
