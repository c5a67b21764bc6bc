"""Every bad input named in the contract raises ValueError with a message that says what is wrong."""
from __future__ import annotations

import numpy as np
import pytest

import bptt
from rnn_reference import random_problem

T, B, D, H, K = 4, 2, 3, 5, 3
PARAMS, XS, YS, H0 = random_problem(T, B, D, H, K, seed=0)


def _with(arr, index, value):
    out = np.array(arr, dtype=float)
    out[index] = value
    return out


# (id, overrides of (xs, ys, h0), message fragment); shared by loss_and_grads, forward and gradient_norms
INPUT_CASES = [
    ("xs 2-d", dict(xs=XS[0]), "xs must have 3 dimensions"),
    ("xs 4-d", dict(xs=XS[None]), "xs must have 3 dimensions"),
    ("xs wrong D", dict(xs=np.zeros((T, B, D + 1))), r"D = 3"),
    ("xs empty sequence", dict(xs=np.zeros((0, B, D)), ys=np.zeros((0, B), dtype=int)), "empty sequence"),
    ("xs empty batch", dict(xs=np.zeros((T, 0, D)), ys=np.zeros((T, 0), dtype=int)), "empty batch"),
    ("xs NaN", dict(xs=_with(XS, (1, 0, 2), np.nan)), "xs contains NaN or inf"),
    ("xs inf", dict(xs=_with(XS, (0, 1, 0), -np.inf)), "xs contains NaN or inf"),
    ("xs strings", dict(xs=np.full((T, B, D), "a")), "xs must be a real numeric array"),
    ("h0 1-d", dict(h0=H0[0]), "h0 must have 2 dimensions"),
    ("h0 wrong B", dict(h0=np.zeros((B + 1, H))), r"h0 must have shape \(B, H\)"),
    ("h0 wrong H", dict(h0=np.zeros((B, H - 1))), r"h0 must have shape \(B, H\)"),
    ("h0 NaN", dict(h0=_with(H0, (0, 0), np.nan)), "h0 contains NaN or inf"),
]
LABEL_CASES = [
    ("ys wrong T", dict(ys=np.zeros((T + 1, B), dtype=int)), r"ys must have shape \(T, B\)"),
    ("ys wrong B", dict(ys=np.zeros((T, B - 1), dtype=int)), r"ys must have shape \(T, B\)"),
    ("ys 1-d", dict(ys=np.zeros(T, dtype=int)), r"ys must have shape \(T, B\)"),
    ("ys negative", dict(ys=_with(YS, (0, 0), -1).astype(int)), r"ys must lie in \[0, K\)"),
    ("ys == K", dict(ys=_with(YS, (2, 1), K).astype(int)), r"ys must lie in \[0, K\)"),
    ("ys float", dict(ys=YS.astype(float)), "ys must hold integer class indices"),
    ("ys bool", dict(ys=YS > 0), "ys must hold integer class indices"),
]


def _call(fn, overrides, **kw):
    args = dict(xs=XS, ys=YS, h0=H0) | overrides
    if fn is bptt.forward:
        return fn(PARAMS, args["xs"], args["h0"], **kw)
    return fn(PARAMS, args["xs"], args["ys"], args["h0"], **kw)


@pytest.mark.parametrize("fn", [bptt.loss_and_grads, bptt.forward, bptt.gradient_norms],
                         ids=["loss_and_grads", "forward", "gradient_norms"])
@pytest.mark.parametrize("overrides,match", [c[1:] for c in INPUT_CASES], ids=[c[0] for c in INPUT_CASES])
def test_bad_xs_and_h0(fn, overrides, match):
    """Wrong ndim or sizes, NaN/inf, non-numeric dtype or T = 0 in xs / h0 is rejected by every entry point."""
    with pytest.raises(ValueError, match=match):
        _call(fn, overrides)


@pytest.mark.parametrize("fn", [bptt.loss_and_grads, bptt.gradient_norms], ids=["loss_and_grads", "gradient_norms"])
@pytest.mark.parametrize("overrides,match", [c[1:] for c in LABEL_CASES], ids=[c[0] for c in LABEL_CASES])
def test_bad_labels(fn, overrides, match):
    """ys of the wrong shape, out of [0, K), or of a non-integer dtype (floats, even whole ones) is rejected."""
    with pytest.raises(ValueError, match=match):
        _call(fn, overrides)


@pytest.mark.parametrize("fn", [bptt.loss_and_grads, bptt.forward, bptt.gradient_norms],
                         ids=["loss_and_grads", "forward", "gradient_norms"])
@pytest.mark.parametrize("activation", ["softplus", "Tanh", "", None])
def test_unknown_activation(fn, activation):
    """An activation outside tanh/sigmoid/relu/identity is rejected, naming the allowed ones."""
    with pytest.raises(ValueError, match="activation must be one of 'tanh', 'sigmoid', 'relu', 'identity'"):
        _call(fn, {}, activation=activation)


@pytest.mark.parametrize("fn", [bptt.loss_and_grads, bptt.gradient_norms], ids=["loss_and_grads", "gradient_norms"])
@pytest.mark.parametrize("option", ["window", "detach_every"])
@pytest.mark.parametrize("value", [0, -1, 1.5, 2.0, True, "3"])
def test_bad_window_and_detach_every(fn, option, value):
    """window and detach_every must be integers >= 1 (None switches them off)."""
    with pytest.raises(ValueError, match=f"{option} must be an integer >= 1"):
        _call(fn, {}, **{option: value})


