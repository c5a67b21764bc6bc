"""bptt.losses: weighted per-step losses, dL/do, the softmax Jacobian and weighted BPTT, checked against
float64 torch.autograd, finite differences and the library's own unweighted loss."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from bptt.present import check
from bptt.studies import losses, torch_ref
from rnn_reference import PARAM_NAMES, activations, assert_grads_close, problems, random_problem

torch.set_num_threads(1)


def _weights(rng: np.random.Generator, T: int, B: int, per_batch: bool) -> np.ndarray:
    w = rng.uniform(0.0, 2.0, (T, B) if per_batch else T)
    w[rng.random(w.shape) < 0.3] = 0.0   # some steps unscored
    return w


def _torch_weighted(prob, weights, activation="tanh"):
    """(L, dO, dH, grads) by autograd through the torch reference module for
    L = sum_t sum_b w[t, b] CE_{t, b} / B (eq-loss-weighted)."""
    params, xs, ys, h0 = prob
    T, B, _ = xs.shape
    w = torch.as_tensor(np.broadcast_to(weights if np.ndim(weights) == 2 else np.asarray(weights)[:, None], (T, B)).copy())
    model = torch_ref.TorchRNN.from_params(params, activation=activation)
    hs, logits = model.unroll(torch.as_tensor(xs), torch.as_tensor(h0))
    for h in hs[1:]:
        h.retain_grad()
    logits.retain_grad()
    ce = F.cross_entropy(logits.reshape(T * B, -1), torch.as_tensor(ys).reshape(-1), reduction="none")
    L = (w * ce.reshape(T, B)).sum() / B
    L.backward()
    dH = torch.stack([torch.zeros_like(h) if h.grad is None else h.grad for h in hs[1:]])
    return float(L.detach()), logits.grad.numpy(), dH.numpy(), model.grads()


# --------------------------------------------------------------------------- logits level
@given(st.integers(1, 6), st.integers(1, 4), st.integers(2, 6), st.booleans(), st.integers(0, 2**31 - 1))
@settings(max_examples=25)
def test_logit_grads_match_autograd(T, B, K, per_batch, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (T, B, K))
    ys = rng.integers(0, K, (T, B))
    w = _weights(rng, T, B, per_batch)
    L, dO = losses.weighted_loss_and_logit_grads(logits, ys, w)
    o = torch.tensor(logits, requires_grad=True)
    wt = torch.as_tensor(np.broadcast_to(w if w.ndim == 2 else w[:, None], (T, B)).copy())
    ce = F.cross_entropy(o.reshape(T * B, K), torch.as_tensor(ys).reshape(-1), reduction="none").reshape(T, B)
    Lt = (wt * ce).sum() / B
    Lt.backward()
    assert L == pytest.approx(float(Lt.detach()), rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(dO, o.grad.numpy(), rtol=1e-10, atol=1e-15)
    # an unscored step receives exactly zero gradient on its logits
    wb = np.broadcast_to(w if w.ndim == 2 else w[:, None], (T, B))
    assert np.all(dO[wb == 0] == 0.0)


def test_all_ones_weights_reproduce_library_loss():
    prob = random_problem(T=7, B=3, K=5, seed=3)
    _, logits = bptt.forward(prob.params, prob.xs, prob.h0)
    L, dO = losses.weighted_loss_and_logit_grads(logits, prob.ys, np.ones(7))
    np.testing.assert_allclose(L, bptt.step_losses(logits, prob.ys).sum(), rtol=1e-13)
    np.testing.assert_allclose(dO, bptt.logits_grad(logits, prob.ys), rtol=1e-13)


def test_logit_grad_rows_sum_to_zero_and_are_bounded():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 20, (5, 4, 6))
    ys = rng.integers(0, 6, (5, 4))
    _, dO = losses.weighted_loss_and_logit_grads(logits, ys, np.ones(5))
    np.testing.assert_allclose(dO.sum(-1), 0.0, atol=1e-15)
    assert np.all(np.linalg.norm(dO * 4, axis=-1) <= np.sqrt(2) + 1e-12)   # ||yhat - onehot|| <= sqrt 2


def test_softmax_jacobian_matches_autograd():
    rng = np.random.default_rng(1)
    for o in rng.normal(0, 2, (4, 5)):
        J = losses.softmax_jacobian(bptt.softmax(o))
        Jt = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, -1), torch.tensor(o)).numpy()
        np.testing.assert_allclose(J, Jt, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(J, J.T, atol=1e-16)
        np.testing.assert_allclose(J.sum(1), 0.0, atol=1e-15)
    batched = losses.softmax_jacobian(bptt.softmax(rng.normal(size=(2, 3, 4))))
    assert batched.shape == (2, 3, 4, 4)


def test_shift_invariance_and_naive_overflow():
    o = np.array([3.0, 2.0, 1.0])
    for m in (997.0, -1001.0, 1e5):
        np.testing.assert_allclose(bptt.log_softmax(o + m), bptt.log_softmax(o), atol=1e-12)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        assert np.all(np.isnan(losses.naive_softmax(o + 997.0)))
    np.testing.assert_allclose(losses.naive_softmax(o), bptt.softmax(o), rtol=1e-14)


# --------------------------------------------------------------------------- through the RNN
@given(problems(max_T=8), activations, st.booleans(), st.integers(0, 2**31 - 1))
@settings(max_examples=20)
def test_weighted_backward_matches_autograd(prob, activation, per_batch, seed):
    T, B, _ = prob.xs.shape
    w = _weights(np.random.default_rng(seed), T, B, per_batch)
    res = losses.weighted_backward(prob.params, prob.xs, prob.ys, w, prob.h0, activation=activation)
    L, dO, dH, grads = _torch_weighted(prob, w, activation)
    assert res["loss"] == pytest.approx(L, rel=1e-10, abs=1e-13)
    np.testing.assert_allclose(res["dO"], dO, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(res["dH"], dH, rtol=1e-8, atol=1e-12)
    assert_grads_close(res["grads"], grads)


def test_weighted_backward_finite_differences():
    prob = random_problem(T=5, B=2, D=3, H=4, K=3, seed=7)
    w = np.array([0.0, 1.0, 0.5, 0.0, 2.0])
    res = losses.weighted_backward(prob.params, prob.xs, prob.ys, w, prob.h0)
    eps = 1e-6
    for name in PARAM_NAMES:
        arr = getattr(prob.params, name)
        for idx in [(0,) * arr.ndim, tuple(s - 1 for s in arr.shape)]:
            bumped = []
            for sign in (1, -1):
                a = arr.copy()
                a[idx] += sign * eps
                p = bptt.RNNParams(**{n: (a if n == name else getattr(prob.params, n)) for n in PARAM_NAMES})
                bumped.append(losses.weighted_backward(p, prob.xs, prob.ys, w, prob.h0)["loss"])
            fd = (bumped[0] - bumped[1]) / (2 * eps)
            assert getattr(res["grads"], name)[idx] == pytest.approx(fd, rel=1e-5, abs=1e-8), (name, idx)


def test_mean_over_time_divides_every_gradient_by_T():
    prob = random_problem(T=6, seed=2)
    L, g = bptt.loss_and_grads(*prob)
    res = losses.weighted_backward(prob.params, prob.xs, prob.ys, np.full(6, 1 / 6), prob.h0)
    assert res["loss"] == pytest.approx(L / 6, rel=1e-12)
    assert_grads_close(res["grads"], g.map(lambda a: a / 6), rtol=1e-12)


def test_many_to_one_only_last_logits_but_all_states():
    prob = random_problem(T=6, B=2, seed=4)
    res = losses.weighted_backward(prob.params, prob.xs, prob.ys, losses.setting_weights("many-to-one", 6), prob.h0)
    assert np.all(res["dO"][:-1] == 0.0) and np.any(res["dO"][-1] != 0.0)
    assert np.all(np.linalg.norm(res["dH"], axis=(1, 2)) > 0)


def test_output_grads_need_no_history():
    prob = random_problem(T=6, B=3, seed=5)
    hs, logits = bptt.forward(prob.params, prob.xs, prob.h0)
    _, g = bptt.loss_and_grads(*prob)
    dV, dc = losses.output_grads(hs, bptt.logits_grad(logits, prob.ys))
    np.testing.assert_allclose(dV, g.V, rtol=1e-12)
    np.testing.assert_allclose(dc, g.c, rtol=1e-12)


# --------------------------------------------------------------------------- settings, helpers, model
def test_setting_weights_and_padding_mask():
    np.testing.assert_array_equal(losses.setting_weights("many-to-many", 4), [1, 1, 1, 1])
    np.testing.assert_array_equal(losses.setting_weights("many-to-one", 4), [0, 0, 0, 1])
    np.testing.assert_array_equal(losses.setting_weights("one-to-many", 3), [1, 1, 1])
    m = losses.padding_mask([3, 1, 2])
    np.testing.assert_array_equal(m, [[1, 1, 1], [1, 0, 1], [1, 0, 0]])
    assert losses.padding_mask([2], T=4).shape == (4, 1)
    xs = losses.one_to_many_inputs(np.ones((2, 3)), 4)
    assert xs.shape == (4, 2, 3) and xs[0].sum() == 6 and not xs[1:].any()


def test_cycle_model_predicts_next_symbol():
    xs, ys = losses.cycle_sequence(4, 9, start=1)
    np.testing.assert_array_equal(xs[:, 0].argmax(-1), (1 + np.arange(9)) % 4)
    np.testing.assert_array_equal(ys[:, 0], (2 + np.arange(9)) % 4)
    model = losses.cycle_rnn(4)
    _, logits = bptt.forward(model, xs)
    np.testing.assert_array_equal(logits.argmax(-1), ys)
    assert np.all(bptt.step_losses(logits, ys) < 0.1)
    # one-to-many: a strong memory keeps predicting the cycle, a weak one fades towards log K
    x1 = losses.one_to_many_inputs(xs[0], 9)
    strong = bptt.step_losses(bptt.forward(losses.cycle_rnn(4, memory=2.0), x1)[1], ys)
    weak = bptt.step_losses(bptt.forward(losses.cycle_rnn(4, memory=0.5), x1)[1], ys)
    assert np.all(strong < 0.1) and weak[-1] > 0.95 * np.log(4)


@pytest.mark.parametrize("call, match", [
    (lambda: losses.weighted_loss_and_logit_grads(np.zeros((2, 1, 3)), np.zeros((2, 1), int), np.ones(3)), "weights must have shape"),
    (lambda: losses.weighted_loss_and_logit_grads(np.zeros((2, 1, 3)), np.zeros((2, 1), int), -np.ones(2)), ">= 0"),
    (lambda: losses.weighted_loss_and_logit_grads(np.zeros((2, 3)), np.zeros((2, 1), int), np.ones(2)), "3 dimensions"),
    (lambda: losses.weighted_loss_and_logit_grads(np.zeros((2, 1, 3)), np.full((2, 1), 3), np.ones(2)), r"\[0, K\)"),
    (lambda: losses.weighted_loss_and_logit_grads(np.zeros((2, 1, 3)), np.zeros((2, 1), int), [np.nan, 1.0]), "NaN"),
    (lambda: losses.setting_weights("two-to-two", 3), "setting must be one of"),
    (lambda: losses.setting_weights("many-to-one", 0), "T must be an integer >= 1"),
    (lambda: losses.padding_mask([3, 0]), ">= 1"),
    (lambda: losses.padding_mask([3, 5], T=4), "<= T"),
    (lambda: losses.softmax_jacobian(0.5), "scalar"),
    (lambda: losses.output_grads(np.zeros((3, 1, 2)), np.zeros((3, 1, 2))), r"\(T\+1, B, H\)"),
    (lambda: losses.cycle_rnn(1), "K must be >= 2"),
])
def test_bad_inputs_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_exercise_checkers():
    assert check("loss-1", np.array([0.5, 0.3, -0.8]))
    assert not check("loss-1", np.array([0.5, 0.3, 0.2]))
    assert check("loss-2", 20 * np.log(5))
    assert not check("loss-2", np.log(5))
    assert check("loss-3", np.arange(6) == 5)
    assert not check("loss-3", np.ones(6, bool))
    assert not check("loss-3", [5])
    assert check("loss-4", losses.padding_mask([5, 3, 4]))
    assert not check("loss-4", np.ones((5, 3)))
