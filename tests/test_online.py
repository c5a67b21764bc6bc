"""Online gradients (bptt.core.online): RTRL against float64 torch.autograd and full BPTT, SnAp-1 against a
straightforward loop over its recursion, UORO's exact parts, its draws and its unbiasedness (a test that
also rejects biased variants), RTRL's memory independent of T, and bad inputs."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from rnn_reference import (ACTIVATIONS, activations, assert_exact_gradient, assert_grads_close, problems,
                           random_problem, seeds)
from test_bad_inputs import H0, INPUT_CASES, LABEL_CASES, PARAMS, XS, YS

ONLINE = [bptt.rtrl_loss_and_grads, bptt.snap1_loss_and_grads, bptt.uoro_loss_and_grads]
ONLINE_IDS = ["rtrl", "snap1", "uoro"]
EPS = 1e-7


def _theta(g: bptt.RNNParams) -> np.ndarray:
    """The recurrent parameters' gradient (U, W, b) as one vector."""
    return np.concatenate([g.U.ravel(), g.W.ravel(), g.b.ravel()])


def _assert_exact_outputs(loss, grads, params, xs, ys, h0, activation):
    """The loss, dV and dc of an online method are full BPTT's."""
    full_loss, full = bptt.loss_and_grads(params, xs, ys, h0, activation=activation)
    assert loss == pytest.approx(full_loss, rel=1e-12)
    np.testing.assert_allclose(grads.V, full.V, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grads.c, full.c, rtol=1e-10, atol=1e-13)


# --------------------------------------------------------------------------- RTRL
@settings(max_examples=40)
@given(prob=problems(max_T=10), activation=activations, given_h0=st.booleans())
def test_rtrl_matches_torch_and_bptt(prob, activation, given_h0):
    """RTRL's loss and gradients equal float64 autograd's and full BPTT's (rtol 1e-9, atol 1e-12)."""
    params, xs, ys, h0 = prob
    h0 = h0 if given_h0 else None
    loss, grads = bptt.rtrl_loss_and_grads(params, xs, ys, h0, activation=activation)
    assert_exact_gradient(loss, grads, params, xs, ys, h0, activation)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_rtrl_every_activation_at_strong_weights(activation):
    """Large weights (saturating tanh/sigmoid, growing relu/identity states) still match autograd."""
    prob = random_problem(T=9, B=3, D=2, H=5, K=4, seed=3, weight_scale=2.0)
    assert_exact_gradient(*bptt.rtrl_loss_and_grads(*prob, activation=activation), *prob, activation)


def _peak_bytes(fn, *args) -> int:
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_rtrl_memory_is_flat_in_T():
    """tracemalloc's peak while RTRL runs is the same at T = 20 and T = 200 (no per-step arrays), and about the
    size of its two influence arrays; full BPTT's grows with T."""
    B, D, H = 2, 3, 8
    short, long = (random_problem(T=T, B=B, D=D, H=H, K=3, seed=1) for T in (20, 200))
    bptt.rtrl_loss_and_grads(*short)                      # warm-up: imports, caches
    peak_short, peak_long = (_peak_bytes(bptt.rtrl_loss_and_grads, *p) for p in (short, long))
    influence = 2 * B * H * H * (D + H + 1) * 8
    assert influence <= peak_short <= 3 * influence
    assert peak_long <= 1.05 * peak_short + 2048, (peak_short, peak_long)
    bptt_short, bptt_long = (_peak_bytes(bptt.loss_and_grads, *p) for p in (short, long))
    assert bptt_long > 5 * bptt_short


