"""bptt.studies.vanishing: the Jacobian-product bound, matrix scaling, the cliff model's hand-written BPTT (against
float64 torch.autograd and finite differences), clipping directions and the exercise checkers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from bptt.present import check
from bptt.studies import vanishing
from rnn_reference import activations, problems, random_problem, seeds


# --------------------------------------------------------------------------- scaling W
@settings(max_examples=25)
@given(seed=seeds, H=st.integers(1, 12), target=st.floats(0.05, 5.0))
def test_scaling_hits_the_requested_size(seed, H, target):
    W = np.random.default_rng(seed).normal(size=(H, H))
    assert bptt.spectral_radius(bptt.scale_to_spectral_radius(W, target)) == pytest.approx(target, rel=1e-9)
    assert bptt.top_singular_value(bptt.scale_to_top_singular_value(W, target)) == pytest.approx(target, rel=1e-9)


def test_radius_never_exceeds_top_singular_value_and_power_rates_tend_to_radius():
    W = np.random.default_rng(3).normal(0, 1 / np.sqrt(20), (20, 20))
    rho, smax = bptt.spectral_radius(W), bptt.top_singular_value(W)
    assert rho <= smax
    rates = vanishing.power_norm_rates(W, 400)
    assert rates[0] == pytest.approx(smax, rel=1e-12)
    assert rates[-1] == pytest.approx(rho, rel=0.02)
    for n in (1, 2, 7):   # against explicit matrix powers
        assert rates[n - 1] == pytest.approx(np.linalg.norm(np.linalg.matrix_power(W, n), 2) ** (1 / n), rel=1e-10)
    nilpotent = np.array([[0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(vanishing.power_norm_rates(nilpotent, 3), [1.0, 0.0, 0.0])


@pytest.mark.parametrize("call", [
    lambda: bptt.scale_to_spectral_radius(np.ones((2, 3)), 1.0),
    lambda: bptt.scale_to_spectral_radius(np.zeros((3, 3)), 1.0),
    lambda: bptt.scale_to_top_singular_value(np.eye(3), -1.0),
    lambda: bptt.scale_to_top_singular_value(np.eye(3), float("nan")),
    lambda: vanishing.lag_bound([[0, 1]], 1.0, 1.0),
    lambda: vanishing.lag_bound([-1, 0], 1.0, 1.0),
    lambda: vanishing.profile_bound(np.zeros((3,)), 1.0, 1.0),
    lambda: vanishing.derivative_bound("softplus"),
    lambda: bptt.cosine([1.0, 0.0], [0.0, 0.0]),
    lambda: bptt.cosine([1.0, 0.0], [1.0, 0.0, 0.0]),
    lambda: bptt.clip_elementwise([1.0, 2.0], 0.0),
    lambda: bptt.clip_grad_norm([1.0, 2.0], -1.0),
    lambda: bptt.clip_grad_norm("g", 1.0),
    lambda: bptt.cosine([0.0, 0.0], [1.0, 0.0]),
    lambda: vanishing.cliff_loss_and_grad(1.0, np.inf),
    lambda: vanishing.per_step_factor(np.ones((1, 1))),
])
def test_bad_inputs_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


# --------------------------------------------------------------------------- the bound
@settings(max_examples=30)
@given(prob=problems(max_T=10), activation=activations, scale=st.floats(0.1, 4.0))
def test_jacobian_products_obey_the_bound(prob, activation, scale):
    """eq-van-bound: ||dh_t/dh_k||_2 <= (gamma sigma_max)^(t-k) at every pair, for every activation."""
    p = prob.params.with_W(prob.params.W * scale)
    hs, _ = bptt.forward(p, prob.xs, prob.h0, activation=activation)
    J = bptt.jacobian_product_norms(p, hs, activation=activation)
    t, k = np.tril_indices(J.shape[0])
    bound = vanishing.lag_bound(t - k, bptt.top_singular_value(p.W), vanishing.derivative_bound(activation))
    assert np.all(J[t, k] <= bound * (1 + 1e-9) + 1e-300)


@settings(max_examples=30)
@given(prob=problems(max_T=10), activation=activations, scale=st.floats(0.1, 4.0))
def test_loss_gradients_obey_the_profile_bound(prob, activation, scale):
    """eq-van-loss-bound entry by entry, and hence for the lag profile (profile_bound)."""
    p = prob.params.with_W(prob.params.W * scale)
    G = bptt.gradient_norms(p, prob.xs, prob.ys, prob.h0, activation=activation)
    if np.any(np.diagonal(G) <= 0):
        return
    rate = vanishing.derivative_bound(activation) * bptt.top_singular_value(p.W)
    t, k = np.tril_indices(G.shape[0])
    assert np.all(G[t, k] <= np.diagonal(G)[t] * rate ** (t - k) * (1 + 1e-9) + 1e-300)
    _, prof = bptt.lag_profile(G)
    keep = prof > 0
    assert np.all(prof[keep] <= vanishing.profile_bound(G, rate / vanishing.derivative_bound(activation),
                                                        vanishing.derivative_bound(activation))[keep] * (1 + 1e-9))


def test_bound_is_attained_by_relu_with_w_equal_2i():
    """The numpy note's W = 2I with positive inputs: every ReLU slope is 1 and ||dh_t/dh_k|| = 2^(t-k) exactly."""
    H, T = 3, 10
    p = bptt.RNNParams(U=np.eye(H), W=2 * np.eye(H), V=np.eye(H), b=np.zeros(H), c=np.zeros(H))
    hs, _ = bptt.forward(p, np.ones((T, 1, H)), activation="relu")
    J = bptt.jacobian_product_norms(p, hs, activation="relu")
    t, k = np.tril_indices(T)
    np.testing.assert_allclose(J[t, k], vanishing.lag_bound(t - k, 2.0, 1.0), rtol=1e-14)


