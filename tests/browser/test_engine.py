"""The live engine (bptt/present/static/lab/bptt.js) in Chromium against the Python library.

For many seeded random configurations (T 1..30, B 1..4, all four activations, h0 given or not, every
combination of window / detach_every / randomized factors xi) the engine's loss, five gradients, forward
pass, gradient-flow map G, per-copy contributions and clipping must equal bptt's to 1e-9 relative. The
engine is loaded the two ways a reader's browser loads it: imported over HTTP, and, from a file:// page
(where Chromium refuses module imports), through a blob: URL made from the file's text. Bad input must
throw an Error that says what was expected; overflowing settings must not throw. The built site must
serve the same file at _static/lab/bptt.js, importable both ways. The live widget's own numbers (path weights,
the lag panel's profile, bound and factor, the rescaled network, the impulse response, the colour range) match
Python too, and the lag bound holds (bound >= measured, factor <= gamma sigma_max) on random configurations.
"""
from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

import bptt
from bptt.studies import vanishing
from book_site import ROOT, book_pages, serve_directory
from test_book_pages import THIRD_PARTY_NOISE

ENGINE = ROOT / "bptt" / "present" / "static" / "lab" / "bptt.js"
SITE_PATH = "_static/lab/bptt.js"      # where the built site serves it (html_static_path in _config.yml)
RTOL = 1e-9
ACTIVATIONS = tuple(bptt.DERIVATIVE_BOUND)          # "tanh", "sigmoid", "relu", "identity"
# every combination of the three truncation knobs (window, detach_every, xi), in a fixed order
TRUNCATIONS = [(w, d, x) for w in (False, True) for d in (False, True) for x in (False, True)]
N_CONFIGS = 96                          # 4 activations x 8 truncations x 3 draws

# JavaScript: run a list of [function name, args] on the engine (window.bpttEngine); typed arrays come back as
# lists, and an exception comes back as {error, type} instead of failing the whole batch
RUN_CALLS_JS = """(calls) => {
  const plain = (v) => ArrayBuffer.isView(v) ? Array.from(v) : Array.isArray(v) ? v.map(plain)
    : (v && typeof v === "object") ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;
  return calls.map(([name, args]) => {
    try { return { ok: plain(window.bpttEngine[name](...args)) }; }
    catch (e) { return { error: String(e && e.message), type: e && e.constructor && e.constructor.name }; }
  });
}"""

# JavaScript: import the engine from its text through a blob: URL (what a file:// page must do)
IMPORT_FROM_TEXT_JS = """async (source) => {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try { window.bpttEngine = await import(url); } finally { URL.revokeObjectURL(url); }
  return Object.keys(window.bpttEngine).sort();
}"""

IMPORT_FROM_URL_JS = """async (url) => { window.bpttEngine = await import(url); return Object.keys(window.bpttEngine).sort(); }"""

EXPORTS = sorted(["ACTIVATIONS", "DERIVATIVE_BOUND", "forward", "lossAndGrads", "gradientNorms", "copyContributions",
                  "clipGradNorm", "clipElementwise", "flatGrads", "cosine", "relativeError", "lagProfile", "makeRng",
                  "drawXi", "spectralRadius", "topSingularValue", "makeProblem",
                  # the live widget's numbers (widget.js draws them, nothing else computes them)
                  "vectorNorm", "pathWeights", "lagBound", "stepFactor", "lagPanel", "withRadius", "impulseResponse",
                  "logColourRange", "zeroCause", "WIDGET_DIMS", "EXPLODING", "widgetPanels"])


