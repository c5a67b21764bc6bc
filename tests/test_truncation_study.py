"""truncation_study: pair contributions against float64 torch.autograd, every strategy as a weighted sum of
pairs, vectorised draws against the library's sequential ones, the exact variance against enumeration of
every draw, cost counts, error measures and the chapter's exercise checkers."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from bptt.present import check
from bptt.studies import truncation_study as ts
from rnn_reference import activations, problems, random_problem, torch_loss_and_grads


# --------------------------------------------------------------------------- pair contributions
@settings(max_examples=15)
@given(prob=problems(max_T=9), activation=activations)
def test_pairs_sum_to_the_torch_gradient(prob, activation):
    """Summing C[t, k] over all pairs gives float64 autograd's dL/dW, dL/dU and dL/db (eq-trunc-pairs)."""
    _, ref = torch_loss_and_grads(*prob, activation=activation)
    for name in "WUb":
        C = getattr(bptt.copy_contributions(*prob, activation=activation), name)
        T = prob.xs.shape[0]
        assert C.shape == (T, T) + getattr(ref, name).shape
        np.testing.assert_allclose(C.sum(axis=(0, 1)), getattr(ref, name), rtol=1e-9, atol=1e-12)


def test_pairs_above_the_diagonal_are_zero():
    """L_t does not depend on steps after t: C[t, k] = 0 for k > t, and the diagonal is not zero."""
    C = bptt.copy_contributions(*random_problem(T=7, seed=3)).W
    upper = np.triu(np.ones((7, 7), bool), 1)
    assert np.all(C[upper] == 0.0)
    assert np.all(np.abs(C[~upper]).sum(axis=(1, 2)) > 0)


@pytest.mark.parametrize("kw", [{"window": 1}, {"window": 3}, {"detach_every": 2}, {"detach_every": 4},
                                {"window": 3, "detach_every": 2}])
def test_every_deterministic_strategy_is_a_weighted_sum_of_pairs(kw):
    """combine(C, path_weights(...)) is the gradient torch computes with windows / h.detach() (eq-trunc-strategy)."""
    prob = random_problem(T=9, seed=5, weight_scale=1.5)
    _, ref = torch_loss_and_grads(*prob, **kw)
    for name in "WUb":
        C = getattr(bptt.copy_contributions(*prob), name)
        got = ts.combine(C, bptt.path_weights(9, **kw))
        np.testing.assert_allclose(got, getattr(ref, name), rtol=1e-9, atol=1e-12)


def test_randomized_is_a_weighted_sum_of_pairs():
    """For the same draws, the library's randomized gradient equals the pairs weighted by prod xi_j."""
    prob = random_problem(T=10, seed=6)
    C = bptt.copy_contributions(*prob).W
    for seed in range(4):
        xi = bptt.draw_xi(10, 0.5, np.random.default_rng(seed))
        lib = bptt.loss_and_grads(*prob, xi=xi)[1]
        np.testing.assert_allclose(ts.combine(C, bptt.path_weights(10, xi=xi)), lib.W, rtol=1e-10, atol=1e-13)


