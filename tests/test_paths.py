"""bptt.paths: the per-copy, per-term and per-path pieces of the gradient add up to the gradient, each piece
agrees with float64 torch.autograd (with a genuine separate leaf tensor for every step's copy of a weight),
and the chapter's exercise checkers accept the right answers and reject typical wrong ones."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # tests only: the notebooks must keep the inline backend

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings

import bptt
from bptt.present import check, figures
from bptt.studies import paths, torch_ref
from rnn_reference import PARAM_NAMES, activations, assert_grads_close, problems, random_problem, torch_gradient_norms, \
    torch_loss_and_grads

_TORCH_ACT = torch_ref.TORCH_ACTIVATIONS


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def torch_copy_grads(params, xs, ys, h0, activation="tanh"):
    """dL_t/dtheta^(k) by autograd, with an independent leaf tensor theta^(k) for every step k (Goodfellow's
    W^(t)), so nothing in the reference knows about sums over paths. Returns {name: (T, T, ...)}."""
    T, B, _ = xs.shape
    copies = {n: [_t(getattr(params, n)).clone().requires_grad_(True) for _ in range(T)] for n in PARAM_NAMES}
    f = _TORCH_ACT[activation]
    h, terms = _t(h0), []
    y = torch.as_tensor(ys, dtype=torch.long)
    for k in range(T):
        U, W, V, b, c = (copies[n][k] for n in PARAM_NAMES)
        h = f(_t(xs[k]) @ U.T + h @ W.T + b)
        terms.append(F.cross_entropy(h @ V.T + c, y[k]))
    out = {n: np.zeros((T, T) + getattr(params, n).shape) for n in PARAM_NAMES}
    for t in range(T):
        grads = torch.autograd.grad(terms[t], [copies[n][k] for n in PARAM_NAMES for k in range(T)],
                                    retain_graph=True, allow_unused=True)
        for i, g in enumerate(grads):
            n, k = PARAM_NAMES[i // T], i % T
            if g is not None:
                out[n][t, k] = g.numpy()
    return out


# --------------------------------------------------------------------------- per-copy contributions
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "identity"])
def test_copy_contributions_match_autograd_copies(activation):
    """Every dL_t/dtheta^(k), for all five weights, equals autograd with a separate leaf per step."""
    pb = random_problem(T=5, B=2, D=3, H=4, K=3, seed=11)
    C = bptt.copy_contributions(pb.params, pb.xs, pb.ys, pb.h0, activation=activation)
    ref = torch_copy_grads(pb.params, pb.xs, pb.ys, pb.h0, activation)
    for n in PARAM_NAMES:
        np.testing.assert_allclose(getattr(C, n), ref[n], rtol=1e-10, atol=1e-13, err_msg=n)


@settings(max_examples=25)
@given(pb=problems(max_T=8), activation=activations)
def test_copy_contributions_sum_to_the_gradient(pb, activation):
    """Summed over t and k (eq-chain-copies) the copies give loss_and_grads' gradient and torch's."""
    C = bptt.copy_contributions(pb.params, pb.xs, pb.ys, pb.h0, activation=activation)
    _, g = bptt.loss_and_grads(pb.params, pb.xs, pb.ys, pb.h0, activation=activation)
    assert_grads_close(C.total(), g, rtol=1e-10, atol=1e-13)
    _, g_torch = torch_loss_and_grads(pb.params, pb.xs, pb.ys, pb.h0, activation=activation)
    assert_grads_close(C.total(), g_torch, rtol=1e-9, atol=1e-13)


def test_copy_contributions_structure():
    """No copy used after step t reaches L_t; V and c reach L_t only through their copy at step t; the
    copy of W at step 1 multiplies h_0, so with h_0 = 0 it contributes exactly nothing."""
    pb = random_problem(T=6, B=2, seed=4)
    C = bptt.copy_contributions(pb.params, pb.xs, pb.ys)      # h0 = zeros
    upper = np.triu(np.ones((6, 6), dtype=bool), 1)
    for n in PARAM_NAMES:
        assert np.all(getattr(C, n)[upper] == 0.0), n
    off = ~np.eye(6, dtype=bool)
    assert np.all(C.V[off] == 0.0) and np.all(C.c[off] == 0.0)
    assert np.all(C.W[:, 0] == 0.0) and np.all(C.norms("U")[:, 0] > 0)
    N = C.norms("W")
    np.testing.assert_allclose(N, np.linalg.norm(C.W.reshape(6, 6, -1), axis=-1))


def test_term_is_the_gradient_of_one_loss_term():
    """C.term(t) = dL_t/dtheta (the general product formula summed over k) = autograd of L_t alone."""
    pb = random_problem(T=5, seed=2)
    C = bptt.copy_contributions(pb.params, pb.xs, pb.ys, pb.h0)
    P = {n: _t(getattr(pb.params, n)).clone().requires_grad_(True) for n in PARAM_NAMES}
    h = _t(pb.h0)
    y = torch.as_tensor(pb.ys)
    for s in range(3):
        h = torch.tanh(_t(pb.xs[s]) @ P["U"].T + h @ P["W"].T + P["b"])
    L3 = F.cross_entropy(h @ P["V"].T + P["c"], y[2])
    ref = torch.autograd.grad(L3, [P[n] for n in PARAM_NAMES])
    for n, g in zip(PARAM_NAMES, ref):
        np.testing.assert_allclose(getattr(C.term(3), n), g.numpy(), rtol=1e-10, atol=1e-14, err_msg=n)


def _term_state_grads(pb):
    """DH (T, T, B, H), DH[t, k] = dL_t/dhs[k+1], read off the per-term loop by its hook."""
    p = bptt.prepare(pb.params, pb.xs, pb.ys, pb.h0)
    T, B, H = p.dH.shape
    DH = np.zeros((T, T, B, H))

    def keep(k, dh, da):
        DH[k:k + len(dh), k] = dh

    bptt.backward_per_term(p.dH, p.fprime, pb.params.W, np.ones(T), on_step=keep)
    return DH, p


def test_per_term_hook_matches_gradient_norms_and_autograd():
    """||DH[t, k]|| seen by the hook is the library's gradient-flow map G and torch's (retain_grad)."""
    pb = random_problem(T=7, B=3, seed=5)
    DH, p = _term_state_grads(pb)
    G = np.sqrt(np.einsum("tkbh,tkbh->tk", DH, DH))
    np.testing.assert_allclose(G, bptt.gradient_norms(pb.params, pb.xs, pb.ys, pb.h0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(G, torch_gradient_norms(pb.params, pb.xs, pb.ys, pb.h0), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(p.hs, bptt.forward(pb.params, pb.xs, pb.h0)[0])


def test_recursion_equals_sum_over_terms_and_autograd():
    """eq-chain-recursion gives dL/dh_k = sum_t dL_t/dh_k, and torch's .grad of every retained state."""
    pb = random_problem(T=6, B=2, seed=8)
    DH, p = _term_state_grads(pb)
    rec = bptt.state_grads(DH[np.arange(6), np.arange(6)], 1 - p.hs[1:] ** 2, pb.params.W)
    np.testing.assert_allclose(rec, DH.sum(axis=0), rtol=1e-12, atol=1e-15)
    P = {n: _t(getattr(pb.params, n)).requires_grad_(True) for n in PARAM_NAMES}
    h, states, L = _t(pb.h0), [], 0.0
    for s in range(6):
        h = torch.tanh(_t(pb.xs[s]) @ P["U"].T + h @ P["W"].T + P["b"])
        h.retain_grad()
        states.append(h)
        L = L + F.cross_entropy(h @ P["V"].T + P["c"], torch.as_tensor(pb.ys[s]))
    L.backward()
    np.testing.assert_allclose(rec, torch.stack([s.grad for s in states]).numpy(), rtol=1e-10, atol=1e-14)