# --------------------------------------------------------------------------- serving and loading
class Engine:
    """A Chromium page with the engine imported as window.bpttEngine; records console and page errors."""

    def __init__(self, browser: Any, site: Path, how: str, base_url: str | None = None,
                 page: str = "index.html") -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: None if any(k in str(e) for k in THIRD_PARTY_NOISE) else self.errors.append(str(e)))
        if how == "http":
            self.page.goto(f"{base_url}/{page}")
            self.exports = self.page.evaluate(IMPORT_FROM_URL_JS, f"/{SITE_PATH}")
        else:   # a page opened from file://, importing the file's text through a blob: URL
            self.page.goto((site / page).as_uri())
            self.exports = self.page.evaluate(IMPORT_FROM_TEXT_JS, (site / SITE_PATH).read_text(encoding="utf-8"))

    def _console(self, m: Any) -> None:
        if m.type != "error" or any(known in m.text for known in THIRD_PARTY_NOISE):
            return
        if (m.location or {}).get("url", "").endswith("/favicon.ico"):   # the browser's own request
            return
        self.errors.append(f"{m.text} ({(m.location or {}).get('url', '')})")

    def calls(self, calls: list[tuple[str, list]]) -> list[dict]:
        return self.page.evaluate(RUN_CALLS_JS, [[name, args] for name, args in calls])

    def call(self, name: str, *args: Any) -> Any:
        (res,) = self.calls([(name, list(args))])
        assert "error" not in res, f"{name} threw: {res['error']}"
        return res["ok"]

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def source_site(tmp_path_factory) -> Path:
    """A minimal site holding the engine's source where the book serves it, next to an empty index.html."""
    site = tmp_path_factory.mktemp("engine_site")
    (site / SITE_PATH).parent.mkdir(parents=True)
    shutil.copyfile(ENGINE, site / SITE_PATH)
    (site / "index.html").write_text("<!doctype html><meta charset='utf-8'><title>engine</title>", encoding="utf-8")
    return site


@pytest.fixture(scope="module", params=["file", "http"])
def engine(request, browser, source_site) -> Iterator[Engine]:
    """The engine in Chromium, loaded from a file:// page through a blob: URL, or imported over HTTP."""
    with serve_directory(source_site) as base:
        e = Engine(browser, source_site, request.param, base)
        assert e.exports == EXPORTS
        yield e
        assert not e.errors, f"errors in the browser console: {e.errors}"
        e.close()


# --------------------------------------------------------------------------- random configurations
def params_json(p: bptt.RNNParams) -> dict:
    return {k: getattr(p, k).tolist() for k in "UWVbc"}


