"""Tests for bptt.cost: the two methods of the linear example against float64 torch.autograd, the
instrumented counts, the library step-rule counter, checkpointing against plain BPTT, fits and checkers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import bptt
from bptt.present import check, figures
from bptt.studies import cost


def torch_linear_grads(prob: cost.LinearProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dL/dW, dL/dU, dL/dh0 of L = sum_t 1/2 ||h_t||^2, h_t = W h_{t-1} + U x_t, by float64 autograd."""
    W = torch.tensor(prob.W, dtype=torch.float64, requires_grad=True)
    U = torch.tensor(prob.U, dtype=torch.float64, requires_grad=True)
    h = torch.tensor(prob.h0, dtype=torch.float64, requires_grad=True)
    h0 = h
    L = torch.zeros((), dtype=torch.float64)
    for x in torch.tensor(prob.xs, dtype=torch.float64):
        h = h @ W.T + x @ U.T
        L = L + 0.5 * (h * h).sum()
    L.backward()
    return W.grad.numpy(), U.grad.numpy(), h0.grad.numpy()


@given(T=st.integers(1, 12), B=st.integers(1, 3), D=st.integers(1, 3), H=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_both_methods_match_torch(T: int, B: int, D: int, H: int, seed: int) -> None:
    prob = cost.linear_problem(T, B=B, D=D, H=H, seed=seed)
    ref = torch_linear_grads(prob)
    for grads in (cost.method1(prob)[0], cost.method1(prob, per_parameter=True)[0], cost.method2(prob)[0]):
        for mine, theirs in zip(grads[:3], ref):
            np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)


def test_linear_forward_and_loss() -> None:
    prob = cost.linear_problem(7, B=2, D=3, H=4, seed=1)
    hs = cost.linear_forward(prob)
    assert hs.shape == (8, 2, 4)
    np.testing.assert_array_equal(hs[0], prob.h0)
    np.testing.assert_allclose(hs[3], hs[2] @ prob.W.T + prob.xs[2] @ prob.U.T, atol=1e-14)


def test_method2_deltas_are_total_gradients_of_each_state() -> None:
    """The stored quantity dL/dh_k equals the sum over t >= k of the separate terms dl_t/dh_k (all paths)."""
    prob = cost.linear_problem(6, B=2, H=3, seed=2)
    hs = cost.linear_forward(prob)
    deltas = cost.method2(prob)[0].deltas
    T = len(prob.xs)
    for k in range(1, T + 1):
        paths = [hs[t] @ np.linalg.matrix_power(prob.W, t - k) for t in range(k, T + 1)]
        np.testing.assert_allclose(deltas[k - 1], np.sum(paths, axis=0), rtol=1e-12, atol=1e-12)
    assert cost.method1(prob)[0].deltas is None


@pytest.mark.parametrize("T", [1, 2, 5, 10, 33])
def test_instrumented_counts(T: int) -> None:
    prob = cost.linear_problem(T, seed=T)
    _, j1 = cost.method1(prob)
    _, j2 = cost.method2(prob)
    assert j1.calls == T * (T + 1) // 2 == len(j1.visits)
    assert j2.calls == T == len(j2.visits)
    assert cost.method1(prob, per_parameter=True)[1].calls == T * (T + 1)
    # method 1 visits every (t, k) with k <= t exactly once, one term at a time
    assert sorted((t, k) for t, t2, k in j1.visits if t == t2) == [(t, k) for t in range(1, T + 1)
                                                                     for k in range(1, t + 1)]
    # method 2 crosses each step once, from T down to 1, carrying the terms k..T
    assert j2.visits == [(k, T, k) for k in range(T, 0, -1)]
    assert cost.count_products(T, "method1") == j1.calls and cost.count_products(T, "method2") == T


