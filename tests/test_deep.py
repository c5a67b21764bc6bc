"""Deep and bidirectional RNNs (bptt.deep) against torch.nn.RNN in float64, an autograd loop for the
activations nn.RNN lacks, finite differences, the one-layer case of loss_and_grads, and bad inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from bptt.present import check
from bptt.core import deep
from bptt.studies import deep_study


def random_deep(T=5, B=2, D=3, H=4, K=3, *, layers=2, bidirectional=True, seed=0):
    """A DeepRNNParams with nonzero biases and perturbed weights, inputs and labels."""
    rng = np.random.default_rng(seed)
    p = bptt.DeepRNNParams.random(D, H, K, n_layers=layers, bidirectional=bidirectional, seed=seed)
    p = p.map(lambda a: a + 0.3 * rng.normal(size=a.shape))
    return p, rng.normal(size=(T, B, D)), rng.integers(0, K, size=(T, B))


def torch_loop_tops(p: bptt.DeepRNNParams, tensors: list, xs: torch.Tensor, activation: str) -> torch.Tensor:
    """An explicit autograd loop over layers, directions and time (any activation). tensors: the
    arrays of p.arrays() as leaf tensors."""
    f = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda a: a}[activation]
    it = iter(tensors)
    X = xs
    for layer in p.cells:
        outs = []
        for d in range(len(layer)):
            U, W, b = next(it), next(it), next(it)
            h = torch.zeros(xs.shape[1], p.n_hidden, dtype=torch.float64)
            hs = [None] * xs.shape[0]
            for t in (range(xs.shape[0]) if d == 0 else range(xs.shape[0] - 1, -1, -1)):
                h = f(X[t] @ U.T + h @ W.T + b)
                hs[t] = h
            outs.append(torch.stack(hs))
        X = torch.cat(outs, dim=-1)
    return X


def ce_sum(logits: torch.Tensor, ys: np.ndarray) -> torch.Tensor:
    y = torch.from_numpy(ys)
    return sum(F.cross_entropy(logits[t], y[t]) for t in range(len(ys)))


def torch_grads_nn(p, xs, ys, activation):
    """(loss, grads as a list in p.arrays() order, tops) from nn.RNN + a linear head."""
    loss, grads = deep_study.torch_loss_and_grads(p, xs, ys, activation)
    tops, _ = deep_study.to_torch(p, activation)(torch.from_numpy(xs))
    return loss, grads, tops.detach().numpy()


def torch_grads_loop(p, xs, ys, activation):
    tensors = [torch.tensor(a, requires_grad=True) for a in p.arrays()]
    tops = torch_loop_tops(p, tensors[:-2], torch.from_numpy(xs), activation)
    loss = ce_sum(tops @ tensors[-2].T + tensors[-1], ys)
    loss.backward()
    return loss.item(), [t.grad.numpy() for t in tensors], tops.detach().numpy()


def assert_matches(p, xs, ys, activation, reference):
    loss, grads = bptt.deep_loss_and_grads(p, xs, ys, activation=activation)
    ref_loss, ref_grads, ref_tops = reference(p, xs, ys, activation)
    tops, logits = bptt.deep_forward(p, xs, activation=activation)
    np.testing.assert_allclose(tops, ref_tops, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(logits, tops @ p.V.T + p.c, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-10)
    assert isinstance(grads, bptt.DeepRNNParams)
    assert [a.shape for a in grads] == [a.shape for a in p]
    for got, want in zip(grads.arrays(), ref_grads):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-11)


# --------------------------------------------------------------------------- against torch
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_matches_nn_rnn(layers, bidirectional, activation):
    p, xs, ys = random_deep(T=6, B=3, D=3, H=4, K=5, layers=layers, bidirectional=bidirectional, seed=layers)
    assert_matches(p, xs, ys, activation, torch_grads_nn)


@pytest.mark.parametrize("activation", ["sigmoid", "identity", "tanh"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_matches_autograd_loop(activation, bidirectional):
    p, xs, ys = random_deep(T=5, B=2, D=2, H=3, K=4, layers=2, bidirectional=bidirectional, seed=7)
    assert_matches(p, xs, ys, activation, torch_grads_loop)


@settings(max_examples=40)
@given(T=st.integers(1, 7), B=st.integers(1, 3), D=st.integers(1, 4), H=st.integers(1, 5),
       K=st.integers(2, 5), layers=st.integers(1, 3), bidirectional=st.booleans(),
       activation=st.sampled_from(["tanh", "relu"]), seed=st.integers(0, 2**32 - 1))
def test_random_shapes_match_nn_rnn(T, B, D, H, K, layers, bidirectional, activation, seed):
    p, xs, ys = random_deep(T, B, D, H, K, layers=layers, bidirectional=bidirectional, seed=seed)
    assert_matches(p, xs, ys, activation, torch_grads_nn)


@settings(max_examples=10)
@given(T=st.integers(1, 6), B=st.integers(1, 3), D=st.integers(1, 4), H=st.integers(1, 5),
       K=st.integers(2, 5), activation=st.sampled_from(["tanh", "relu", "sigmoid", "identity"]),
       seed=st.integers(0, 2**32 - 1))
def test_one_layer_forward_equals_loss_and_grads(T, B, D, H, K, activation, seed):
    p, xs, ys = random_deep(T, B, D, H, K, layers=1, bidirectional=False, seed=seed)
    cell = p.cells[0][0]
    flat = bptt.RNNParams(U=cell.U, W=cell.W, V=p.V, b=cell.b, c=p.c)
    loss, grads = bptt.deep_loss_and_grads(p, xs, ys, activation=activation)
    ref_loss, ref = bptt.loss_and_grads(flat, xs, ys, activation=activation)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
    for got, want in zip(grads.arrays(), (ref.U, ref.W, ref.b, ref.V, ref.c)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    hs, logits = bptt.forward(flat, xs, activation=activation)
    tops, deep_logits = bptt.deep_forward(p, xs, activation=activation)
    np.testing.assert_allclose(tops, hs[1:], rtol=1e-12)
    np.testing.assert_allclose(deep_logits, logits, rtol=1e-12, atol=1e-14)


def test_reverse_direction_is_the_forward_rnn_on_reversed_time():
    p, xs, ys = random_deep(T=6, B=2, layers=1, bidirectional=True, seed=3)
    rev = p.cells[0][1]
    hs, _ = bptt.forward(bptt.RNNParams(rev.U, rev.W, np.zeros((1, p.n_hidden)), rev.b, np.zeros(1)),
                         xs[::-1])
    tops, _ = bptt.deep_forward(p, xs)
    np.testing.assert_allclose(tops[:, :, p.n_hidden:], hs[1:][::-1], rtol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_finite_differences(activation):
    p, xs, ys = random_deep(T=4, B=2, D=2, H=3, K=3, layers=2, bidirectional=True, seed=11)
    _, grads = bptt.deep_loss_and_grads(p, xs, ys, activation=activation)
    theta, g = p.flat(), grads.flat()
    shapes = [a.shape for a in p]

    def loss_at(vec):
        parts, i = [], 0
        for s in shapes:
            n = int(np.prod(s))
            parts.append(vec[i:i + n].reshape(s))
            i += n
        it = iter(parts)
        cells = [[bptt.CellParams(next(it), next(it), next(it)) for _ in range(p.n_dir)] for _ in range(p.n_layers)]
        return bptt.deep_loss_and_grads(bptt.DeepRNNParams(cells, next(it), next(it)), xs, ys,
                                        activation=activation)[0]

    eps = 1e-6
    fd = np.array([(loss_at(theta + eps * e) - loss_at(theta - eps * e)) / (2 * eps) for e in np.eye(theta.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- diagnostics
def test_gradient_norms_match_autograd():
    p, xs, ys = random_deep(T=5, B=2, D=2, H=3, K=3, layers=2, bidirectional=True, seed=5)
    G = deep.deep_gradient_norms(p, xs, ys, activation="tanh")
    assert G.shape == (5, 2, 2, 5)
    tensors = [torch.tensor(a, requires_grad=True) for a in p.arrays()]
    for t in range(5):
        # dL_t/dh of every cell, by autograd through an explicit loop that keeps each state as a leaf-like node
        states = {}
        X = torch.from_numpy(xs)
        it = iter(tensors[:-2])
        for l, layer in enumerate(p.cells):
            outs = []
            for d in range(len(layer)):
                U, W, b = next(it), next(it), next(it)
                h = torch.zeros(xs.shape[1], p.n_hidden, dtype=torch.float64)
                hs = [None] * 5
                for s in (range(5) if d == 0 else range(4, -1, -1)):
                    h = torch.tanh(X[s] @ U.T + h @ W.T + b)
                    h.retain_grad()
                    hs[s] = states[l, d, s] = h
                outs.append(torch.stack(hs))
            X = torch.cat(outs, dim=-1)
        logits = X @ tensors[-2].T + tensors[-1]
        F.cross_entropy(logits[t], torch.from_numpy(ys[t])).backward()
        for (l, d, s), h in states.items():
            want = 0.0 if h.grad is None else float(h.grad.norm())
            np.testing.assert_allclose(G[t, l, d, s], want, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_input_connectivity_matches_autograd(bidirectional):
    p, xs, _ = random_deep(T=5, B=2, D=2, H=3, K=3, layers=2, bidirectional=bidirectional, seed=2)
    C = deep.input_connectivity(p, xs, activation="tanh")
    x = torch.from_numpy(xs)
    tensors = [torch.tensor(a) for a in p.arrays()]

    def logits_of(x):
        return torch_loop_tops(p, tensors[:-2], x, "tanh") @ tensors[-2].T + tensors[-1]

    J = torch.autograd.functional.jacobian(logits_of, x)          # (T, B, K, T, B, D)
    want = np.sqrt(np.einsum("tbkscd->ts", J.numpy() ** 2))
    np.testing.assert_allclose(C, want, rtol=1e-9, atol=1e-13)
    if not bidirectional:
        assert np.all(np.triu(C, 1) == 0)        # a forward RNN never sees the future
    else:
        assert np.all(C > 0)


# --------------------------------------------------------------------------- the parameter objects
def test_random_structure_and_conveniences():
    p = bptt.DeepRNNParams.random(3, 4, 5, n_layers=3, bidirectional=True, seed=1)
    assert (p.n_layers, p.n_dir, p.n_in, p.n_hidden, p.n_out) == (3, 2, 3, 4, 5)
    assert p.cells[0][0].U.shape == (4, 3) and p.cells[1][1].U.shape == (4, 8) and p.V.shape == (5, 8)
    assert len(p.arrays()) == 3 * 2 * 3 + 2 and p.flat().size == p.n_params
    rnn = deep_study.to_torch(p, "tanh")
    # torch has a second bias per cell (bias_hh, H entries); the head adds K * 2H + K
    assert p.n_params == sum(t.numel() for t in rnn.parameters()) - 3 * 2 * 4 + 5 * 8 + 5
    np.testing.assert_array_equal(bptt.DeepRNNParams.random(3, 4, 5, n_layers=3, bidirectional=True, seed=1).flat(),
                                  p.flat())
    assert not np.array_equal(bptt.DeepRNNParams.random(3, 4, 5, seed=2).flat(),
                              bptt.DeepRNNParams.random(3, 4, 5, seed=3).flat())
    np.testing.assert_allclose(p.map(lambda a: 2 * a).flat(), 2 * p.flat())
    np.testing.assert_allclose(p.norm(), np.linalg.norm(p.flat()))
    cell = p.cells[0][0]
    assert [a is b for a, b in zip(cell, (cell.U, cell.W, cell.b))] == [True] * 3
    assert cell.flat().size == 4 * 3 + 16 + 4
    assert isinstance(p.cells, list) and all(isinstance(layer, list) for layer in p.cells)


# --------------------------------------------------------------------------- bad inputs
def cell(H=4, D=3):
    return bptt.CellParams(np.zeros((H, D)), np.zeros((H, H)), np.zeros(H))


GOOD = bptt.DeepRNNParams.random(3, 4, 5, n_layers=2, bidirectional=True)
XS = np.zeros((4, 2, 3))
YS = np.zeros((4, 2), dtype=int)

STRUCTURE_CASES = [
    ("cells not a list", dict(cells=cell()), "cells must be a non-empty list"),
    ("cells empty", dict(cells=[]), "cells must be a non-empty list"),
    ("flat list of cells", dict(cells=[cell(), cell(4, 8)]), r"cells\[0\] must be a list"),
    ("three directions", dict(cells=[[cell(), cell(), cell()]]), "1 .forward. or 2"),
    ("not a CellParams", dict(cells=[[np.zeros((4, 3))]]), r"cells\[0\]\[0\] must be a CellParams"),
    ("unequal directions", dict(cells=[[cell(), cell()], [cell(4, 8)]]), "same number of directions"),
    ("unequal H", dict(cells=[[cell(), cell(5, 3)]], V=np.zeros((5, 8))), "same H = 4"),
    ("unequal H across layers", dict(cells=[[cell()], [cell(5, 4)]], V=np.zeros((5, 5))), "same H = 4"),
    ("U width vs layer below", dict(cells=[[cell(), cell()], [cell(4, 4), cell(4, 4)]]), r"H \* n_dir"),
    ("layer 0 directions read different D", dict(cells=[[cell(), cell(4, 2)]], V=np.zeros((5, 8))),
     "same D inputs"),
    ("V width", dict(V=np.zeros((5, 4))), r"V must have shape \(K, H \* n_dir\)"),
    ("V 1-d", dict(V=np.zeros(8)), "V must have 2 dimensions"),
    ("c wrong K", dict(c=np.zeros(4)), r"c must have shape \(K,\)"),
    ("V NaN", dict(V=np.full((5, 8), np.nan)), "V contains NaN"),
]


@pytest.mark.parametrize("case", STRUCTURE_CASES, ids=[c[0] for c in STRUCTURE_CASES])
def test_bad_structure(case):
    _, overrides, message = case
    kw = dict(cells=GOOD.cells, V=GOOD.V, c=GOOD.c) | overrides
    with pytest.raises(ValueError, match=message):
        bptt.DeepRNNParams(**kw)


CELL_CASES = [
    ("W not square", dict(W=np.zeros((4, 3))), r"W must have shape \(H, H\)"),
    ("b wrong H", dict(b=np.zeros(3)), r"b must have shape \(H,\)"),
    ("U 1-d", dict(U=np.zeros(4)), "U must have 2 dimensions"),
    ("U inf", dict(U=np.full((4, 3), np.inf)), "U contains NaN or inf"),
    ("W strings", dict(W=np.full((4, 4), "a")), "W must be a real numeric array"),
]


@pytest.mark.parametrize("case", CELL_CASES, ids=[c[0] for c in CELL_CASES])
def test_bad_cell(case):
    _, overrides, message = case
    with pytest.raises(ValueError, match=message):
        bptt.CellParams(**(dict(U=np.zeros((4, 3)), W=np.zeros((4, 4)), b=np.zeros(4)) | overrides))


XS_NAN, XS_INF = XS.copy(), XS.copy()
XS_NAN[1, 0, 2], XS_INF[0, 1, 0] = np.nan, np.inf

CALL_CASES = [
    ("xs 2-d", dict(xs=XS[0]), "xs must have 3 dimensions"),
    ("xs wrong D", dict(xs=np.zeros((4, 2, 4))), "D = 3"),
    ("xs empty sequence", dict(xs=np.zeros((0, 2, 3)), ys=np.zeros((0, 2), dtype=int)), "empty sequence"),
    ("xs empty batch", dict(xs=np.zeros((4, 0, 3)), ys=np.zeros((4, 0), dtype=int)), "empty batch"),
    ("xs NaN", dict(xs=XS_NAN), "xs contains NaN or inf"),
    ("xs inf", dict(xs=XS_INF), "xs contains NaN or inf"),
    ("xs bool", dict(xs=np.zeros((4, 2, 3), dtype=bool)), "real numeric array"),
    ("activation", dict(activation="softplus"), "activation must be one of"),
    ("params type", dict(params=bptt.RNNParams.random(3, 4, 5)), "params must be a DeepRNNParams"),
]
LABEL_CASES = [
    ("ys wrong T", dict(ys=np.zeros((5, 2), dtype=int)), r"ys must have shape \(T, B\)"),
    ("ys 1-d", dict(ys=np.zeros(4, dtype=int)), r"ys must have shape \(T, B\)"),
    ("ys float", dict(ys=np.zeros((4, 2))), "integer dtype"),
    ("ys negative", dict(ys=np.full((4, 2), -1)), r"ys must lie in \[0, K\)"),
    ("ys == K", dict(ys=np.full((4, 2), 5)), r"ys must lie in \[0, K\)"),
]


LABELLED = ("deep_loss_and_grads", "deep_gradient_norms")
BAD_CALLS = [(fn, case) for fn in LABELLED + ("deep_forward", "input_connectivity")
             for case in CALL_CASES + (LABEL_CASES if fn in LABELLED else [])]


@pytest.mark.parametrize("fn, case", BAD_CALLS, ids=[f"{fn}-{case[0]}" for fn, case in BAD_CALLS])
def test_bad_call(fn, case):
    _, overrides, message = case
    kw = dict(params=GOOD, xs=XS, ys=YS, activation="tanh") | overrides
    args = (kw["params"], kw["xs"]) + ((kw["ys"],) if fn in LABELLED else ())
    with pytest.raises(ValueError, match=message):
        getattr(deep, fn)(*args, activation=kw["activation"])


@pytest.mark.parametrize("kw", [dict(n_layers=0), dict(n_layers=1.5), dict(bidirectional="yes")])
def test_bad_random(kw):
    with pytest.raises(ValueError, match="n_layers|bidirectional"):
        bptt.DeepRNNParams.random(3, 4, 5, **kw)


@pytest.mark.parametrize("sizes", [(0, 4, 5), (3, -1, 5), (3, 4, 2.5)])
def test_bad_random_sizes(sizes):
    with pytest.raises(ValueError, match="n_in|n_hidden|n_out"):
        bptt.DeepRNNParams.random(*sizes)


# --------------------------------------------------------------------------- the chapter's studies
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shortest_paths_in_the_unrolled_graph(bidirectional):
    from math import comb, inf
    for N in range(1, 5):
        edges = deep_study.unrolled_graph(N, 7, bidirectional)
        for t in range(1, 8):
            for k in range(1, 8):
                length, count = deep_study.shortest_paths(edges, ("x", k), ("o", t))
                if k > t and not bidirectional:
                    assert (length, count) == (inf, 0)
                else:
                    assert length == N + 1 + abs(t - k)
                if not bidirectional:
                    assert count == (comb(t - k + N - 1, N - 1) if k <= t else 0)


def test_future_task_and_training():
    xs, ys = deep_study.future_task(6, 3, 4, 2, np.random.default_rng(0))
    sym = xs.argmax(-1)
    np.testing.assert_array_equal(ys[:4], sym[2:])
    np.testing.assert_array_equal(ys[4:], sym[[5, 5]])
    fwd = deep_study.train_future(1, False, T=6, delay=2, steps=120, hidden=8, n_test=300)
    bi = deep_study.train_future(1, True, T=6, delay=2, steps=120, hidden=8, n_test=300)
    assert fwd.accuracy < 0.35 < 0.8 < bi.accuracy        # chance is 1/4
    with pytest.raises(ValueError, match="delay must be < T"):
        deep_study.train_future(1, True, T=3, delay=3)


def test_exercise_checkers_reject_wrong_answers():
    from math import comb
    count = lambda D, H, K, N, bi: (1 + bi) * (H * D + H * H + H + (N - 1) * (H * H * (1 + bi) + H * H + H)) \
        + K * H * (1 + bi) + K
    budget = count(8, 64, 4, 2, False)
    best = max(H for H in range(1, 200) if count(8, H, 4, 2, True) <= budget)
    assert deep_study.budget_hidden(8, 4, 2, 64) == best
    assert check("deep-1", best) and check("deep-1", np.int64(best))
    for wrong in (best - 1, best + 1, float(best), str(best), round(64 / 2 ** 0.5)):
        assert not check("deep-1", wrong)
    paths = lambda N, t, k: comb(t - k + N - 1, N - 1) if k <= t else 0
    assert check("deep-2", paths)
    assert not check("deep-2", lambda N, t, k: comb(t - k + N - 1, N - 1) if k <= t else 1)
    assert not check("deep-2", lambda N, t, k: comb(t - k + N, N) if k <= t else 0)
    p, xs, ys = deep_study.exercise_problem()
    x = torch.tensor(xs, requires_grad=True)
    tensors = [torch.tensor(a) for a in p.arrays()]
    ce_sum(torch_loop_tops(p, tensors[:-2], x, "tanh") @ tensors[-2].T + tensors[-1], ys).backward()
    assert check("deep-3", x.grad.numpy())
    assert not check("deep-3", x.grad.numpy() * 1.03)   # 3 % off (answers copied to 3 significant digits pass)
    assert not check("deep-3", x.grad.numpy()[::-1])
