"""The LSTM of bptt.lstm against torch.nn.LSTM / nn.LSTMCell in float64 and finite differences; the recall
task, the weighted RNN loss and Adam of bptt.tasks; bad inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from bptt.present import check
from bptt.core import lstm
from bptt.studies import tasks
from bptt.core.lstm import LSTMParams
from rnn_reference import per_term_grad_norms

NAMES = ("W_ih", "W_hh", "b", "V", "c")


def random_lstm(T=5, B=3, D=4, H=5, K=3, *, seed=0, forget_bias=0.5):
    """Random weights (nonzero biases), inputs, labels, h0, c0 and per-step weights."""
    rng = np.random.default_rng(seed)
    p = LSTMParams(W_ih=rng.normal(0, 1 / np.sqrt(D), (4 * H, D)), W_hh=rng.normal(0, 1 / np.sqrt(H), (4 * H, H)),
                   b=rng.normal(0, 0.5, 4 * H), V=rng.normal(0, 1 / np.sqrt(H), (K, H)), c=rng.normal(0, 0.5, K))
    p = p.with_forget_bias(forget_bias)
    xs = rng.normal(0, 1, (T, B, D))
    ys = rng.integers(0, K, (T, B))
    h0, c0 = rng.normal(0, 0.5, (B, H)), rng.normal(0, 0.5, (B, H))
    w = rng.uniform(0, 2, T)
    return p, xs, ys, h0, c0, w


def torch_lstm(p: LSTMParams):
    """torch.nn.LSTM (float64) with p's weights; bias_hh = 0 so bias_ih carries b."""
    net = torch.nn.LSTM(p.n_in, p.n_hidden, dtype=torch.float64)
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(p.W_ih))
        net.weight_hh_l0.copy_(torch.from_numpy(p.W_hh))
        net.bias_ih_l0.copy_(torch.from_numpy(p.b))
        net.bias_hh_l0.zero_()
    return net


def torch_reference(p, xs, ys, h0, c0, w):
    """(loss, grads as LSTMParams, output hs (T, B, H), final c) by nn.LSTM + a linear head + autograd."""
    net = torch_lstm(p)
    V = torch.tensor(p.V, requires_grad=True)
    c = torch.tensor(p.c, requires_grad=True)
    out, (hT, cT) = net(torch.from_numpy(xs), (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]))
    logits = out @ V.T + c
    y = torch.from_numpy(np.asarray(ys))
    terms = torch.stack([F.cross_entropy(logits[t], y[t]) for t in range(len(xs))])
    loss = (torch.from_numpy(w) * terms).sum()
    loss.backward()
    grads = LSTMParams(net.weight_ih_l0.grad.numpy(), net.weight_hh_l0.grad.numpy(), net.bias_ih_l0.grad.numpy(),
                       V.grad.numpy(), c.grad.numpy())
    return float(loss.detach()), grads, out.detach().numpy(), cT[0].detach().numpy()


def assert_close(got: LSTMParams, want: LSTMParams, rtol=1e-7, atol=1e-13):
    for n in NAMES:
        g, e = getattr(got, n), getattr(want, n)
        assert g.shape == e.shape, n
        err, scale = np.max(np.abs(g - e)), np.max(np.abs(e))
        assert err <= rtol * scale + atol, f"{n}: max error {err:.3e} vs max |grad| {scale:.3e}"


# --------------------------------------------------------------------------- against torch
def test_forward_matches_torch():
    p, xs, ys, h0, c0, w = random_lstm(T=7, seed=1)
    cache = lstm.lstm_forward(p, xs, h0, c0)
    _, _, out, cT = torch_reference(p, xs, ys, h0, c0, w)
    np.testing.assert_allclose(cache.hs[1:], out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cache.cs[-1], cT, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(cache.hs[0], h0)


@pytest.mark.parametrize("weighted", [False, True])
def test_grads_match_torch(weighted):
    """Loss and all five gradients equal torch autograd's (unweighted: the loss of bptt.loss_and_grads)."""
    p, xs, ys, h0, c0, w = random_lstm(T=9, B=4, D=3, H=6, K=4, seed=2)
    if not weighted:
        w = np.ones(len(xs))
    loss, grads = lstm.lstm_loss_and_grads(p, xs, ys, h0, c0, weights=w if weighted else None)
    ref_loss, ref, _, _ = torch_reference(p, xs, ys, h0, c0, w)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert lstm.lstm_loss(p, xs, ys, h0, c0, weights=w if weighted else None) == pytest.approx(loss, rel=1e-14)
    assert_close(grads, ref)


def test_torch_split_biases_sum_to_b():
    """torch's b_ih + b_hh act as our single b: any split gives the same outputs."""
    p, xs, ys, h0, c0, w = random_lstm(seed=3)
    net = torch_lstm(p)
    with torch.no_grad():
        net.bias_ih_l0.sub_(0.3)
        net.bias_hh_l0.fill_(0.3)
        out, _ = net(torch.from_numpy(xs), (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]))
    np.testing.assert_allclose(lstm.lstm_forward(p, xs, h0, c0).hs[1:], out.numpy(), rtol=1e-12, atol=1e-14)


