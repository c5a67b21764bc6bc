"""bptt.studies.torch_ref and bptt.studies.charlm: autograd equals the library's BPTT for every truncation strategy; detach
shows up in the graph and in which states receive gradient; the character model's pieces keep their
promises (batches continue each other, truncation switches that change nothing change nothing, gradients
of the connectivity view match finite differences)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt
from bptt.present import check, figures
from bptt.studies import charlm, torch_ref, truncation_study as ts
from rnn_reference import activations, assert_grads_close, problems, random_problem, seeds


# --------------------------------------------------------------------------- autograd == library
@settings(max_examples=25)
@given(prob=problems(), activation=activations, seed=seeds, window=st.sampled_from([None, 1, 3]),
       detach_every=st.sampled_from([None, 1, 2, 4]), keep_prob=st.sampled_from([None, 0.3, 0.8]))
def test_autograd_equals_library(prob, activation, seed, window, detach_every, keep_prob):
    """Full BPTT, window, detach chunks, randomized truncation (same rng -> same xi) and their combinations."""
    xi = None if keep_prob is None else bptt.draw_xi(prob.xs.shape[0], keep_prob, seed)
    kw = dict(activation=activation, window=window, detach_every=detach_every, xi=xi)
    loss, grads = bptt.loss_and_grads(*prob, **kw)
    t_loss, t_grads = torch_ref.loss_and_grads(*prob, **kw)
    assert t_loss == pytest.approx(loss, rel=1e-12)
    assert_grads_close(t_grads, grads, rtol=1e-11, atol=1e-14)


def test_a_mismatched_strategy_is_caught():
    """The equivalence check has teeth: full BPTT differs from detach-every-3 by far more than round-off."""
    prob = random_problem(T=10, seed=2)
    _, full = torch_ref.loss_and_grads(*prob)
    _, cut = bptt.loss_and_grads(*prob, detach_every=3)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(full.W, cut.W, rtol=1e-10)


def test_from_params_round_trip_and_forward():
    prob = random_problem(T=6, seed=3)
    model = torch_ref.TorchRNN.from_params(prob.params)
    for a, b in zip(model.to_params(), prob.params):
        np.testing.assert_array_equal(a, b)
    hs, logits = model.unroll(torch.as_tensor(prob.xs), torch.as_tensor(prob.h0))
    ref_hs, ref_logits = bptt.forward(prob.params, prob.xs, prob.h0)
    np.testing.assert_allclose(torch.stack(hs).detach().numpy(), ref_hs, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(logits.detach().numpy(), ref_logits, rtol=1e-13, atol=1e-15)


# --------------------------------------------------------------------------- what detach does to the graph
@pytest.mark.parametrize("detach_every", [None, 1, 3, 4])
def test_gradient_map_equals_library(detach_every):
    prob = random_problem(T=10, seed=4)
    xi = bptt.draw_xi(10, 0.5, np.random.default_rng(1))
    for x in (None, xi):
        np.testing.assert_allclose(torch_ref.gradient_map(*prob, detach_every=detach_every, xi=x),
                                   bptt.gradient_norms(*prob, detach_every=detach_every, xi=x),
                                   rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("T,k,term", [(10, 4, 7), (10, 4, 9), (12, 3, 2), (8, None, 7)])
def test_states_receiving_gradient_are_the_chunk(T, k, term):
    """retain_grad: L_term's gradient reaches exactly the states from the last detach up to term."""
    prob = random_problem(T=T, seed=6)
    norms = torch_ref.state_gradient_norms(*prob, term=term, detach_every=k)
    got = [int(i) for i in np.flatnonzero(norms)]
    start = 0 if k is None else (term // k) * k
    assert got == list(range(start, term + 1)) == ts.lookback_steps(term, T, detach_every=k).tolist()


@pytest.mark.parametrize("T,k", [(10, None), (10, 4), (12, 3), (7, 1)])
def test_graph_stats_count_the_steps(T, k):
    """The graph behind the final state holds one tanh node per step since the last detach, and its depth
    grows by the same amount per step."""
    prob = random_problem(T=T, seed=7)
    model = torch_ref.TorchRNN.from_params(prob.params)
    hs, _ = model.unroll(torch.as_tensor(prob.xs), detach_every=k)
    stats = torch_ref.graph_stats(hs[-1])
    steps = T if k is None else T - ((T - 1) // k) * k
    assert stats.steps == steps
    one, two = (torch_ref.graph_stats(model.unroll(torch.as_tensor(prob.xs[:n]))[0][-1]) for n in (1, 2))
    assert stats.depth == one.depth + (steps - 1) * (two.depth - one.depth) and two.depth > one.depth


def test_graph_stats_rejects_a_leaf():
    with pytest.raises(ValueError, match="grad_fn"):
        torch_ref.graph_stats(torch.zeros(3))


def test_bad_inputs():
    prob = random_problem(T=5, seed=0)
    with pytest.raises(ValueError, match="method"):
        torch_ref.loss_and_grads(*prob, method="randomized")
    with pytest.raises(ValueError, match="xi"):
        torch_ref.loss_and_grads(*prob, xi=np.ones(4))
    with pytest.raises(ValueError, match="window"):
        torch_ref.loss_and_grads(*prob, window=0)
    with pytest.raises(ValueError, match="term"):
        torch_ref.state_gradient_norms(*prob, term=5)
    with pytest.raises(ValueError, match="params"):
        torch_ref.TorchRNN.from_params("not params")


# --------------------------------------------------------------------------- the character model
def test_vocab_round_trip_and_unknown_characters():
    vocab = charlm.Vocab.from_text("hello world")
    assert vocab.size == 8 and vocab.decode(vocab.encode("hello")) == "hello"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("hex")


def test_corpus_is_shipped():
    text = charlm.load_text()
    assert len(text) == 1_115_394 and charlm.Vocab.from_text(text).size == 65
    assert text.startswith("First Citizen:")


@pytest.mark.parametrize("n,B,T", [(1000, 4, 10), (997, 3, 7), (64, 2, 5)])
def test_sequential_batches_continue_each_stream(n, B, T):
    ids = np.arange(n)
    batches = charlm.sequential_batches(ids, B, T)
    L, nb = charlm.stream_layout(n, B, T)
    assert len(batches) == nb == charlm.num_batches(n, B, T) == (n // B - 1) // T
    pos = charlm.batch_positions(n, B, T)
    for i, (x, y) in enumerate(batches):
        assert x.shape == y.shape == (T, B)
        np.testing.assert_array_equal(y[:-1], x[1:])                        # y is x shifted by one
        np.testing.assert_array_equal(x.numpy().T, pos[:, i * T:(i + 1) * T])
        if i:
            np.testing.assert_array_equal(x[0], batches[i - 1][1][-1])      # row b continues row b
    with pytest.raises(ValueError, match="seq_len"):
        charlm.stream_layout(10, 4, 5)


def test_adam_on_tensors_is_torch_adam():
    """bptt.Adam.update on torch tensors (what charlm.train does) is torch.optim.Adam's default rule."""
    torch.manual_seed(0)
    a = torch.randn(4, 3)
    b = torch.nn.Parameter(a.clone())
    mine, ref = bptt.Adam(lr=0.01), torch.optim.Adam([b], lr=0.01)
    for _ in range(5):
        g = torch.randn(4, 3)
        (a,) = mine.update([a], [g])
        b.grad = g.clone()
        ref.step()
    torch.testing.assert_close(a, b.detach(), rtol=1e-6, atol=1e-7)


def _tiny_run(**kw):
    vocab = charlm.Vocab.from_text(charlm.load_text(3000))
    ids = vocab.encode(charlm.load_text(3000))
    model = charlm.CharRNN(vocab.size, 16, seed=1)
    return charlm.train(model, ids, n_updates=12, batch_size=4, seq_len=16, seed=0, **kw), model, vocab, ids


def test_truncation_that_cuts_nothing_changes_nothing():
    """detach every k >= seq_len and randomized with keep_prob = 1 give exactly the full-BPTT run."""
    full = _tiny_run(strategy="full")[0].losses
    assert _tiny_run(strategy="detach", k=16)[0].losses == full
    assert _tiny_run(strategy="randomized", keep_prob=1.0)[0].losses == full
    assert _tiny_run(strategy="detach", k=4)[0].losses != full


def test_training_lowers_the_loss_and_clips():
    log, model, vocab, ids = _tiny_run(strategy="detach", k=4, val_ids=None, checkpoints=(0, 6))
    assert np.mean(log.losses[-3:]) < log.losses[0]
    assert set(log.checkpoints) == {0, 6}
    assert charlm.perplexity(0.0) == 1.0 and charlm.perplexity(np.log(65)) == pytest.approx(65)
    pl = charlm.position_losses(model, ids, batch_size=4, seq_len=16, state="reset")
    assert pl.shape == (16,) and np.all(np.isfinite(pl))
    with pytest.raises(ValueError, match="strategy"):
        charlm.train(model, ids, strategy="tbptt")


def test_sampling_is_seeded():
    _, model, vocab, _ = _tiny_run(strategy="full")
    a = charlm.sample(model, vocab, "Fir", 40, seed=3)
    assert a == charlm.sample(model, vocab, "Fir", 40, seed=3) and a.startswith("Fir") and len(a) == 43
    assert a != charlm.sample(model, vocab, "Fir", 40, seed=4)


def test_connectivity_matches_finite_differences():
    """c[k] = ||d o_t[j]/d x_k||: moving x_k a little along its gradient changes o_t[j] at rate c[k]."""
    vocab = charlm.Vocab.from_text(charlm.load_text(2000))
    ids = vocab.encode(charlm.load_text(2000)[:12])
    model = charlm.CharRNN(vocab.size, 8, seed=2, dtype=torch.float64)
    c, j = charlm.connectivity(model, ids, 9)
    assert c.shape == (10,) and np.all(c > 0)
    xs = model.one_hot(torch.as_tensor(ids[:10])[:, None]).detach().requires_grad_(True)
    logit = model.rnn.unroll(xs)[1][-1, 0, j]
    (g,) = torch.autograd.grad(logit, xs)
    eps = 1e-6
    for k in (0, 4, 9):
        d = torch.zeros_like(xs)
        d[k, 0] = g[k, 0] / torch.linalg.norm(g[k, 0])
        with torch.no_grad():
            fd = (model.rnn.unroll(xs + eps * d)[1][-1, 0, j] - model.rnn.unroll(xs - eps * d)[1][-1, 0, j]) / (2 * eps)
        assert float(fd) == pytest.approx(c[k], rel=1e-6)


def test_exercise_checkers():
    assert check("pytorch-1", 150) and check("pytorch-1", np.int64(150))
    assert not check("pytorch-1", 150.0) and not check("pytorch-1", 50)
    assert check("pytorch-2", 65.0) and not check("pytorch-2", np.log(65))
    assert check("pytorch-3", (1_000_000 // 32 - 1) // 50) and not check("pytorch-3", 625)


def test_connectivity_figure_draws_and_validates():
    import matplotlib.pyplot as plt

    c = np.geomspace(1e-4, 1.0, 12)
    fig = figures.connectivity_figure(c, "hello world\n", " ", span=8, title="t")
    assert len(fig.axes) == 2 and len(fig.axes[1].patches) == 8   # one bar per shown character
    plt.close(fig)
    with pytest.raises(ValueError, match="characters"):
        figures.connectivity_figure(c, "short", " ")
