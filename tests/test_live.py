"""The live widget's Python side (bptt/present/live.py): traits, clamping, validation, and the ES module it
ships (the engine and the front end joined into one string). The browser side is tested in
tests/browser/test_live_widgets.py."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import traitlets

live = pytest.importorskip("bptt.present.live", reason="anywidget is not installed (pip install -r requirements.txt)")

STATIC = Path(live.__file__).resolve().parent / "static" / "lab"


def test_defaults_are_valid_and_synced():
    w = live.GradientFlowWidget()
    assert w.settings() == {"rho": 1.0, "w_kind": "orthogonal", "activation": "tanh", "input_scale": 1.0, "T": 40,
                            "truncation": "full", "k": 10, "keep_prob": 0.8, "seed": 0, "clipping": "none",
                            "threshold": 1.0, "t": 40}
    synced = set(w.class_trait_names(sync=True))
    assert set(live.CONTROLS) | {"views", "controls", "url_state", "problem_seed", "_esm", "_css"} <= synced
    assert w.views == ["map", "lag"] and w.controls == list(live.CONTROLS) and w.url_state is False


@pytest.mark.parametrize("name, given, expected", [
    ("rho", 9.0, 2.5), ("rho", -1.0, 0.1), ("rho", 1.03, 1.03),
    ("input_scale", 0.0, 0.05), ("input_scale", 50, 5.0),
    ("keep_prob", 0.0, 0.05), ("keep_prob", 2.0, 1.0),
    ("threshold", 0.0, 1e-3), ("threshold", 1e9, 100.0),
    ("T", 500, 200), ("T", 0, 2),
])
def test_numbers_are_clamped_to_the_controls_ranges(name, given, expected):
    w = live.GradientFlowWidget()
    setattr(w, name, given)
    assert getattr(w, name) == pytest.approx(expected)


def test_k_and_t_are_clamped_to_T():
    w = live.GradientFlowWidget(T=12, k=50, t=99)
    assert (w.T, w.k, w.t) == (12, 12, 12)
    w.T = 200
    w.k, w.t = 150, 0
    assert (w.k, w.t) == (150, 1)
    w.T = 30          # shrinking T pulls k and t down with it
    assert (w.k, w.t) == (30, 1)


@pytest.mark.parametrize("name, value", [
    ("activation", "softplus"), ("w_kind", "unitary"), ("truncation", "tbptt"), ("clipping", "value"),
    ("rho", "large"), ("rho", float("nan")), ("seed", -1), ("seed", 1.5), ("problem_seed", True),
    ("views", []), ("views", ["map", "heatmap"]), ("controls", ["rho", "gamma"]),
])
def test_bad_settings_raise_saying_what_was_expected(name, value):
    w = live.GradientFlowWidget()
    with pytest.raises(traitlets.TraitError, match=name):
        setattr(w, name, value)


def test_unknown_keyword_is_an_error():
    with pytest.raises(TypeError, match="unknown settings.*radius"):
        live.GradientFlowWidget(radius=1.0)


def test_views_keep_their_order_without_duplicates():
    w = live.GradientFlowWidget(views=["compare", "map", "compare"])
    assert w.views == ["compare", "map"]


def test_lab_widget_has_every_view_and_keeps_the_url():
    w = live.lab_widget(rho=1.2)
    assert w.views == list(live.VIEWS) and w.url_state is True and w.rho == 1.2


def test_esm_is_the_engine_plus_the_front_end():
    esm = live.GradientFlowWidget._esm
    engine = (STATIC / "bptt.js").read_text(encoding="utf-8")
    assert engine in esm
    for name in ("gradientNorms", "lossAndGrads", "copyContributions", "makeProblem"):
        assert f"export function {name}(" in esm
    assert "export default BpttLiveWidget" in esm
    assert not re.search(r"^\s*import\b", esm, re.M), "a blob:-imported module cannot resolve imports"
    assert live.GradientFlowWidget()._esm == esm   # every instance ships the same module


def test_build_esm_refuses_files_it_cannot_join(tmp_path):
    for name in ("bptt.js", "widget.js"):
        shutil.copy(STATIC / name, tmp_path / name)
    (tmp_path / "widget.js").write_text("export default {};\n")
    with pytest.raises(ValueError, match="import the engine exactly once"):
        live.build_esm(tmp_path)
    (tmp_path / "widget.js").write_text('import { a } from "./bptt.js";\nexport default {};\n')
    with pytest.raises(ValueError, match="slot"):
        live.build_esm(tmp_path)
    shutil.copy(STATIC / "widget.js", tmp_path / "widget.js")
    (tmp_path / "bptt.js").write_text('import x from "./other.js";\n' + (STATIC / "bptt.js").read_text())
    with pytest.raises(ValueError, match="self-contained"):
        live.build_esm(tmp_path)


def test_front_end_gets_its_control_table_from_python():
    """CONTROL_TABLE is the one source of the controls: Python's ranges and choices are read off it, and the
    module the browser runs carries it in widget.js's one slot."""
    assert live.CONTROLS == tuple(c["name"] for c in live.CONTROL_TABLE)
    for c in live.CONTROL_TABLE:
        if c["kind"] in ("range", "logrange"):
            assert live.RANGES[c["name"]] == (c["min"], c["max"]) and c["min"] < c["max"]
        if c["kind"] == "select":
            assert live.CHOICES[c["name"]] == tuple(c["options"])
    esm = live.GradientFlowWidget._esm
    assert json.dumps(live.CONTROL_TABLE, ensure_ascii=False) in esm and "/* CONTROL_TABLE */" not in esm
    assert "/* CONTROL_TABLE */ []" in (STATIC / "widget.js").read_text(encoding="utf-8")