def test_bad_inputs_raise_value_error():
    pb = random_problem(T=3, seed=0)
    with pytest.raises(ValueError, match="xs"):
        bptt.copy_contributions(pb.params, pb.xs[..., :2], pb.ys)
    with pytest.raises(ValueError, match="ys"):
        bptt.copy_contributions(pb.params, pb.xs, pb.ys + 10)
    big = bptt.RNNParams.random(2, 200, 2)
    with pytest.raises(ValueError, match="shorter sequence"):
        bptt.copy_contributions(big, np.zeros((40, 1, 2)), np.zeros((40, 1), dtype=int))
    C = bptt.copy_contributions(pb.params, pb.xs, pb.ys)
    with pytest.raises(ValueError, match="t must lie"):
        C.term(4)
    with pytest.raises(ValueError, match="name"):
        C.norms("Q")


# --------------------------------------------------------------------------- scalar RNN
def _torch_scalar(rnn, xs, y):
    P = {n: torch.tensor(getattr(rnn, n), dtype=torch.float64, requires_grad=True) for n in ("u", "w", "k")}
    v, c = _t(rnn.v).requires_grad_(True), _t(rnn.c).requires_grad_(True)
    s = torch.tensor(rnn.s0, dtype=torch.float64)
    f = _TORCH_ACT[rnn.activation]
    for x in xs:
        s = f(P["u"] * float(x) + P["w"] * s + P["k"])
    L = -torch.log_softmax(v * s + c, dim=0)[y]
    g = torch.autograd.grad(L, [P["u"], P["w"], P["k"], v, c])
    return float(L.detach()), dict(zip(("u", "w", "k", "v", "c"), (x.numpy() for x in g)))