# --------------------------------------------------------------------------- SnAp-1
def snap1_loop(params, xs, ys, h0, activation):
    """SnAp-1's recursion as the issue states it, entry by entry: J_0 = 0,
    J^W_t[i, j] = f'_t[i] (W[i, i] J^W_{t-1}[i, j] + h_{t-1}[j]), likewise U with x_t[j] and b with 1;
    dW[i, j] = sum_t sum_b g_t[b, i] J^W_t[b, i, j], g_t[b] = V^T (softmax(o_t[b]) - onehot(y_t[b])) / B."""
    W, V = params.W, params.V
    T, B, D = xs.shape
    H = W.shape[0]
    hs, logits = bptt.forward(params, xs, h0, activation=activation)
    dO = bptt.logits_grad(logits, ys)
    fprime = bptt.activation_grad(activation)(hs[1:])
    JW, JU, Jb = np.zeros((B, H, H)), np.zeros((B, H, D)), np.zeros((B, H))
    dW, dU, db = np.zeros((H, H)), np.zeros((H, D)), np.zeros(H)
    for t in range(T):
        for b in range(B):
            g = V.T @ dO[t, b]
            for i in range(H):
                f = fprime[t, b, i]
                for j in range(H):
                    JW[b, i, j] = f * (W[i, i] * JW[b, i, j] + hs[t, b, j])
                    dW[i, j] += g[i] * JW[b, i, j]
                for j in range(D):
                    JU[b, i, j] = f * (W[i, i] * JU[b, i, j] + xs[t, b, j])
                    dU[i, j] += g[i] * JU[b, i, j]
                Jb[b, i] = f * (W[i, i] * Jb[b, i] + 1.0)
                db[i] += g[i] * Jb[b, i]
    return dU, dW, db