def test_front_end_exports_render_only():
    """No test hooks in the shipped module: the widget's default export is what anywidget calls."""
    assert "return { render };" in (STATIC / "widget.js").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_esm_loads_as_a_module_and_exports_render(tmp_path):
    """The joined module parses and runs (no name clash between the engine and the front end)."""
    module = tmp_path / "widget.mjs"
    module.write_text(live.GradientFlowWidget._esm, encoding="utf-8")
    script = ("const m = await import(process.argv[1]);"
              "const p = m.makeProblem({T: 5, B: 1, D: 4, H: 16, K: 4, rho: 1.1, wKind: 'orthogonal', inputScale: 1, seed: 0});"
              "const G = m.gradientNorms(p.params, p.xs, p.ys, {activation: 'tanh'});"
              "console.log(JSON.stringify({render: typeof m.default.render, T: G.length}));")
    out = subprocess.run(["node", "--input-type=module", "-e", script, module.as_uri()], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"render": "function", "T": 5}


def _node_compute(tmp_path, widget, views):
    """What the front end shows for the widget's settings: the engine's widgetPanels, run by node from the
    widget's own module, on the traits Python validated."""
    module = tmp_path / "widget.mjs"
    module.write_text(widget._esm, encoding="utf-8")
    state = {name: getattr(widget, name) for name in live.CONTROLS + ("problem_seed",)}
    state["network"] = widget.network or None
    (tmp_path / "state.json").write_text(json.dumps(state))
    script = ("import fs from 'node:fs';"
              "const m = await import(process.argv[1]);"
              "const state = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));"
              "const r = m.widgetPanels(state, JSON.parse(process.argv[3]));"
              "console.log(JSON.stringify({G: r.G, units: r.units, cos: r.cos, relErr: r.relErr, overflow: r.overflow}));")
    out = subprocess.run(["node", "--input-type=module", "-e", script, module.as_uri(), str(tmp_path / "state.json"),
                          json.dumps(views)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("truncation", ["full", "window", "detach"])
def test_widget_on_a_given_network_draws_that_networks_gradient_flow(tmp_path, truncation):
    """for_network: the map the browser draws is bptt.gradient_norms of the network, W rescaled to rho and U
    times the input scale, with its own xs, ys and h0."""
    import numpy as np
    import bptt
    rng = np.random.default_rng(3)
    H, D, K, T, B = 6, 3, 4, 9, 2
    params = bptt.RNNParams(rng.normal(size=(H, D)), rng.normal(size=(H, H)) / np.sqrt(H),
                            rng.normal(size=(K, H)), rng.normal(size=H), rng.normal(size=K))
    xs, ys, h0 = rng.normal(size=(T, B, D)), rng.integers(0, K, size=(T, B)), rng.normal(size=(B, H))
    w = live.GradientFlowWidget.for_network(params, xs, ys, h0, rho=1.3, input_scale=0.7, activation="sigmoid",
                                            truncation=truncation, k=3)
    assert w.T == T and "w_kind" not in w.controls
    got = _node_compute(tmp_path, w, ["map", "compare", "impulse"])
    radius = np.abs(np.linalg.eigvals(params.W)).max()
    scaled = bptt.RNNParams(params.U * 0.7, params.W * 1.3 / radius, params.V, params.b, params.c)
    kw = {"window": 3} if truncation == "window" else {"detach_every": 3} if truncation == "detach" else {}
    G = bptt.gradient_norms(scaled, xs, ys, activation="sigmoid", h0=h0, **kw)
    np.testing.assert_allclose(got["G"], G, rtol=1e-9, atol=1e-300)
    impulse = np.zeros((T, B, D))
    impulse[0, :, 0] = 1.0                                   # x_1 = e_1, then nothing
    hs, _ = bptt.forward(scaled, impulse, h0=h0, activation="sigmoid")
    np.testing.assert_allclose(got["units"], hs[1:, 0], rtol=1e-12)
    assert got["overflow"] is False and (got["relErr"] == 0) == (truncation == "full")


def test_network_state_rejects_bad_shapes():
    import numpy as np
    import bptt
    params = bptt.RNNParams.random(3, 4, 2, seed=0)
    with pytest.raises(ValueError, match=r"xs must have shape \(T0, B, D\) with D = 3"):
        live.network_state(params, np.zeros((5, 1, 2)), np.zeros((5, 1), dtype=int))
    with pytest.raises(ValueError, match=r"ys must be integers in \[0, 2\)"):
        live.network_state(params, np.zeros((5, 1, 3)), np.full((5, 1), 2))
    with pytest.raises(ValueError, match="together"):
        live.network_state(params, np.zeros((5, 1, 3)))
    with pytest.raises(ValueError, match=r"h0 must be a finite \(B, H\) array"):
        live.network_state(params, np.zeros((5, 1, 3)), np.zeros((5, 1), dtype=int), h0=np.zeros((2, 4)))
    with pytest.raises(traitlets.TraitError, match="network"):
        live.GradientFlowWidget(network={"W": [[1.0]]})
    w = live.GradientFlowWidget.for_network(params, np.zeros((5, 1, 3)), np.zeros((5, 1), dtype=int), T=100)
    assert w.T == 5 and w.rho == pytest.approx(np.abs(np.linalg.eigvals(params.W)).max())


def test_vendored_front_end_matches_the_installed_anywidget():
    """The static book loads _static_vendor/ipywidgets/anywidget.js whatever version the widget state names, so
    it must be the installed anywidget's own front end (scripts/vendor_assets.sh; re-run it after a new pin)."""
    import anywidget
    vendored = Path(__file__).resolve().parents[1] / "_static_vendor" / "ipywidgets" / "anywidget.js"
    installed = Path(anywidget.__file__).parent / "nbextension" / "index.js"
    assert vendored.read_bytes() == installed.read_bytes(), (
        f"{vendored} is not anywidget {anywidget.__version__}'s front end: run scripts/vendor_assets.sh")
    paths = (vendored.parent / "require-paths.js").read_text()
    assert '"anywidget": base + "anywidget"' in paths