def test_profile_bound_is_the_geometric_mean_of_the_diagonal_tail():
    G = np.tril(np.random.default_rng(0).uniform(0.1, 2.0, (6, 6)))
    bound = vanishing.profile_bound(G, 1.5, 0.5)
    for lag in range(6):
        tail = np.diagonal(G)[lag:]
        assert bound[lag] == pytest.approx(np.exp(np.mean(np.log(tail))) * 0.75 ** lag, rel=1e-12)


def test_profile_bound_averages_over_the_same_steps_as_the_profile():
    """Rows that send no gradient (zeros) leave the bound above the profile (the JS engine's lagBound too)."""
    rng = np.random.default_rng(1)
    for _ in range(20):
        T, rate = int(rng.integers(2, 12)), float(rng.uniform(0.3, 2.0))
        lags = np.subtract.outer(np.arange(T), np.arange(T))
        G = np.where(lags >= 0, rng.uniform(0.5, 2.0, (T, 1)) * rate ** lags.clip(0)
                     * rng.uniform(0.0, 1.0, (T, T)) ** (lags > 0), 0.0)
        G[rng.uniform(size=T) < 0.3] = 0.0                      # silent loss terms
        G[(rng.uniform(size=(T, T)) < 0.1) & (lags > 0)] = 0.0  # blocked entries
        _, prof = bptt.lag_profile(G)
        assert np.all(prof <= vanishing.profile_bound(G, rate, 1.0) * (1 + 1e-12))


def test_flow_map_and_per_step_factor():
    params, xs, ys = vanishing.flow_problem(steps=12, batch=2)
    G, W = vanishing.flow_map(params, xs, ys, radius=0.5, activation="tanh", steps=10)
    assert G.shape == (10, 10) and bptt.spectral_radius(W) == pytest.approx(0.5)
    assert 0 < vanishing.per_step_factor(G) < 1
    G2, W2 = vanishing.flow_map(params, xs, ys, radius=2.0, activation="relu", kind="singular")
    assert bptt.top_singular_value(W2) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        vanishing.flow_map(params, xs, ys, radius=1.0, steps=13)


# --------------------------------------------------------------------------- the cliff model
def _torch_cliff(w, b, steps=15, h0=0.5, target=0.7):
    w = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    h = torch.tensor(h0, dtype=torch.float64)
    for _ in range(steps):
        h = w * torch.sigmoid(h) + b
    loss = (h - target) ** 2
    loss.backward()
    return loss.item(), w.grad.item(), b.grad.item()


@pytest.mark.parametrize("w,b,steps", [(6.0, -2.0, 15), (6.0, -3.2386, 15), (2.5, -1.0, 5), (8.0, -4.47, 20),
                                       (-3.0, 1.0, 1)])
def test_cliff_gradient_matches_torch_autograd(w, b, steps):
    got = [float(x) for x in vanishing.cliff_loss_and_grad(w, b, steps=steps)]
    np.testing.assert_allclose(got, _torch_cliff(w, b, steps), rtol=1e-10)