@pytest.mark.parametrize("T", [1, 4, 9])
def test_counting_the_library_step_rule(T: int) -> None:
    """The on_step hook sees every application of the one step rule: T(T+1)/2 for naive, T for bptt."""
    params, xs, ys = cost.rnn_problem(T, B=2, D=3, H=4, K=3)
    naive, full, ckpt = bptt.StepCounter(), bptt.StepCounter(), bptt.StepCounter()
    _, g_naive = bptt.loss_and_grads(params, xs, ys, method="naive", on_step=naive)
    _, g_full = bptt.loss_and_grads(params, xs, ys, method="bptt", on_step=full)
    _, g_ckpt = bptt.loss_and_grads_checkpointed(params, xs, ys, on_step=ckpt)
    assert naive.calls == T * (T + 1) // 2 and full.calls == T and ckpt.calls == T
    np.testing.assert_allclose(g_naive.flat(), g_full.flat(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g_ckpt.flat(), g_full.flat(), rtol=1e-10, atol=1e-12)


def test_hooks_see_steps_in_reverse_order_with_the_total_state_gradient() -> None:
    params, xs, ys = cost.rnn_problem(5, B=2, D=3, H=4, K=3)
    seen = []
    bptt.loss_and_grads(params, xs, ys, on_step=lambda s, dh, da: seen.append((s, dh, da)))
    assert [s for s, _, _ in seen] == [4, 3, 2, 1, 0]
    p = bptt.prepare(params, xs, ys)
    total = bptt.state_grads(p.dH, p.fprime, params.W)
    for s, dh, da in seen:
        np.testing.assert_allclose(dh, total[s], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(da, total[s] * p.fprime[s], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kw", [{}, {"window": 2}, {"method": "naive"}, {"detach_every": 2, "xi": [1, 2, 0, 2, 2, 0]},
                                {"checkpointed": 2}])
def test_hook_arrays_stay_valid_after_the_hook_returns(kw) -> None:
    """The arrays a hook receives are its own: nothing the loop (or a later call) does overwrites them."""
    kw = dict(kw)
    params, xs, ys = cost.rnn_problem(6, B=2, D=3, H=4, K=3)
    kept = []

    def hook(s, dh, da):
        kept.append((dh, da, dh.copy(), da.copy()))

    segment = kw.pop("checkpointed", None)
    if segment:
        bptt.loss_and_grads_checkpointed(params, xs, ys, segment=segment, on_step=hook)
    else:
        bptt.loss_and_grads(params, xs, ys, on_step=hook, **kw)
    bptt.loss_and_grads(params, xs * 2, ys)          # a later call reuses the library's scratch buffers
    bptt.loss_and_grads(params, xs * 3, ys, on_step=lambda s, dh, da: None, **({} if segment else kw))
    assert kept
    for dh, da, dh_then, da_then in kept:
        np.testing.assert_array_equal(dh, dh_then)
        np.testing.assert_array_equal(da, da_then)


@given(T=st.integers(1, 30), segment=st.one_of(st.none(), st.integers(1, 12)), seed=st.integers(0, 999),
       activation=st.sampled_from(["tanh", "sigmoid", "identity"]))
def test_checkpointing_matches_bptt(T: int, segment: int | None, seed: int, activation: str) -> None:
    params, xs, ys = cost.rnn_problem(T, B=2, D=3, H=4, K=3, seed=seed)
    h0 = np.random.default_rng(seed).normal(size=(2, 4))
    L, g = bptt.loss_and_grads(params, xs, ys, h0, activation=activation)
    Lc, gc = bptt.loss_and_grads_checkpointed(params, xs, ys, h0, activation=activation, segment=segment)
    assert Lc == pytest.approx(L, rel=1e-12)
    np.testing.assert_allclose(gc.flat(), g.flat(), rtol=1e-10, atol=1e-12)


def test_checkpointing_uses_less_memory() -> None:
    params, xs, ys = cost.rnn_problem(400, B=8, H=32)
    full = cost.peak_bytes(lambda: bptt.loss_and_grads(params, xs, ys))
    ckpt = cost.peak_bytes(lambda: bptt.loss_and_grads_checkpointed(params, xs, ys))
    assert ckpt < full / 3


def test_memory_grows_linearly_for_bptt() -> None:
    m = cost.memory_sweep([100, 200, 400], methods=("bptt",), B=8, H=32)
    slope, _ = cost.fit_loglog(m["T"], m["bptt"])
    assert 0.85 < slope < 1.1


def test_fit_loglog_recovers_power_law() -> None:
    x = np.array([2.0, 4, 8, 16, 32])
    p, c = cost.fit_loglog(x, 3.0 * x ** 1.7)
    assert p == pytest.approx(1.7) and c == pytest.approx(3.0)


@pytest.mark.parametrize("x, y", [([1.0], [1.0]), ([1.0, 2.0], [1.0, -1.0]), ([2.0, 2.0], [1.0, 3.0]),
                                  ([1.0, 2.0], [1.0, 2.0, 3.0])])
def test_fit_loglog_rejects_bad_input(x: list, y: list) -> None:
    with pytest.raises(ValueError):
        cost.fit_loglog(x, y)


def test_median_time_counts_calls() -> None:
    calls = []
    t = cost.median_time(lambda: calls.append(1), repeats=3, min_sample=0.0)
    assert t >= 0 and len(calls) == 1 + 3  # one warm-up call, then one call per repeat


def test_visit_grid_and_frame() -> None:
    prob = cost.linear_problem(5)
    g1 = cost.visit_grid(cost.method1(prob)[1].visits, 5)
    g2 = cost.visit_grid(cost.method2(prob)[1].visits, 5)
    lower = np.tril(np.ones((5, 5), bool))
    assert np.all(np.isfinite(g1[lower])) and np.all(np.isnan(g1[~lower]))
    assert sorted(g1[lower].astype(int)) == list(range(1, 16))      # every cell its own product
    np.testing.assert_array_equal(g2[lower], np.broadcast_to(5 - np.arange(5), (5, 5))[lower])
    timing = {"T": np.array([5]), "naive": np.array([2e-3]), "bptt": np.array([1e-3])}
    fig = figures.draw_cost_frame(5, timing)
    assert "15 products" in fig.axes[0].get_title() and "5 products" in fig.axes[1].get_title()
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_time_methods_shapes() -> None:
    r = cost.time_methods([2, 4], methods=("naive", "bptt", "checkpoint"), repeats=1)
    assert r["T"].tolist() == [2, 4]
    assert all(r[m].shape == (2,) and np.all(r[m] > 0) for m in ("naive", "bptt", "checkpoint"))


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="T must be an integer"):
        cost.linear_problem(0)
    with pytest.raises(ValueError, match="method must be"):
        cost.count_products(3, "method3")
    with pytest.raises(ValueError, match="LinearProblem"):
        cost.method2((1, 2, 3, 4))
    prob = cost.linear_problem(3, B=2, D=2, H=3)
    with pytest.raises(ValueError, match="h0 must have shape"):
        cost.method1(prob._replace(h0=np.zeros((1, 3))))
    with pytest.raises(ValueError, match="xs must have shape"):
        cost.method2(prob._replace(xs=np.zeros((3, 2, 5))))
    params, xs, ys = cost.rnn_problem(5)
    with pytest.raises(ValueError, match="segment"):
        bptt.loss_and_grads_checkpointed(params, xs, ys, segment=0)
    with pytest.raises(ValueError, match="repeats"):
        cost.median_time(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="min_sample"):
        cost.median_time(lambda: None, min_sample=-1.0)
    with pytest.raises(ValueError, match="no measurement"):
        figures.draw_cost_frame(5, {"T": np.array([4]), "naive": np.ones(1), "bptt": np.ones(1)})
    with pytest.raises(ValueError, match="visit"):
        cost.visit_grid([(3, 2, 1)], 4)