# --------------------------------------------------------------------------- vectorised draws
@settings(max_examples=20)
@given(T=st.integers(1, 12), keep_prob=st.floats(0.05, 1.0), n=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_randomized_weights_match_sequential_draws(T, keep_prob, n, seed):
    """N draws at once = N consecutive draw_xi calls on the same generator, and P = path_weights(xi)."""
    xi, P = ts.randomized_weights(T, keep_prob, n, rng=np.random.default_rng(seed))
    rng = np.random.default_rng(seed)
    for i in range(n):
        x = bptt.draw_xi(T, keep_prob, rng)
        np.testing.assert_array_equal(xi[i], x)
        np.testing.assert_allclose(P[i], bptt.path_weights(T, xi=x), rtol=1e-13, atol=0)


def test_combine_is_vectorised_over_draws():
    C = bptt.copy_contributions(*random_problem(T=6, seed=1)).W
    _, P = ts.randomized_weights(6, 0.7, 5, rng=0)
    batch = ts.combine(C, P)
    assert batch.shape == (5,) + C.shape[2:]
    for i in range(5):
        np.testing.assert_allclose(batch[i], ts.combine(C, P[i]), rtol=1e-13, atol=1e-15)


# --------------------------------------------------------------------------- exact variance
@pytest.mark.parametrize("keep_prob", [0.3, 0.5, 0.8])
def test_randomized_variance_equals_enumeration_of_all_draws(keep_prob):
    """E||g_xi - g||^2 from the covariance formula (eq-trunc-variance) equals the exact average over all
    2^(T-1) keep/cut patterns, weighted by their probabilities; and the mean over them is g (unbiased)."""
    T = 5
    C = bptt.copy_contributions(*random_problem(T=T, seed=4, weight_scale=1.3)).W
    full = C.sum(axis=(0, 1))
    mean, second = np.zeros_like(full), 0.0
    for kept in itertools.product([0, 1], repeat=T - 1):
        kept = np.array(kept)
        p = np.prod(np.where(kept == 1, keep_prob, 1 - keep_prob))
        xi = np.concatenate([[1.0], kept / keep_prob])
        g = ts.combine(C, bptt.path_weights(T, xi=xi))
        mean += p * g
        second += p * np.sum((g - full) ** 2)
    np.testing.assert_allclose(mean, full, rtol=1e-12, atol=1e-14)
    assert ts.randomized_variance(C, keep_prob) == pytest.approx(second, rel=1e-10)


def test_randomized_variance_is_zero_when_nothing_is_cut():
    C = bptt.copy_contributions(*random_problem(T=6, seed=2)).W
    assert ts.randomized_variance(C, 1.0) == 0.0


def test_running_mean_errors_match_direct_means():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(3, 4))
    samples = ref + rng.normal(size=(50, 3, 4))
    ns = np.array([1, 7, 50])
    want = [np.linalg.norm(samples[:n].mean(0) - ref) / np.linalg.norm(ref) for n in ns]
    np.testing.assert_allclose(ts.running_mean_errors(samples, ref, ns), want, rtol=1e-12)


# --------------------------------------------------------------------------- costs and reach
@pytest.mark.parametrize("T", [1, 5, 12])
def test_backward_products_count_the_pairs_a_window_visits(T):
    """Sum_t min(tau, t+1) = number of (t, k) pairs inside the window = the closed form of eq-trunc-cost."""
    taus = np.arange(1, T + 3)
    counts = ts.backward_products(T, taus)
    for tau, n in zip(taus, counts):
        assert n == int((bptt.path_weights(T, window=int(tau)) != 0).sum())
        assert n == sum(min(int(tau), t + 1) for t in range(T))
    assert ts.backward_products(T) == T


def test_peak_states():
    T = 10
    assert ts.peak_states(T) == T
    assert ts.peak_states(T, window=4) == 4
    assert ts.peak_states(T, detach_every=3) == 3
    assert ts.peak_states(T, detach_every=20) == T
    xi = np.array([1, 2, 0, 2, 2, 2, 0, 0, 2, 2.0])   # segments: steps 0-1, 2-5, 6, 7-9
    assert ts.peak_states(T, xi=xi) == 4


def test_lookback_steps_window_versus_detach():
    """Window: every term sees tau steps (once t >= tau-1); detach: back to its chunk start only."""
    assert ts.lookback_steps(7, 12, window=4).tolist() == [4, 5, 6, 7]
    assert ts.lookback_steps(9, 12, window=4).tolist() == [6, 7, 8, 9]
    assert ts.lookback_steps(9, 12, detach_every=4).tolist() == [8, 9]
    assert ts.lookback_steps(2, 12).tolist() == [0, 1, 2]