def scalar_loss(rnn, xs, y):
    """L = -log softmax(o)[y] of the scalar RNN (the test's own, from the library's forward pass)."""
    return float(-bptt.log_softmax(paths.scalar_forward(rnn, np.asarray(xs, dtype=float))[2])[y])


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "identity"])
@pytest.mark.parametrize("T", [1, 2, 6])
def test_scalar_paths_sum_to_autograd(activation, T):
    """One path per copy; the path products add up to autograd's dL/du, dL/dw, dL/dk."""
    rng = np.random.default_rng(T)
    rnn = paths.ScalarRNN(u=0.7, w=-1.1, k=0.2, v=rng.normal(size=3), c=rng.normal(size=3), s0=0.4,
                          activation=activation)
    xs = rng.normal(size=T)
    L, ref = _torch_scalar(rnn, xs, 2)
    assert scalar_loss(rnn, xs, 2) == pytest.approx(L, rel=1e-12)
    mine = paths.scalar_grads(rnn, xs, 2)
    for p in ("u", "w", "k"):
        ps = paths.scalar_paths(rnn, xs, 2, p)
        assert [q.copy for q in ps] == list(range(1, T + 1))
        assert len(ps[0].factors) == 2 * T + 1  # dL/ds_T, (f', w) for each later step, f', the local factor
        assert sum(q.product for q in ps) == pytest.approx(float(ref[p]), rel=1e-10, abs=1e-14)
        assert mine[p] == pytest.approx(float(ref[p]), rel=1e-10, abs=1e-14)
    np.testing.assert_allclose(mine["v"], ref["v"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(mine["c"], ref["c"], rtol=1e-10, atol=1e-14)


def test_scalar_example_and_central_differences():
    """The chapter's 2-step example: both copies of w matter, and the sum matches central differences."""
    rnn, xs, y = paths.example_scalar_rnn()
    ps = paths.scalar_paths(rnn, xs, y, "w")
    assert len(ps) == 2 and all(abs(p.product) > 1e-3 for p in ps)
    assert ps[1].formula() == "dL/ds2 * f'(z2) * s1"
    eps = 1e-6
    import dataclasses
    fd = (scalar_loss(dataclasses.replace(rnn, w=rnn.w + eps), xs, y)
          - scalar_loss(dataclasses.replace(rnn, w=rnn.w - eps), xs, y)) / (2 * eps)
    assert sum(p.product for p in ps) == pytest.approx(fd, rel=1e-8)


def test_scalar_bad_inputs():
    v = np.ones(2)
    with pytest.raises(ValueError, match="w must be"):
        paths.ScalarRNN(u=1.0, w=float("nan"), k=0.0, v=v, c=v)
    with pytest.raises(ValueError, match="K >= 2"):
        paths.ScalarRNN(u=1.0, w=1.0, k=0.0, v=np.ones(1), c=np.ones(1))
    rnn = paths.ScalarRNN(u=1.0, w=1.0, k=0.0, v=v, c=v)
    with pytest.raises(ValueError, match="class index"):
        paths.scalar_grads(rnn, [1.0], 5)
    with pytest.raises(ValueError, match="empty"):
        paths.scalar_grads(rnn, [], 0)
    with pytest.raises(ValueError, match="param"):
        paths.scalar_paths(rnn, [1.0], 0, "v")


# --------------------------------------------------------------------------- drawings and checkers
def test_draw_unrolled_draws_every_pair_and_rejects_bad_steps():
    pb = random_problem(T=3, B=1, seed=1)
    C = bptt.copy_contributions(pb.params, pb.xs, pb.ys)
    for t, k in ((3, 1), (1, 3)):
        fig, ax = plt.subplots()
        figures.draw_unrolled(ax, 3, t=t, k=k, copy_values=C.norms("W")[t - 1])
        labels = [x.get_text() for x in ax.texts]
        assert {"x₁", "h₃", "L₃"} <= set(labels) and len([x for x in labels if "." in x]) == t  # values j <= t
        plt.close(fig)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="k must lie"):
        figures.draw_unrolled(ax, 3, t=1, k=4)
    with pytest.raises(ValueError, match="copy_values must have shape"):
        figures.draw_unrolled(ax, 3, t=1, k=1, copy_values=np.ones(2))
    plt.close(fig)


def dL_dw_path1(rnn, xs, y):
    """The path through the copy w^(1) alone (a wrong answer to chain-1)."""
    s, _, o = paths.scalar_forward(rnn, xs)
    fp = 1 - s[1:] ** 2
    return rnn.v @ (bptt.softmax(o) - np.eye(len(o))[y]) * fp[1] * rnn.w * fp[0] * s[0]


def test_checkers_accept_solutions_and_explain_mistakes():
    rnn, xs, y = paths.example_scalar_rnn()
    ps = paths.scalar_paths(rnn, xs, y, "w")
    def right(rnn, xs, y):
        s, _, o = paths.scalar_forward(rnn, xs)
        dL_ds2 = rnn.v @ (bptt.softmax(o) - np.eye(len(o))[y])
        fp = 1 - s[1:] ** 2
        return dL_ds2 * fp[1] * (s[1] + rnn.w * fp[0] * s[0])

    assert check("chain-1", right).ok
    v = check("chain-1", lambda rnn, xs, y: right(rnn, xs, y) - dL_dw_path1(rnn, xs, y))
    assert not v.ok and "only the path" in v.message
    v = check("chain-1", lambda rnn, xs, y: sum(p.product for p in paths.scalar_paths(rnn, xs, y, "w")))
    assert not v.ok and "scalar_paths" in v.message              # the forbidden shortcut
    assert not check("chain-1", sum(p.product for p in ps)).ok   # a number is not a function
    assert not check("chain-1", lambda rnn, xs, y: sum(p.product for p in ps)).ok  # special-cased
    assert check("chain-2", np.arange(1, 11)).ok
    assert not check("chain-2", np.full(10, 10)).ok
    assert not check("chain-2", np.arange(1, 11) + 1e-9).ok    # counts are exact integers

    def right(dH, fprime, W):
        out, carry = np.empty_like(dH), np.zeros_like(dH[0])
        for t in range(len(dH) - 1, -1, -1):
            out[t] = dH[t] + carry
            carry = (out[t] * fprime[t]) @ W
        return out

    def transposed(dH, fprime, W):      # the classic slip: W.T in row form
        return right(dH, fprime, W.T)

    assert check("chain-3", right).ok
    assert not check("chain-3", transposed).ok
    assert not check("chain-3", 3.0).ok