def test_cliff_gradient_matches_finite_differences_on_a_grid():
    ws, bs = np.meshgrid(np.linspace(2, 8, 7), np.linspace(-4, 0, 5))
    L, dw, db = vanishing.cliff_loss_and_grad(ws, bs, steps=8)
    eps = 1e-6
    fd_w = (vanishing.cliff_loss_and_grad(ws + eps, bs, steps=8)[0] - vanishing.cliff_loss_and_grad(ws - eps, bs, steps=8)[0]) / (2 * eps)
    fd_b = (vanishing.cliff_loss_and_grad(ws, bs + eps, steps=8)[0] - vanishing.cliff_loss_and_grad(ws, bs - eps, steps=8)[0]) / (2 * eps)
    np.testing.assert_allclose(dw, fd_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(db, fd_b, rtol=1e-5, atol=1e-6)


def test_cliff_has_a_wall_with_a_huge_gradient():
    b = np.linspace(-3.6, -2.9, 7001)
    L, dw, db = vanishing.cliff_loss_and_grad(6.0, b)
    g = np.hypot(dw, db)
    assert g.max() > 100 * max(g[0], g[-1])
    assert L[0] - L[-1] > 5


def descend(start, lr, n_steps, clip, threshold=5.0):
    """Gradient descent on the cliff loss from (w, b), each step clipped by the library's rule ``clip``."""
    theta, path, losses = np.asarray(start, dtype=float), [np.asarray(start, dtype=float)], []
    for i in range(n_steps + 1):
        loss, dw, db = vanishing.cliff_loss_and_grad(theta[0], theta[1])
        losses.append(float(loss))
        if i < n_steps:
            g = np.array([float(dw), float(db)])
            g = bptt.clip_grad_norm(g, threshold, eps=0)[0] if clip == "norm" else bptt.clip_elementwise(g, threshold)
            theta = theta - lr * g
            path.append(theta)
    return np.array(path), np.array(losses)


def test_descend_with_clipping_bounds_every_step():
    for clip, limit in [("norm", 5.0), ("element", 5.0 * np.sqrt(2))]:
        path, losses = descend((6.0, -3.2386), 0.1, 20, clip=clip, threshold=5.0)
        assert path.shape == (21, 2) and losses.shape == (21,)
        assert np.all(np.linalg.norm(np.diff(path, axis=0), axis=1) <= 0.1 * limit * (1 + 1e-12))


# --------------------------------------------------------------------------- clipping and direction
@settings(max_examples=40)
@given(seed=seeds, scale=st.floats(0.01, 100.0))
def test_norm_clipping_keeps_direction_and_element_clipping_may_not(seed, scale):
    g = np.random.default_rng(seed).normal(0, scale, 9)
    by_norm, total = bptt.clip_grad_norm(g, 1.0, eps=0)
    assert total == pytest.approx(np.linalg.norm(g))
    assert np.linalg.norm(by_norm) <= 1.0 + 1e-12
    assert bptt.cosine(by_norm, g) == pytest.approx(1.0, abs=1e-12)
    by_elem = bptt.clip_elementwise(g, 1.0)
    assert np.all(np.abs(by_elem) <= 1.0)
    c = bptt.cosine(by_elem, g)
    assert 0 < c <= 1 + 1e-12                     # still a descent direction
    if np.all(np.abs(g) <= 1.0):
        assert c == pytest.approx(1.0)
    magnitudes = np.abs(g)[np.abs(g) > 1.0]
    if magnitudes.size and np.any(np.abs(g) < magnitudes.min() * 0.999):
        assert c < 1.0


def test_clipping_a_flat_vector_is_clipping_the_params():
    """One rule each: clipping RNNParams equals clipping their flat vector; the cosine reads both."""
    grads = random_problem(seed=4).params.map(lambda a: 30 * a)
    for eps in (0.0, 1e-6):
        by_norm, total = bptt.clip_grad_norm(grads, 2.0, eps=eps)
        flat, total_flat = bptt.clip_grad_norm(grads.flat(), 2.0, eps=eps)
        np.testing.assert_allclose(by_norm.flat(), flat, rtol=1e-13)
        assert total == pytest.approx(total_flat, rel=1e-13)
    np.testing.assert_array_equal(bptt.clip_elementwise(grads.flat(), 5.0), bptt.clip_elementwise(grads, 5.0).flat())
    assert bptt.cosine(bptt.clip_grad_norm(grads, 2.0)[0], grads) == pytest.approx(1.0, abs=1e-12)
    assert np.linalg.norm(bptt.clip_grad_norm(grads, 2.0, eps=0)[0].flat()) == pytest.approx(2.0, rel=1e-13)


# --------------------------------------------------------------------------- exercises
def test_exercise_checkers_accept_the_solution_and_reject_a_wrong_answer():
    W = vanishing.exercise_matrix()
    g = vanishing.EXERCISE_GRADIENT
    clipped = np.clip(g, -5, 5)
    solutions = {
        "vanishing-1": 4.0,
        "vanishing-2": (0.25 * np.linalg.norm(W, 2)) ** 20,
        "vanishing-3": clipped @ g / (np.linalg.norm(clipped) * np.linalg.norm(g)),
    }
    for name, value in solutions.items():
        assert check(name, value), name
        assert not check(name, value * 1.1), name
        assert not check(name, None), name
    assert not check("vanishing-2", (np.linalg.norm(W, 2)) ** 20)   # forgot gamma