# --------------------------------------------------------------------------- error measures
def test_relative_error_and_cosine():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(4, 4))
    g = rng.normal(size=(6, 4, 4))
    rel, cos = bptt.relative_error(g, ref), bptt.cosine(g, ref)
    assert rel.shape == cos.shape == (6,)
    for i in range(6):
        assert rel[i] == pytest.approx(np.linalg.norm(g[i] - ref) / np.linalg.norm(ref))
        assert cos[i] == pytest.approx(np.sum(g[i] * ref) / np.linalg.norm(g[i]) / np.linalg.norm(ref))
    assert bptt.relative_error(ref, ref) == 0.0
    assert bptt.cosine(3.0 * ref, ref) == pytest.approx(1.0)
    assert bptt.cosine(-ref, ref) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="zero"):     # one rule: a zero vector has no direction
        bptt.cosine(np.zeros_like(ref), ref)
    with pytest.raises(ValueError, match="zero"):
        bptt.cosine(ref, np.zeros_like(ref))


def test_long_memory_problem_has_long_memory():
    """Every eigenvalue of W has the requested modulus, and a 10-step window misses a sizeable part."""
    prob = ts.long_memory_problem()
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(prob.params.W)), 0.9, rtol=1e-10)
    C = bptt.copy_contributions(*prob).W
    full = C.sum(axis=(0, 1))
    assert bptt.relative_error(ts.combine(C, bptt.path_weights(48, window=10)), full) > 0.2


# --------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("call", [
    lambda: ts.combine(np.zeros((3, 3, 2)), np.zeros((4, 4))),
    lambda: ts.combine(np.zeros((3, 2, 2)), np.zeros((3, 3))),
    lambda: ts.randomized_weights(5, 0.0, 3),
    lambda: ts.randomized_weights(5, 0.5, 0),
    lambda: bptt.relative_error(np.ones(3), np.zeros(3)),
    lambda: bptt.relative_error(np.ones(4), np.ones(3)),
    lambda: bptt.cosine(np.ones((2, 4)), np.ones(3)),
    lambda: ts.backward_products(5, 0),
    lambda: ts.backward_products(5, 2.5),
    lambda: ts.lookback_steps(5, 5),
    lambda: ts.running_mean_errors(np.ones((3, 2)), np.ones(2), np.array([4])),
    lambda: ts.long_memory_problem(radius=-1.0),
    lambda: ts.randomized_variance(np.zeros((3, 3, 2)), 1.5),
])
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------- exercise checkers
def test_exercise_checkers_accept_solutions_and_reject_mistakes():
    assert check("trunc-1", [5, 6, 7]) and check("trunc-1", np.array([7, 6, 5]))
    assert not check("trunc-1", [4.9, 5.5, 6.1, 7.99])     # floats are not step numbers
    assert not check("trunc-1", [5.0, 6.0, 7.0])
    assert not check("trunc-1", [4, 5, 6])                 # the 0-based answer
    assert not check("trunc-1", [5, 5, 6, 7])
    assert not check("trunc-1", list(range(1, 8)))         # the full-BPTT answer
    assert check("trunc-2", (1.0, 63.0))
    assert not check("trunc-2", (1.0, 4.0 ** 3))           # E[P^2] instead of the variance
    assert not check("trunc-2", (0.25 ** 3, 0.0))
    # the expected weight 0.6^(t-k) is a carry factor of 0.6 on every hop: one sweep with that multiplier
    prob = ts.long_memory_problem()
    p = bptt.prepare(*prob)
    T = len(p.dH)
    damped = bptt.param_grads(prob.params, p.xs, p.hs, bptt.backward_full(p.dH, p.fprime, prob.params.W,
                                                                          np.full(T, 0.6)), p.dO).W
    full = bptt.loss_and_grads(*prob)[1].W
    answer = float(np.linalg.norm(damped - full) / np.linalg.norm(full))
    assert check("trunc-3", answer)
    assert not check("trunc-3", 0.0)                        # "unbiased" is the wrong answer here
    assert not check("trunc-1", None)