@settings(max_examples=30)
@given(T=st.integers(1, 8), B=st.integers(1, 3), D=st.integers(1, 4), H=st.integers(1, 5), K=st.integers(2, 5),
       seed=st.integers(0, 2**31), fb=st.floats(-2, 4))
def test_random_shapes_match_torch(T, B, D, H, K, seed, fb):
    p, xs, ys, h0, c0, w = random_lstm(T, B, D, H, K, seed=seed, forget_bias=fb)
    loss, grads = lstm.lstm_loss_and_grads(p, xs, ys, h0, c0, weights=w)
    ref_loss, ref, _, _ = torch_reference(p, xs, ys, h0, c0, w)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert_close(grads, ref)


def test_grads_match_finite_differences():
    p, xs, ys, h0, c0, w = random_lstm(T=6, B=2, D=3, H=4, K=3, seed=4)
    _, grads = lstm.lstm_loss_and_grads(p, xs, ys, h0, c0, weights=w)
    rng = np.random.default_rng(0)
    eps = 1e-6
    for n in NAMES:
        arr = getattr(p, n)
        for idx in [tuple(rng.integers(0, s) for s in arr.shape) for _ in range(6)]:
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += eps
            minus[idx] -= eps
            lp = lstm.lstm_loss(LSTMParams(**{**vars_of(p), n: plus}), xs, ys, h0, c0, weights=w)
            lm = lstm.lstm_loss(LSTMParams(**{**vars_of(p), n: minus}), xs, ys, h0, c0, weights=w)
            assert getattr(grads, n)[idx] == pytest.approx((lp - lm) / (2 * eps), rel=1e-5, abs=1e-8), (n, idx)


def vars_of(p: LSTMParams) -> dict:
    return {n: getattr(p, n) for n in NAMES}


@pytest.mark.parametrize("wrt", ["h", "c"])
def test_gradient_norms_match_torch(wrt):
    """G[t, k] = ||dL_t/dh_k|| (or dc_k) against per-term backward() through nn.LSTMCell with retained states."""
    p, xs, ys, h0, c0, _ = random_lstm(T=6, B=2, D=3, H=4, K=3, seed=5)
    G = lstm.lstm_gradient_norms(p, xs, ys, h0, c0, wrt=wrt)
    cell = torch.nn.LSTMCell(p.n_in, p.n_hidden, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(p.W_ih))
        cell.weight_hh.copy_(torch.from_numpy(p.W_hh))
        cell.bias_ih.copy_(torch.from_numpy(p.b))
        cell.bias_hh.zero_()
    h, c = torch.from_numpy(h0), torch.from_numpy(c0)
    states, terms = [], []
    for t in range(len(xs)):
        h, c = cell(torch.from_numpy(xs[t]), (h, c))
        h.retain_grad()
        c.retain_grad()
        states.append(h if wrt == "h" else c)
        terms.append(F.cross_entropy(h @ torch.from_numpy(p.V).T + torch.from_numpy(p.c), torch.from_numpy(ys[t])))
    ref = per_term_grad_norms(terms, states)
    np.testing.assert_allclose(G, ref, rtol=1e-10, atol=1e-15)
    assert np.all(np.triu(G, 1) == 0)


def test_dc_dcprev_is_diag_forget_gate():
    """With h_{t-1} held fixed, the Jacobian of c_t with respect to c_{t-1} is diag(f_t) (eq-lstm-dcdc)."""
    p, xs, _, h0, c0, _ = random_lstm(B=1, H=5, seed=6)
    z_in = xs[0] @ p.W_ih.T + p.b
    J = torch.autograd.functional.jacobian(lambda cp: torch_cell_c(p, z_in, h0, cp), torch.from_numpy(c0))
    f = lstm.lstm_step(z_in, h0, c0, p.W_hh)[2][:, p.gate("f")]
    np.testing.assert_allclose(J[0, :, 0, :].numpy(), np.diag(f[0]), rtol=1e-12, atol=1e-15)


def torch_cell_c(p, z_in, h0, cp):
    z = torch.from_numpy(z_in) + torch.from_numpy(h0) @ torch.from_numpy(p.W_hh).T
    i, f, g, _ = z.chunk(4, dim=-1)
    return torch.sigmoid(f) * cp + torch.sigmoid(i) * torch.tanh(g)


def test_n_params_matches_torch():
    for D, H in [(1, 1), (10, 32), (3, 7)]:
        net = torch.nn.LSTM(D, H)
        assert lstm.n_lstm_params(D, H, torch_biases=True) == sum(x.numel() for x in net.parameters())
        assert LSTMParams.random(D, H, 5).n_params == lstm.n_lstm_params(D, H, 5)


def test_random_init_and_forget_bias():
    p = LSTMParams.random(3, 8, 2, seed=0, forget_bias=2.5)
    assert np.all(p.b[p.gate("f")] == 2.5)
    assert np.all(np.abs(p.W_hh) <= 1 / np.sqrt(8))
    assert p.gate("o") == slice(24, 32)