@settings(max_examples=30)
@given(prob=problems(max_T=8), activation=activations, given_h0=st.booleans())
def test_snap1_matches_its_recursion_written_as_loops(prob, activation, given_h0):
    """SnAp-1 equals the entry-by-entry loop of its recursion; loss, dV and dc equal full BPTT's."""
    params, xs, ys, h0 = prob
    h0 = h0 if given_h0 else None
    loss, grads = bptt.snap1_loss_and_grads(params, xs, ys, h0, activation=activation)
    for got, want in zip((grads.U, grads.W, grads.b), snap1_loop(params, xs, ys, h0, activation)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    _assert_exact_outputs(loss, grads, params, xs, ys, h0, activation)


@settings(max_examples=30)
@given(prob=problems(max_T=8), activation=activations, diagonal=st.booleans(), seed=seeds)
def test_snap1_is_rtrl_when_H_is_1_or_W_diagonal(prob, activation, diagonal, seed):
    """With one unit or a diagonal W no influence crosses units, so SnAp-1 drops nothing: it is RTRL."""
    params, xs, ys, h0 = prob
    if diagonal:
        params = params.with_W(np.diag(np.diag(params.W)))
    else:
        params, xs, ys, h0 = random_problem(T=xs.shape[0], B=xs.shape[1], D=xs.shape[2], H=1, K=3,
                                            seed=seed % 2**31)
    snap = bptt.snap1_loss_and_grads(params, xs, ys, h0, activation=activation)[1]
    assert_grads_close(snap, bptt.rtrl_loss_and_grads(params, xs, ys, h0, activation=activation)[1],
                       rtol=1e-10, atol=1e-13)


def test_snap1_is_biased_for_a_dense_W():
    """With a dense W, SnAp-1 differs from the true gradient (it drops the cross-unit influence)."""
    prob = random_problem(T=8, B=2, D=3, H=4, K=3, seed=2)
    snap, full = bptt.snap1_loss_and_grads(*prob)[1], bptt.loss_and_grads(*prob)[1]
    assert np.linalg.norm(snap.W - full.W) > 1e-3 * np.linalg.norm(full.W)


# --------------------------------------------------------------------------- UORO
def uoro_reference(params, xs, ys, h0, activation, rng, variant=None):
    """UORO written from the paper's equations with the explicit Jacobian dF_t/dtheta: (B, H, P), theta =
    (U, W, b) flattened, the signs drawn as the library documents. ``variant`` breaks it on purpose:
    "theta_not_rescaled" (s is scaled by rho0 but theta is not divided by it) or "no_propagation"
    (the term rho0 J_t s_{t-1} is dropped). Returns the estimate of d(U, W, b) as one vector."""
    T, B, D = xs.shape
    H = params.n_hidden
    hs, logits = bptt.forward(params, xs, h0, activation=activation)
    G = bptt.logits_grad(logits, ys) @ params.V                     # g_t: (T, B, H)
    fprime = bptt.activation_grad(activation)(hs[1:])
    eye = np.eye(H)
    s, theta = np.zeros((B, H)), np.zeros((B, H * D + H * H + H))
    grad = np.zeros_like(theta[0])
    for t in range(T):
        nu = 2.0 * rng.integers(0, 2, size=(B, H)) - 1.0
        f = fprime[t][:, :, None]
        dF = np.concatenate([(f[..., None] * eye[None, :, :, None] * xs[t][:, None, None, :]).reshape(B, H, H * D),
                             (f[..., None] * eye[None, :, :, None] * hs[t][:, None, None, :]).reshape(B, H, H * H),
                             f * eye[None]], axis=2)
        Js = np.einsum("bij,bj->bi", fprime[t][:, :, None] * params.W[None], s)
        nu_dF = np.einsum("bi,bip->bp", nu, dF)
        rho0 = np.sqrt(np.linalg.norm(theta, axis=1) / (np.linalg.norm(Js, axis=1) + EPS)) + EPS
        rho1 = np.sqrt(np.linalg.norm(nu_dF, axis=1) / (np.linalg.norm(nu, axis=1) + EPS)) + EPS
        s = (0.0 if variant == "no_propagation" else rho0[:, None] * Js) + rho1[:, None] * nu
        theta = (theta if variant == "theta_not_rescaled" else theta / rho0[:, None]) + nu_dF / rho1[:, None]
        grad += np.einsum("b,bp->p", np.einsum("bi,bi->b", G[t], s), theta)
    return grad


@settings(max_examples=25)
@given(prob=problems(max_T=8), activation=activations, given_h0=st.booleans(), seed=seeds)
def test_uoro_follows_the_papers_equations(prob, activation, given_h0, seed):
    """For the same seed, the library's UORO equals the reference written from the equations; its loss, dV and
    dc are exactly full BPTT's."""
    params, xs, ys, h0 = prob
    h0 = h0 if given_h0 else None
    loss, grads = bptt.uoro_loss_and_grads(params, xs, ys, h0, activation=activation, rng=seed)
    want = uoro_reference(params, xs, ys, h0, activation, np.random.default_rng(seed))
    np.testing.assert_allclose(_theta(grads), want, rtol=1e-9, atol=1e-12 * max(1.0, np.abs(want).max()))
    _assert_exact_outputs(loss, grads, params, xs, ys, h0, activation)


# The unbiasedness test. One example repeated R times in the batch: the batch-mean gradient is the example's,
# and UORO's estimate is then the mean of R independent draws. M such runs give M independent means, so a
# t statistic per coordinate; an unbiased estimator keeps every |t| small, a biased one is caught.
R, M, T_STAT = 150, 40, 5.0


def _repeated(seed):
    params, xs, ys, h0 = random_problem(T=5, B=1, D=2, H=3, K=3, seed=seed, weight_scale=1.5)
    return params, np.repeat(xs, R, axis=1), np.repeat(ys, R, axis=1), np.repeat(h0, R, axis=0)


def _t_stats(draws: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per coordinate (mean - truth) / standard error; a coordinate that never varies (a dead relu unit's
    weights) scores 0 if its value is the truth and inf otherwise."""
    err, se = draws.mean(0) - truth, draws.std(0, ddof=1) / np.sqrt(len(draws))
    exact = np.abs(err) <= 1e-12 * max(1.0, np.abs(truth).max())
    return np.where(se > 0, err / np.where(se > 0, se, 1.0), np.where(exact, 0.0, np.inf))


def _draws(activation, variant=None):
    """(M, P) estimates of d(U, W, b), each the mean of R sign draws, and the true gradient."""
    params, xs, ys, h0 = _repeated(seed=4)
    truth = _theta(bptt.loss_and_grads(params, xs, ys, h0, activation=activation)[1])
    rng = np.random.default_rng(0)
    if variant is None:
        return np.array([_theta(bptt.uoro_loss_and_grads(params, xs, ys, h0, activation=activation, rng=rng)[1])
                         for _ in range(M)]), truth
    return np.array([uoro_reference(params, xs, ys, h0, activation, rng, variant) for _ in range(M)]), truth


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_uoro_is_unbiased(activation):
    """Over M x R sign draws UORO's mean lies within T_STAT standard errors of the true gradient in every
    coordinate."""
    draws, truth = _draws(activation)
    assert np.abs(_t_stats(draws, truth)).max() < T_STAT


@pytest.mark.parametrize("variant", ["theta_not_rescaled", "no_propagation"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "identity"])
def test_the_unbiasedness_test_has_power(activation, variant):
    """The same test, on the same draws, rejects UORO without theta's rescaling by rho0 and UORO without
    the propagated term, by a wide margin (|t| > 2 T_STAT)."""
    draws, truth = _draws(activation, variant)
    assert np.abs(_t_stats(draws, truth)).max() > 2 * T_STAT


def test_uoro_rng_semantics():
    """An int seeds default_rng; a Generator is drawn from and advanced (T draws of (B, H) signs); None gives
    fresh entropy; anything else (bool, float, negative int, str, legacy RandomState) is a ValueError."""
    prob = random_problem(T=4, B=2, D=2, H=3, K=3, seed=5)
    by_int = _theta(bptt.uoro_loss_and_grads(*prob, rng=7)[1])
    gen = np.random.default_rng(7)
    np.testing.assert_array_equal(_theta(bptt.uoro_loss_and_grads(*prob, rng=gen)[1]), by_int)
    after = np.random.default_rng(7)
    after.integers(0, 2, size=(4, 2, 3))
    assert gen.integers(0, 2**62) == after.integers(0, 2**62)          # advanced by exactly the T sign draws
    assert not np.array_equal(_theta(bptt.uoro_loss_and_grads(*prob, rng=gen)[1]), by_int)
    fresh = [_theta(bptt.uoro_loss_and_grads(*prob, rng=None)[1]) for _ in range(2)]
    assert not np.array_equal(*fresh)
    for bad in (True, 1.5, -1, "0", np.random.RandomState(0), [1, 2]):
        with pytest.raises(ValueError, match="rng must be None, an integer seed >= 0 or a numpy Generator"):
            bptt.uoro_loss_and_grads(*prob, rng=bad)


# --------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("fn", ONLINE, ids=ONLINE_IDS)
@pytest.mark.parametrize("overrides,match", [c[1:] for c in INPUT_CASES + LABEL_CASES],
                         ids=[c[0] for c in INPUT_CASES + LABEL_CASES])
def test_bad_inputs(fn, overrides, match):
    """The online methods reject what loss_and_grads rejects, with the same messages."""
    args = dict(xs=XS, ys=YS, h0=H0) | overrides
    with pytest.raises(ValueError, match=match):
        fn(PARAMS, args["xs"], args["ys"], args["h0"])


@pytest.mark.parametrize("fn", ONLINE, ids=ONLINE_IDS)
def test_bad_activation_and_params(fn):
    with pytest.raises(ValueError, match="activation must be one of 'tanh', 'sigmoid', 'relu', 'identity'"):
        fn(PARAMS, XS, YS, H0, activation="softplus")
    with pytest.raises(ValueError, match="params must be an RNNParams"):
        fn(PARAMS.arrays(), XS, YS, H0)
