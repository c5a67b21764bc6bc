"""The chapter-10 study (bptt.studies.online_study) and its exercise checkers: every online learner, run with
frozen weights, sums to the library's whole-sequence gradient; the counts follow the shapes; the race and the
estimator study are deterministic and behave as the chapter says."""
from __future__ import annotations

import numpy as np
import pytest

import bptt
from bptt.present import checks
from bptt.studies import online_study as o


def _problem(T=7, B=2, D=3, H=5, K=4, seed=0):
    rng = np.random.default_rng(seed)
    params = bptt.RNNParams.random(D, H, K, seed=seed).map(lambda a: a + 0.1 * rng.normal(size=a.shape))
    return params, rng.normal(size=(T, B, D)), rng.integers(0, K, (T, B))


def _close(a, b, rtol=1e-9, atol=1e-12):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learners_sum_to_the_library_gradients(seed):
    params, xs, ys = _problem(T=4 + seed, B=1 + seed, H=3 + seed, seed=seed)
    loss, exact = bptt.loss_and_grads(params, xs, ys)
    got_loss, got = o.summed_gradient("rtrl", params, xs, ys)
    assert got_loss == pytest.approx(loss, rel=1e-12)
    _close(got, exact)
    _close(o.summed_gradient("snap1", params, xs, ys)[1], bptt.snap1_loss_and_grads(params, xs, ys)[1])
    _close(o.summed_gradient("uoro", params, xs, ys, rng=seed)[1],
           bptt.uoro_loss_and_grads(params, xs, ys, rng=seed)[1])      # the same sign draws
    _close(o.summed_gradient("tbptt", params, xs, ys, tau=2)[1], bptt.loss_and_grads(params, xs, ys, window=2)[1])


def test_rtrl_against_torch_autograd():
    from bptt.studies import torch_ref
    params, xs, ys = _problem(T=6, B=3, H=4, seed=5)
    _close(o.summed_gradient("rtrl", params, xs, ys)[1], torch_ref.loss_and_grads(params, xs, ys)[1])


def test_influence_step_by_finite_differences():
    params, xs, _ = _problem(T=1, B=2, D=3, H=4, seed=3)
    rng = np.random.default_rng(0)
    h_prev, x = np.tanh(rng.normal(size=(2, 4))), xs[0]
    J, h = o.influence_step(params, np.zeros((2, 4, o.n_theta(4, 3))), h_prev, x)
    theta = o.theta_vector(params)
    eps = 1e-6
    for p in rng.choice(theta.size, 12, replace=False):     # dh/dtheta_p with h_prev held fixed (J_0 = 0)
        def h_at(v):
            th = theta.copy()
            th[p] += v
            U, W, b = th[:12].reshape(4, 3), th[12:28].reshape(4, 4), th[28:]
            return np.tanh(b + h_prev @ W.T + x @ U.T)
        np.testing.assert_allclose(J[:, :, p], (h_at(eps) - h_at(-eps)) / (2 * eps), atol=1e-8)
    with pytest.raises(ValueError, match="J must have shape"):
        o.influence_step(params, np.zeros((2, 4, 3)), h_prev, x)


def test_snap1_is_rtrl_for_a_diagonal_W():
    params, xs, ys = _problem(seed=4)
    diag = params.with_W(np.diag(np.diag(params.W)))
    _close(o.summed_gradient("snap1", diag, xs, ys)[1], o.summed_gradient("rtrl", diag, xs, ys)[1])


def test_uoro_draws_are_unbiased_and_reproducible():
    params, xs, ys = _problem(T=5, B=2, H=3, seed=6)
    exact = o.theta_vector(bptt.loss_and_grads(params, xs, ys)[1])
    draws = o.uoro_draws(params, xs, ys, 4000, rng=1)
    se = draws.std(0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(0) - exact) < 5 * se + 1e-12)
    np.testing.assert_array_equal(draws[:10], o.uoro_draws(params, xs, ys, 4000, rng=1)[:10])
    # a biased variant (no rescaling by the signs' second moment: the signs halved) fails the same test
    biased = 0.5 * draws
    assert np.any(np.abs(biased.mean(0) - exact) > 5 * se)


def test_estimator_stats():
    d = o.estimator_draws(*o.estimator_problem(20, 6), n_draws=300, seed=0)
    s = d.stats()
    assert s["uoro"]["bias"] < 3 * s["uoro"]["stderr_bias"]
    assert s["snap1"]["variance"] == 0 and s["tbptt"]["variance"] == 0 and s["uoro"]["variance"] > 1
    assert s["snap1"]["bias"] > 0.05 and s["tbptt"]["bias"] > 0.05
    assert d.tau == o.matched_window(6, 3, 3)


def test_cost_counts_follow_the_shapes():
    H, D, K = 10, 3, 4
    c = o.cost_per_step(H, D, K, T=50, tau=3)
    P = H * D + H * H + H
    F = H * H + H * D + K * H
    assert c["rtrl"]["macs"] == F + H * H * P + H * P and c["rtrl"]["floats"] == H * P
    assert c["bptt"]["floats"] == 51 * H and c["tbptt"]["floats"] == 4 * H
    ratios = [o.cost_per_step(h, D, K)["rtrl"]["macs"] / o.cost_per_step(h, D, K)["bptt"]["macs"]
              for h in (8, 16, 32, 64)]
    assert all(3 < b / a < 4.5 for a, b in zip(ratios, ratios[1:]))     # the gap grows like H^2
    assert o.matched_window(16, 4, 5) >= 1
    with pytest.raises(ValueError):
        o.cost_per_step(0, D, K)


def test_recall_stream_and_race():
    xs, ys = o.recall_stream(20, 3, K=4, delay=3, rng=0)
    assert xs.shape == (20, 3, 4) and np.all(ys[:3] == 4)
    np.testing.assert_array_equal(xs[:-3].argmax(-1), ys[3:])
    a = o.race("uoro", steps=60, B=2, H=4, seed=1)
    b = o.race("uoro", steps=60, B=2, H=4, seed=1)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.losses.shape == a.correct.shape == (60,) and np.all(np.isfinite(a.losses))
    assert o.smooth(a.correct, 20).shape == (3,)
    with pytest.raises(ValueError):
        o.race("bptt")


def test_results_file_matches_the_benchmark():
    race = bptt.load_json("results/online_race.json")
    assert race["command"] == "python benchmarks/online_race.py"
    labels = {r["label"] for r in race["runs"]}
    assert labels == {"rtrl", "snap1", "uoro", "tbptt2", "tbptt4"}
    assert all(len(r["accuracy"]) == race["config"]["steps"] // race["block"] for r in race["runs"])


@pytest.mark.parametrize("name,solution", [
    ("online-1", lambda: bptt.checkpoint_cost(20, 3)),
    ("online-2", lambda: 14000),
])
def test_count_exercises(name, solution):
    assert checks.check(name, solution())
    assert not checks.check(name, solution() + 1)
    assert not checks.check(name, float(solution()))


def test_draws_exercise():
    from bptt.present.online_exercises import uoro_draws_needed
    n = uoro_draws_needed()
    assert checks.check("online-3", n) and not checks.check("online-3", 2 * n)


def test_influence_exercise():
    assert checks.check("online-4", o.influence_step)
    wrong = lambda params, J, h, x: (params.W @ J, np.tanh(h @ params.W.T))  # noqa: E731
    assert not checks.check("online-4", wrong)