@functools.lru_cache(maxsize=None)
def config(seed: int) -> dict:
    """One random problem and truncation; cycles through every activation x truncation combination."""
    rng = np.random.default_rng(1000 + seed)
    activation = ACTIVATIONS[seed % 4]
    use_window, use_detach, use_xi = TRUNCATIONS[(seed // 4) % 8]
    T, B = int(rng.integers(1, 31)), int(rng.integers(1, 5))
    D, H, K = int(rng.integers(1, 7)), int(rng.integers(1, 11)), int(rng.integers(1, 9))
    # recurrent scale from contracting to expanding (bounded for unbounded activations: no overflow at T = 30)
    scale = rng.uniform(0.3, 2.0 if activation in ("tanh", "sigmoid") else 1.2)
    params = bptt.RNNParams(U=rng.normal(size=(H, D)) / np.sqrt(D), W=rng.normal(size=(H, H)) * scale / np.sqrt(H),
                            V=rng.normal(size=(K, H)) / np.sqrt(H), b=rng.normal(size=H) * 0.3,
                            c=rng.normal(size=K) * 0.3)
    xs = rng.normal(size=(T, B, D))
    ys = rng.integers(0, K, size=(T, B))
    h0 = rng.normal(size=(B, H)) * 0.5 if rng.random() < 0.5 else None
    window = int(rng.integers(1, T + 3)) if use_window else None
    detach = int(rng.integers(1, T + 2)) if use_detach else None
    keep_prob = float(rng.uniform(0.2, 1.0)) if use_xi else None
    xi_seed = int(rng.integers(0, 2**31)) if use_xi else None
    xi = bptt.draw_xi(T, keep_prob, xi_seed) if use_xi else None

    # the Python library's answers
    loss, grads = bptt.loss_and_grads(params, xs, ys, h0, activation=activation, window=window, detach_every=detach,
                                      xi=xi)
    G = bptt.gradient_norms(params, xs, ys, h0, activation=activation, window=window, detach_every=detach, xi=xi)
    hs, logits = bptt.forward(params, xs, h0, activation=activation)
    P = bptt.path_weights(T, window=window, detach_every=detach, xi=xi)   # how strongly L_t reaches step k
    copies = bptt.copy_contributions(params, xs, ys, h0, activation=activation).norms("W") * P
    terms = sorted({T - 1, int(rng.integers(0, T))})
    max_norm = float(rng.uniform(0.1, 1.5)) * grads.norm()
    clipped, norm = bptt.clip_grad_norm(grads, max_norm)
    limit = float(np.median(np.abs(grads.flat()))) + 1e-12
    opts: dict[str, Any] = {"activation": activation} if seed % 3 else {}
    if activation != "tanh":
        opts["activation"] = activation
    if h0 is not None:
        opts["h0"] = h0.tolist()
    for key, value in (("window", window), ("detachEvery", detach), ("xi", None if xi is None else xi.tolist())):
        if value is not None or seed % 2:      # absent keys and explicit nulls both mean "off"
            opts[key] = value
    return dict(
        label=f"seed {seed}: T={T} B={B} D={D} H={H} K={K} {activation} h0={'yes' if h0 is not None else 'no'} "
              f"window={window} detach={detach} keep_prob={keep_prob}",
        args=[params_json(params), xs.tolist(), ys.tolist()], opts=opts, terms=terms,
        loss=loss, grads=grads, G=G, hs=hs, logits=logits, copies=copies,
        max_norm=max_norm, clipped=clipped, norm=norm, limit=limit, clipped_elem=bptt.clip_elementwise(grads, limit))


def assert_close(actual: Any, expected: Any, what: str) -> None:
    """Equal to RTOL relative, entry by entry (plus 1e-3 RTOL of the array's largest entry, for entries that
    are sums which cancel to nearly zero)."""
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=1e-3 * RTOL * scale, err_msg=what)


SEEDS = range(N_CONFIGS)


def test_loss_and_grads_match_python(engine):
    results = engine.calls([("lossAndGrads", config(s)["args"] + [config(s)["opts"]]) for s in SEEDS])
    for s, res in zip(SEEDS, results):
        c = config(s)
        assert "error" not in res, f"{c['label']}: {res.get('error')}"
        assert_close(res["ok"]["loss"], c["loss"], f"{c['label']}: loss")
        for k in "UWVbc":
            assert_close(res["ok"]["grads"][k], getattr(c["grads"], k), f"{c['label']}: d{k}")


def test_gradient_norms_match_python(engine):
    results = engine.calls([("gradientNorms", config(s)["args"] + [config(s)["opts"]]) for s in SEEDS])
    for s, res in zip(SEEDS, results):
        c = config(s)
        assert "error" not in res, f"{c['label']}: {res.get('error')}"
        G = np.asarray(res["ok"])
        assert_close(G, c["G"], f"{c['label']}: G")
        assert np.all(np.triu(G, 1) == 0), f"{c['label']}: G above the diagonal must be exactly 0"


def test_forward_matches_python(engine):
    results = engine.calls([("forward", [config(s)["args"][0], config(s)["args"][1], config(s)["opts"]]) for s in SEEDS])
    for s, res in zip(SEEDS, results):
        c = config(s)
        assert_close(res["ok"]["hs"], c["hs"], f"{c['label']}: hs")
        assert_close(res["ok"]["logits"], c["logits"], f"{c['label']}: logits")


def test_copy_contributions_match_python(engine):
    """Row t of copy_contributions(...).norms("W"), times path_weights' factor when truncated."""
    calls, where = [], []
    for s in SEEDS:
        for t in config(s)["terms"]:
            calls.append(("copyContributions", config(s)["args"] + [t, config(s)["opts"]]))
            where.append((s, t))
    for (s, t), res in zip(where, engine.calls(calls)):
        c = config(s)
        assert "error" not in res, f"{c['label']}: {res.get('error')}"
        assert_close(res["ok"], c["copies"][t], f"{c['label']}: copy contributions of L_{t}")


def test_copy_contributions_sum_to_the_gradient(engine):
    """Untruncated, the copies of L_t's gradient add up to dL_t/dW; for a one-step sequence that is dL/dW."""
    rng = np.random.default_rng(7)
    p = bptt.RNNParams.random(3, 4, 5, seed=2)
    xs, ys = rng.normal(size=(1, 2, 3)), rng.integers(0, 5, (1, 2))
    _, g = bptt.loss_and_grads(p, xs, ys)
    (norm,) = engine.call("copyContributions", params_json(p), xs.tolist(), ys.tolist(), 0)
    np.testing.assert_allclose(norm, np.linalg.norm(g.W), rtol=RTOL)


def test_clipping_matches_python(engine):
    calls = []
    for s in SEEDS:
        c = config(s)
        g = params_json(c["grads"])
        calls += [("clipGradNorm", [g, c["max_norm"]]), ("clipElementwise", [g, c["limit"]]), ("flatGrads", [g])]
    results = engine.calls(calls)
    for i, s in enumerate(SEEDS):
        c = config(s)
        by_norm, by_entry, flat = (r["ok"] for r in results[3 * i:3 * i + 3])
        assert_close(by_norm["norm"], c["norm"], f"{c['label']}: clipGradNorm norm")
        for k in "UWVbc":
            assert_close(by_norm["grads"][k], getattr(c["clipped"], k), f"{c['label']}: clipGradNorm {k}")
            assert_close(by_entry[k], getattr(c["clipped_elem"], k), f"{c['label']}: clipElementwise {k}")
        np.testing.assert_array_equal(flat, c["grads"].flat(), err_msg=f"{c['label']}: flatGrads")


def test_cosine_relative_error_and_lag_profile_match_python(engine):
    for s in range(0, N_CONFIGS, 7):
        c = config(s)
        a, b = params_json(c["grads"]), params_json(c["clipped_elem"])
        np.testing.assert_allclose(engine.call("cosine", a, b), bptt.cosine(c["grads"], c["clipped_elem"]), rtol=RTOL)
        fa, fb = c["clipped_elem"].flat(), c["grads"].flat()
        np.testing.assert_allclose(engine.call("relativeError", b, a),
                                   np.linalg.norm(fa - fb) / np.linalg.norm(fb), rtol=RTOL)
        lp = engine.call("lagProfile", c["G"].tolist())
        lags, profile = bptt.lag_profile(c["G"])
        np.testing.assert_array_equal(lp["lags"], lags)
        assert_close(lp["profile"], profile, f"{c['label']}: lag profile")
    assert engine.call("cosine", [1, 0], [-2, 0]) == -1.0
    constants = engine.page.evaluate("() => [window.bpttEngine.ACTIVATIONS, window.bpttEngine.DERIVATIVE_BOUND]")
    assert tuple(constants[0]) == ACTIVATIONS
    assert constants[1] == bptt.DERIVATIVE_BOUND
    assert engine.call("relativeError", [0, 0], [0, 0]) == 0.0


# --------------------------------------------------------------------------- randomness and problems
def test_draw_xi_is_python_draw_given_the_same_uniforms(engine):
    """drawXi consumes one uniform per step t >= 1 and keeps the step when it is < keepProb, as draw_xi does:
    fed numpy's uniforms it returns exactly bptt.draw_xi's factors."""
    for T, keep_prob, seed in ((1, 0.5, 0), (2, 1.0, 1), (40, 0.3, 2), (200, 0.75, 3)):
        u = np.random.default_rng(seed).random(T - 1).tolist()
        xi = engine.page.evaluate("([T, p, u]) => { let i = 0; return window.bpttEngine.drawXi(T, p, () => u[i++]); }",
                                  [T, keep_prob, u])
        np.testing.assert_array_equal(xi, bptt.draw_xi(T, keep_prob, seed))


def test_draw_xi_distribution(engine):
    T, keep_prob = 20000, 0.3
    xi = np.asarray(engine.page.evaluate(
        "([T, p]) => window.bpttEngine.drawXi(T, p, window.bpttEngine.makeRng(11))", [T, keep_prob]))
    assert xi[0] == 1.0
    assert set(np.unique(xi[1:])) <= {0.0, 1.0 / keep_prob}
    kept = np.mean(xi[1:] > 0)
    assert abs(kept - keep_prob) < 4 * np.sqrt(keep_prob * (1 - keep_prob) / (T - 1)), kept
    assert abs(xi[1:].mean() - 1.0) < 4 * np.sqrt((1 - keep_prob) / keep_prob / (T - 1))


def test_make_rng_is_seeded_uniform_and_normal(engine):
    draws = engine.page.evaluate("""() => {
      const E = window.bpttEngine, r = E.makeRng(5), q = E.makeRng(5), o = E.makeRng(6);
      const u = Array.from({ length: 20000 }, () => r.random()), n = Array.from({ length: 20000 }, () => r.normal());
      return { u, n, same: q.random() === u[0], other: o.random() !== u[0], ints: Array.from({ length: 1000 }, () => r.integer(7)) };
    }""")
    u, n = np.asarray(draws["u"]), np.asarray(draws["n"])
    assert draws["same"] and draws["other"]
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    assert set(draws["ints"]) == set(range(7))


@pytest.mark.parametrize("kind", ["orthogonal", "gaussian", "identity"])
def test_make_problem(engine, kind):
    spec = dict(T=12, B=2, D=3, H=16, K=5, rho=1.3, wKind=kind, inputScale=0.5, seed=4)
    prob = engine.call("makeProblem", spec)
    assert prob == engine.call("makeProblem", spec), "makeProblem must be deterministic for a seed"
    assert prob != engine.call("makeProblem", {**spec, "seed": 5})
    p = bptt.RNNParams(**{k: np.asarray(v) for k, v in prob["params"].items()})
    assert (p.n_in, p.n_hidden, p.n_out) == (3, 16, 5)
    xs, ys = np.asarray(prob["xs"]), np.asarray(prob["ys"])
    assert xs.shape == (12, 2, 3) and ys.shape == (12, 2) and ys.min() >= 0 and ys.max() < 5
    rho = np.max(np.abs(np.linalg.eigvals(p.W)))
    sigma = np.linalg.norm(p.W, 2)
    if kind == "gaussian":
        assert rho == pytest.approx(1.3, rel=1e-2)   # scaled by a power-iteration estimate
    else:
        assert rho == pytest.approx(1.3, rel=1e-12) and sigma == pytest.approx(1.3, rel=1e-12)
    np.testing.assert_allclose(engine.call("topSingularValue", p.W.tolist()), sigma, rtol=1e-6)
    np.testing.assert_allclose(engine.call("spectralRadius", p.W.tolist()), rho, rtol=1e-2)
    # the problem runs through the Python library and the engine alike
    G = engine.call("gradientNorms", prob["params"], prob["xs"], prob["ys"])
    assert_close(G, bptt.gradient_norms(p, xs, ys), f"makeProblem {kind}: G")


# --------------------------------------------------------------------------- bad input and overflow
def _small() -> tuple[dict, list, list]:
    p = bptt.RNNParams.random(3, 4, 5, seed=0)
    rng = np.random.default_rng(0)
    return params_json(p), rng.normal(size=(6, 2, 3)).tolist(), rng.integers(0, 5, (6, 2)).tolist()


def _bad_inputs() -> list[tuple[str, str, list, str]]:
    p, xs, ys = _small()
    W_short = {**p, "W": p["W"][:3]}
    xs_nan = [[row[:] for row in step] for step in xs]
    xs_nan[2][1][0] = float("nan")
    xs_ragged = [[row[:] for row in step] for step in xs]
    xs_ragged[4][1] = xs_ragged[4][1][:2]
    ys_big = [r[:] for r in ys]
    ys_big[3][0] = 5
    ys_float = [r[:] for r in ys]
    ys_float[1][1] = 1.5
    return [
        ("W shape", "lossAndGrads", [W_short, xs, ys], "params.W must have shape (H, H) = (4, 4), got (3, 4)"),
        ("V missing", "lossAndGrads", [{k: v for k, v in p.items() if k != "V"}, xs, ys], "V is missing"),
        ("xs D", "lossAndGrads", [p, [[r[:2] for r in s] for s in xs], ys], "xs must have shape (T, B, D) with D = 3"),
        ("xs ragged", "gradientNorms", [p, xs_ragged, ys], "xs[4][1]"),
        ("xs empty", "gradientNorms", [p, [], []], "T must be >= 1"),
        ("xs NaN", "lossAndGrads", [p, xs_nan, ys], "xs[2][1][0] is NaN; all entries of xs must be finite"),
        ("ys shape", "lossAndGrads", [p, xs, ys[:5]], "ys must have shape (T, B) = (6, 2), got (5, 2)"),
        ("ys range", "lossAndGrads", [p, xs, ys_big], "ys must lie in [0, K) = [0, 5), got ys[3][0] = 5"),
        ("ys integer", "gradientNorms", [p, xs, ys_float], "ys[1][1] must be an integer class index in [0, K)"),
        ("activation", "lossAndGrads", [p, xs, ys, {"activation": "softplus"}],
         'activation must be one of "tanh", "sigmoid", "relu", "identity"; got "softplus"'),
        ("window 0", "gradientNorms", [p, xs, ys, {"window": 0}], "window must be an integer >= 1"),
        ("window float", "lossAndGrads", [p, xs, ys, {"window": 2.5}], "window must be an integer >= 1"),
        ("detach 0", "lossAndGrads", [p, xs, ys, {"detachEvery": 0}], "detachEvery must be an integer >= 1"),
        ("xi length", "gradientNorms", [p, xs, ys, {"xi": [1, 1]}], "xi must have shape (T,) = (6,), got (2,)"),
        ("xi NaN", "gradientNorms", [p, xs, ys, {"xi": [1, 1, None, 1, 1, 1]}], "xi[2] must be a number"),
        ("h0 shape", "lossAndGrads", [p, xs, ys, {"h0": [[0] * 4]}], "h0 must have shape (B, H) = (2, 4), got (1, 4)"),
        ("unknown option", "lossAndGrads", [p, xs, ys, {"detach_every": 2}], 'unknown option "detach_every"'),
        ("copy t", "copyContributions", [p, xs, ys, 6], "t must be an integer loss-term index in [0, T) = [0, 6)"),
        ("maxNorm", "clipGradNorm", [p, -1], "maxNorm must be a finite number >= 0"),
        ("threshold", "clipElementwise", [p, 0], "threshold must be a finite number > 0"),
        ("keepProb", "drawXi", [5, 1.5], "keepProb must be a number in (0, 1]"),
        ("wKind", "makeProblem", [{"T": 3, "wKind": "random"}], 'wKind must be one of "orthogonal", "gaussian", "identity"'),
        ("cosine zero", "cosine", [[0, 0], [1, 0]], "the cosine of a zero vector is undefined"),
    ]


def test_bad_input_throws_error_saying_what_was_expected(engine):
    cases = _bad_inputs()
    results = engine.calls([(fn, args) for _, fn, args, _ in cases])
    for (label, fn, _, expected), res in zip(cases, results):
        assert "error" in res, f"{label}: {fn} accepted bad input"
        assert res["type"] == "Error", f"{label}: threw {res['type']}, expected Error"
        assert expected in res["error"], f"{label}: message {res['error']!r} does not say {expected!r}"


def test_python_rejects_the_same_inputs():
    """The engine refuses what the library refuses (the shapes, labels, activation and window cases)."""
    p, xs, ys = _small()
    params = bptt.RNNParams(**{k: np.asarray(v) for k, v in p.items()})
    xs_a, ys_a = np.asarray(xs), np.asarray(ys)
    for kwargs in ({"activation": "softplus"}, {"window": 0}, {"detach_every": 0}):
        with pytest.raises(ValueError):
            bptt.loss_and_grads(params, xs_a, ys_a, **kwargs)
    with pytest.raises(ValueError):
        bptt.loss_and_grads(params, xs_a, np.where(ys_a == 0, 5, ys_a))
    with pytest.raises(ValueError):
        bptt.gradient_norms(params, xs_a, ys_a, xi=np.ones(2))


def test_overflow_returns_non_finite_values_without_throwing(engine):
    """Exploding settings (identity activation, rho = 50, T = 200) give Infinity/NaN for the caller to handle."""
    out = engine.page.evaluate("""() => {
      const E = window.bpttEngine;
      const { params, xs, ys } = E.makeProblem({ T: 200, H: 8, rho: 50, wKind: "identity", seed: 1 });
      const opts = { activation: "identity" };
      const G = E.gradientNorms(params, xs, ys, opts), r = E.lossAndGrads(params, xs, ys, opts);
      const c = E.copyContributions(params, xs, ys, 199, opts), clip = E.clipGradNorm(r.grads, 1);
      const all = [G.flat(), [r.loss], E.flatGrads(r.grads), c, E.flatGrads(clip.grads)].map((a) => Array.from(a));
      return all.map((a) => a.every(Number.isFinite));
    }""")
    assert out[0] is False and out[1] is False, "this setting overflows: the results must show it"


# --------------------------------------------------------------------------- the built site
def test_built_site_serves_the_engine(html_root):
    built = html_root / SITE_PATH
    assert built.exists(), f"{built} is missing: _config.yml html_static_path must list bptt/present/static"
    assert built.read_bytes() == ENGINE.read_bytes(), f"{built} differs from {ENGINE}: rebuild the book"


@pytest.mark.parametrize("how", ["file", "http"])
def test_built_site_engine_imports_and_matches_python(browser, html_root, how):
    """From the built book's index.html, opened from file:// (blob: import) and over HTTP (plain import)."""
    with serve_directory(html_root) as base:
        e = Engine(browser, html_root, how, base, page=book_pages()[0])   # index.html only redirects
        try:
            assert e.exports == EXPORTS
            for s in (5, 22, 47):
                c = config(s)
                assert_close(e.call("gradientNorms", *c["args"], c["opts"]), c["G"], f"built site, {how}: G")
                assert_close(e.call("lossAndGrads", *c["args"], c["opts"])["loss"], c["loss"], f"built site, {how}: loss")
            assert not e.errors, f"errors in the browser console: {e.errors}"
        finally:
            e.close()


# --------------------------------------------------------------------------- the live widget's numbers
def _step_factor(G: np.ndarray) -> float:
    """Python's reading of the engine's stepFactor: exp of the slope through the origin of log r_l against l."""
    T, num, den = G.shape[0], 0.0, 0.0
    for lag in range(1, T):
        logs = [np.log(G[t, t - lag] / G[t, t]) for t in range(lag, T)
                if G[t, t - lag] > 0 and np.isfinite(G[t, t - lag]) and np.isfinite(G[t, t])]
        if logs:
            num, den = num + lag * np.mean(logs), den + lag * lag
    return float(np.exp(num / den)) if den else float("nan")


def test_path_weights_match_python(engine):
    calls = []
    for s in SEEDS:
        c = config(s)
        calls.append(("pathWeights", [len(c["args"][1]), {k: v for k, v in c["opts"].items() if k in ("window", "detachEvery", "xi")}]))
    for s, res in zip(SEEDS, engine.calls(calls)):
        c, o = config(s), calls[s][1][1]
        P = bptt.path_weights(len(c["args"][1]), window=o.get("window"), detach_every=o.get("detachEvery"),
                              xi=None if o.get("xi") is None else np.array(o["xi"]))
        assert_close(res["ok"], P, f"{c['label']}: path weights")


def test_lag_panel_matches_python_and_its_bound_holds(engine):
    """On every random configuration's full-BPTT map: the profile is lag_profile's, the bound is profile_bound's
    wherever that is defined (no zero entries), the bound is >= the measured profile at every lag and the measured
    factor per step back is <= gamma sigma_max (eq-van-loss-bound), zeros in the map or not."""
    calls, cases = [], []
    for s in SEEDS:
        c = config(s)
        params = bptt.RNNParams(*(np.array(c["args"][0][k]) for k in "UWVbc"))
        h0 = None if "h0" not in c["opts"] else np.array(c["opts"]["h0"])
        act = c["opts"].get("activation", "tanh")
        G = bptt.gradient_norms(params, np.array(c["args"][1]), np.array(c["args"][2]), h0, activation=act)
        sigma = float(np.linalg.norm(params.W, 2))
        cases.append((c["label"], G, sigma, act))
        calls.append(("lagPanel", [G.tolist(), sigma, act]))
    zeros = 0
    for (label, G, sigma, act), res in zip(cases, engine.calls(calls)):
        assert "error" not in res, f"{label}: {res.get('error')}"
        r, rate = res["ok"], bptt.DERIVATIVE_BOUND[act] * sigma
        _, prof = bptt.lag_profile(G)
        assert_close(r["profile"], prof, f"{label}: lag profile")
        assert r["rate"] == pytest.approx(rate, rel=1e-12)
        # profile_bound averages over the same steps as the engine, zeros in the map or not
        assert_close(r["bound"], vanishing.profile_bound(G, sigma, bptt.DERIVATIVE_BOUND[act]), f"{label}: bound")
        zeros += not np.all(np.tril(G) > 0)
        assert np.all(np.array(r["profile"]) <= np.array(r["bound"]) * (1 + 1e-9)), f"{label}: bound below the profile"
        expected = _step_factor(G)
        if np.isnan(expected):
            assert r["factor"] is None or np.isnan(r["factor"])
        else:
            assert r["factor"] == pytest.approx(expected, rel=1e-9), label
            assert r["factor"] <= rate * (1 + 1e-9), f"{label}: measured factor above the bound"
    assert 0 < zeros < len(cases)   # maps with and without zero entries were compared


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_widget_lag_bound_holds_on_random_widget_settings(engine, activation):
    """The lag panel the widget draws, for random settings over the controls' whole ranges (rho up to 2.5, T up
    to 200, where maps have exactly-zero rows and entries): bound >= measured at every lag, factor <= bound."""
    rng = np.random.default_rng(18 + ACTIVATIONS.index(activation))
    settings = []
    for i in range(6):
        settings.append({"rho": float(rng.uniform(0.1, 2.5)), "w_kind": ["orthogonal", "gaussian", "identity"][i % 3],
                         "activation": activation, "input_scale": float(rng.uniform(0.05, 5)),
                         "T": int(rng.integers(2, 201)), "truncation": "full", "k": 1, "keep_prob": 1.0, "seed": 0,
                         "clipping": "none", "threshold": 1.0, "t": 1, "problem_seed": int(rng.integers(0, 100)),
                         "network": None})
    for s, res in zip(settings, engine.calls([("widgetPanels", [s, ["lag"]]) for s in settings])):
        assert "error" not in res, f"{s}: {res.get('error')}"
        lag = res["ok"]["lag"]
        prof, bound = np.array(lag["profile"], dtype=float), np.array(lag["bound"], dtype=float)
        assert np.all(prof <= bound * (1 + 1e-9)), f"{s}: the bound falls below the measured profile"
        if lag["factor"] is not None and np.isfinite(lag["factor"]):
            assert lag["factor"] <= lag["rate"] * (1 + 1e-9), s


def test_with_radius_and_impulse_match_python(engine):
    from bptt.studies import demo
    rng = np.random.default_rng(5)
    for H, D, K, B, act in ((6, 3, 4, 1, "tanh"), (5, 2, 3, 3, "relu"), (4, 4, 2, 2, "identity")):
        params = bptt.RNNParams(rng.normal(size=(H, D)), rng.normal(size=(H, H)) / np.sqrt(H), rng.normal(size=(K, H)),
                                rng.normal(size=H), rng.normal(size=K))
        radius = float(np.abs(np.linalg.eigvals(params.W)).max())
        scaled = engine.call("withRadius", params_json(params), 1.3, radius, 0.7)
        assert_close(scaled["W"], params.W * 1.3 / radius, "W rescaled")
        assert_close(scaled["U"], params.U * 0.7, "U scaled")
        assert_close(scaled["V"], params.V, "V unchanged")
        h0 = rng.normal(size=(B, H))
        got = engine.call("impulseResponse", params_json(params), 9, {"activation": act, "h0": h0.tolist()})
        hs, _ = bptt.forward(params, demo.impulse(9, D, batch=B), h0, activation=act)
        assert_close(got["units"], hs[1:, 0], f"impulse response ({act})")
        assert_close(got["stateNorms"], np.linalg.norm(hs[1:, 0], axis=1), f"state norms ({act})")
    assert engine.call("vectorNorm", [3e200, 4e200]) == pytest.approx(5e200)


def test_log_colour_range_clamps_to_a_readable_span_and_counts_what_it_clamps(engine):
    narrow = engine.call("logColourRange", [[0.0, 2e-3], [5.0, 0.0]])
    assert (narrow["lo"], narrow["hi"], narrow["clamped"]) == (-3, 1, False)
    values = np.logspace(-150, 79, 1000)          # a vanishing sigmoid or an exploding identity map spans this
    wide = engine.call("logColourRange", values.tolist(), 80)
    assert wide["hi"] - wide["lo"] == 80 and wide["clamped"]
    logs = np.log10(values)
    assert wide["below"] == int(np.sum(logs < wide["lo"])) and wide["above"] == int(np.sum(logs > wide["hi"]))


def test_zero_cause_names_why_an_entry_is_zero(engine):
    G = [[1.0, 0.0, 0.0], [0.5, 2.0, 0.0], [0.0, 0.0, 0.0]]
    full = [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    cut = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    causes = engine.calls([("zeroCause", [G, full, 0, 1]), ("zeroCause", [G, full, 1, 0]),
                           ("zeroCause", [G, full, 2, 0]), ("zeroCause", [G, cut, 2, 0]),
                           ("zeroCause", [[[1.0, 0], [0.0, 1.0]], full, 1, 0])])
    assert [c["ok"] for c in causes] == ["future", None, "silent", "truncated", "vanished"]