# --------------------------------------------------------------------------- bad inputs
def test_bad_inputs_raise_clear_errors():
    p, xs, ys, h0, c0, w = random_lstm(seed=7)
    with pytest.raises(ValueError, match="LSTMParams"):
        lstm.lstm_forward(bptt.RNNParams.random(4, 5, 3), xs)
    with pytest.raises(ValueError, match="D = 4"):
        lstm.lstm_forward(p, xs[..., :3])
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, H\)"):
        lstm.lstm_forward(p, xs, h0[:, :2])
    with pytest.raises(ValueError, match=r"c0 must have shape"):
        lstm.lstm_forward(p, xs, h0, c0[:1])
    with pytest.raises(ValueError, match="NaN"):
        lstm.lstm_forward(p, np.full_like(xs, np.nan))
    with pytest.raises(ValueError, match=r"\[0, K\)"):
        lstm.lstm_loss_and_grads(p, xs, ys + 5)
    with pytest.raises(ValueError, match=r"weights must have shape \(T,\)"):
        lstm.lstm_loss_and_grads(p, xs, ys, weights=w[:-1])
    with pytest.raises(ValueError, match="wrt"):
        lstm.lstm_gradient_norms(p, xs, ys, wrt="z")
    with pytest.raises(ValueError, match="multiple of 4"):
        LSTMParams(np.zeros((6, 2)), np.zeros((6, 1)), np.zeros(6), np.zeros((2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match=r"W_hh must have shape \(4H, H\)"):
        LSTMParams(np.zeros((8, 2)), np.zeros((8, 3)), np.zeros(8), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="T >= 2"):
        tasks.recall_task(1, 4)
    with pytest.raises(ValueError, match="model"):
        tasks.train_recall("gru", 5)


# --------------------------------------------------------------------------- the task and the trainer
def test_recall_task():
    xs, ys, w = tasks.recall_task(6, 50, K=3, rng=0)
    assert xs.shape == (6, 50, 5) and ys.shape == (6, 50) and w.tolist() == [0, 0, 0, 0, 0, 1]
    np.testing.assert_array_equal(xs[:, :, :3].sum(-1)[:-1], 1.0)    # one symbol per step before the end
    np.testing.assert_array_equal(xs[0, :, :3].argmax(-1), ys[-1])   # the target is the first symbol
    assert np.all(xs[0, :, 3] == 1) and np.all(xs[1:, :, 3] == 0)    # 'remember' marker only at step 0
    assert np.all(xs[-1, :, 4] == 1) and np.all(xs[:-1, :, 4] == 0)  # 'answer now' only at the end
    assert np.all(xs[-1, :, :4] == 0)


def test_weighted_rnn_loss():
    prob = bptt.RNNParams.random(4, 5, 3, seed=1)
    rng = np.random.default_rng(1)
    xs, ys = rng.normal(size=(6, 2, 4)), rng.integers(0, 3, (6, 2))
    loss, g = bptt.weighted_loss_and_grads(prob, xs, ys, weights=None)
    ref_loss, ref = bptt.loss_and_grads(prob, xs, ys)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for a, b in zip(g, ref):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    w = rng.uniform(0, 2, 6)   # linearity: the weighted gradient is the weighted sum of per-step gradients
    _, gw = bptt.weighted_loss_and_grads(prob, xs, ys, weights=w)
    parts = [bptt.weighted_loss_and_grads(prob, xs, ys, weights=np.eye(6)[t])[1] for t in range(6)]
    for k, a in enumerate(gw):
        np.testing.assert_allclose(a, sum(w[t] * parts[t].arrays()[k] for t in range(6)), rtol=1e-10, atol=1e-14)


def test_adam_matches_torch():
    p = LSTMParams.random(2, 3, 2, seed=0)
    opt = bptt.Adam(lr=0.05)
    ts = [torch.tensor(a, requires_grad=True) for a in p.arrays()]
    topt = torch.optim.Adam(ts, lr=0.05)
    rng = np.random.default_rng(0)
    for _ in range(3):
        g = p.map(lambda a: rng.normal(size=a.shape))
        p = opt.step(p, g)
        for t, ga in zip(ts, g.arrays()):
            t.grad = torch.from_numpy(ga)
        topt.step()
    for a, t in zip(p.arrays(), ts):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_training_learns_short_delay():
    r = tasks.train_recall("lstm", 3, steps=60, hidden=8, seed=0, n_test=200)
    assert r.losses[-10:].mean() < 0.5 * r.losses[:10].mean()
    assert r.accuracy > 0.9


# --------------------------------------------------------------------------- exercise checkers
def test_exercise_checkers():
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    check("lstm-1", np.diag([0.9, 0.5, 0.99])).require()
    assert not check("lstm-1", np.array([0.9, 0.5, 0.99]))
    check("lstm-2", sig(2.0) ** 10).require()
    assert not check("lstm-2", sig(2.0))
    check("lstm-3", 4 * 32 * (10 + 32 + 1) + 5 * 33).require()
    assert not check("lstm-3", 4 * 32 * (10 + 32 + 2) + 5 * 33)