def test_exercise_checkers() -> None:
    assert check("cost-1", 20 * 21 // 2).ok                      # T(T+1)/2 products
    assert not check("cost-1", 20).ok
    assert not check("cost-1", 210.4).ok                     # exact integers only
    assert check("cost-2", (20100, 200)).ok                 # counting the products into h_0
    assert check("cost-2", (19900, 199)).ok                 # or not
    assert not check("cost-2", (20100, 199)).ok
    assert not check("cost-2", (20100.0, 200.0)).ok
    assert not check("cost-2", 100.5).ok

    def right(prob):
        hs = cost.linear_forward(prob)
        out = np.empty_like(hs[1:])
        out[-1] = hs[-1]
        for k in range(len(out) - 1, 0, -1):
            out[k - 1] = hs[k] + out[k] @ prob.W
        return out

    assert check("cost-3", right).ok
    v = check("cost-3", lambda prob: cost.method2(prob)[0].deltas)
    assert not v.ok and "method2" in v.message                   # the forbidden shortcut
    fixed = cost.method2(cost.exercise_problem())[0].deltas
    assert not check("cost-3", lambda prob: fixed).ok       # special-cased to one problem
    assert not check("cost-3", fixed).ok                    # an array is not a function
    assert not check("cost-3", None).ok