@pytest.mark.parametrize("keep_prob", [0.0, -0.5, 1.0000001, 2, np.nan, np.inf])
def test_keep_prob_outside_unit_interval(keep_prob):
    """draw_xi's keep_prob must lie in (0, 1]."""
    with pytest.raises(ValueError, match=r"keep_prob must lie in \(0, 1\]"):
        bptt.draw_xi(5, keep_prob, 0)


def test_randomized_truncation_has_one_spelling():
    """The randomized factors are passed as xi=; the old spellings raise instead of being ignored."""
    with pytest.raises(ValueError, match="method must be one of"):
        bptt.loss_and_grads(PARAMS, XS, YS, H0, method="randomized")
    for old in (dict(keep_prob=0.5), dict(rng=0)):
        with pytest.raises(TypeError):
            bptt.loss_and_grads(PARAMS, XS, YS, H0, **old)


@pytest.mark.parametrize("method", ["BPTT", "tbptt", "", None])
def test_unknown_method(method):
    """Only 'bptt' and 'naive' are methods."""
    with pytest.raises(ValueError, match="method must be one of 'bptt', 'naive'"):
        bptt.loss_and_grads(PARAMS, XS, YS, H0, method=method)


PARAM_CASES = [  # (id, overrides, message fragment)
    ("U 1-d", dict(U=np.zeros(H)), "U must have 2 dimensions"),
    ("W not square", dict(W=np.zeros((H, H + 1))), r"W must have shape \(H, H\)"),
    ("W wrong H", dict(W=np.zeros((H + 1, H + 1))), r"W must have shape \(H, H\)"),
    ("V wrong H", dict(V=np.zeros((K, H + 1))), r"V must have shape \(K, H\)"),
    ("b wrong H", dict(b=np.zeros(H + 1)), r"b must have shape \(H,\)"),
    ("b 2-d", dict(b=np.zeros((H, 1))), "b must have 1 dimensions"),
    ("c wrong K", dict(c=np.zeros(K + 1)), r"c must have shape \(K,\)"),
    ("W NaN", dict(W=_with(PARAMS.W, (0, 0), np.nan)), "W contains NaN or inf"),
    ("c inf", dict(c=_with(PARAMS.c, 0, np.inf)), "c contains NaN or inf"),
]


@pytest.mark.parametrize("overrides,match", [c[1:] for c in PARAM_CASES], ids=[c[0] for c in PARAM_CASES])
def test_rnnparams_rejects_inconsistent_shapes(overrides, match):
    """RNNParams checks that U (H, D), W (H, H), V (K, H), b (H,), c (K,) fit together and are finite."""
    arrays = dict(U=PARAMS.U, W=PARAMS.W, V=PARAMS.V, b=PARAMS.b, c=PARAMS.c) | overrides
    with pytest.raises(ValueError, match=match):
        bptt.RNNParams(**arrays)


def test_params_must_be_rnnparams():
    """Passing a plain tuple instead of an RNNParams is a ValueError, not an AttributeError."""
    with pytest.raises(ValueError, match="params must be an RNNParams"):
        bptt.loss_and_grads(tuple(PARAMS), XS, YS, H0)


@pytest.mark.parametrize("max_norm", [-1.0, np.nan, np.inf, "1"])
def test_clip_grad_norm_bad_max_norm(max_norm):
    """clip_grad_norm needs a finite max_norm >= 0."""
    with pytest.raises(ValueError, match="max_norm must be a finite number >= 0"):
        bptt.clip_grad_norm(PARAMS, max_norm)


def test_good_inputs_pass():
    """Control: the unmodified inputs are accepted by every entry point (so the cases above fail for
    the reason they name), including integer-valued xs and lists."""
    loss, grads = bptt.loss_and_grads(PARAMS, XS, YS, H0)
    assert np.isfinite(loss) and grads.W.shape == PARAMS.W.shape
    loss_int, _ = bptt.loss_and_grads(PARAMS, XS.round().astype(int).tolist(), YS.tolist(), None, window=2,
                                      detach_every=1)
    assert np.isfinite(loss_int)
    hs, logits = bptt.forward(PARAMS, XS, H0)
    assert hs.shape == (XS.shape[0] + 1,) + H0.shape and logits.shape[:2] == XS.shape[:2]
    G = bptt.gradient_norms(PARAMS, XS, YS, H0)
    assert G.shape == (XS.shape[0],) * 2 and np.all(np.isfinite(G))
    loss_r, grads_r = bptt.loss_and_grads(PARAMS, XS, YS, H0, xi=bptt.draw_xi(len(XS), 1, 0))
    assert loss_r == loss and np.allclose(grads_r.flat(), grads.flat())   # keep_prob = 1 keeps every path


@pytest.mark.parametrize("kw,match", [
    (dict(n_in=0), "n_in must be an integer >= 1"),
    (dict(n_hidden=2.0), "n_hidden must be an integer >= 1"),
    (dict(n_out=True), "n_out must be an integer >= 1"),
    (dict(scale=-1.0), "scale must be a finite number >= 0"),
    (dict(scale=np.nan), "scale must be a finite number >= 0"),
])
def test_random_params_bad_arguments(kw, match):
    """RNNParams.random needs positive integer sizes and a finite scale >= 0."""
    with pytest.raises(ValueError, match=match):
        bptt.RNNParams.random(**(dict(n_in=D, n_hidden=H, n_out=K) | kw))
