"""Live gradient-flow widgets: BPTT recomputed in the reader's browser as a control moves.

``GradientFlowWidget`` is an anywidget (an ipywidgets-compatible widget whose front end is one ES module).
Its front end is the course's JavaScript engine (``static/lab/bptt.js``: the vanilla RNN, its BPTT and the
gradient-flow map G[t, k] = ||dL_t/dh_k||) plus ``static/lab/widget.js`` (controls and canvas views),
joined here into one module string, ``_esm``. A single string is what makes the widget work everywhere:
in JupyterLab, and in the static book with no kernel and no network, where the page imports the module
from a ``blob:`` URL (which cannot resolve relative imports), from ``file://`` as well as over HTTP.

Every setting is a synced trait that Python can read and set; values are clamped to the ranges the
controls offer. Views (``views``): "impulse" (the state after an impulse x_1 = e_1), "map" (G[t, k] on a
log colour scale, with a hover readout in the book's 1-based indices), "lag" (its lag profile against the
bound (gamma sigma_max)^(t-k), eq-van-loss-bound), "copies" (||dL_t/dW^(k)|| for the loss term ``t``) and
"compare" (cosine and relative error of the truncated and/or clipped gradient against full BPTT).

    from bptt.present.live import GradientFlowWidget
    GradientFlowWidget(views=["map", "lag"], rho=1.1, activation="tanh", T=60)
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

__all__ = ["GradientFlowWidget", "VIEWS", "CONTROLS", "CONTROL_TABLE", "build_esm", "lab_widget", "network_state"]

STATIC = Path(__file__).resolve().parent / "static" / "lab"
VIEWS = ("impulse", "map", "lag", "copies", "compare")
#: every control of the widget, in the order it shows them: the trait it sets, its kind, its label and, for a
#: range, its valid interval (values are clamped to it) and step. The one source of the controls: Python validates
#: the traits with it and ``build_esm`` writes it into the front end (widget.js), which draws and clamps with it.
CONTROL_TABLE: tuple[dict[str, Any], ...] = (
    {"name": "rho", "kind": "range", "label": "spectral radius ρ of W", "min": 0.1, "max": 2.5, "step": 0.01, "digits": 2},
    {"name": "w_kind", "kind": "select", "label": "recurrent matrix W", "options": ["orthogonal", "gaussian", "identity"]},
    {"name": "activation", "kind": "select", "label": "activation f", "options": ["tanh", "sigmoid", "relu", "identity"]},
    {"name": "input_scale", "kind": "range", "label": "input scale", "min": 0.05, "max": 5.0, "step": 0.05, "digits": 2},
    {"name": "T", "kind": "range", "label": "sequence length T", "min": 2, "max": 200, "step": 1, "digits": 0},
    {"name": "truncation", "kind": "select", "label": "truncation", "options": ["full", "window", "detach", "randomized"]},
    {"name": "k", "kind": "range", "label": "truncation length τ", "min": 1, "max": 200, "step": 1, "digits": 0},
    {"name": "keep_prob", "kind": "range", "label": "keep probability π", "min": 0.05, "max": 1.0, "step": 0.01, "digits": 2},
    {"name": "seed", "kind": "button", "label": "new draw of ξ"},
    {"name": "clipping", "kind": "select", "label": "clipping", "options": ["none", "norm", "element"]},
    {"name": "threshold", "kind": "logrange", "label": "clipping threshold", "min": 1e-3, "max": 100.0, "step": 0.01},
    {"name": "t", "kind": "range", "label": "loss term t (copies)", "min": 1, "max": 200, "step": 1, "digits": 0},
)
CONTROLS = tuple(c["name"] for c in CONTROL_TABLE)
RANGES: dict[str, tuple[float, float]] = {c["name"]: (c["min"], c["max"]) for c in CONTROL_TABLE if "min" in c}
CHOICES: dict[str, tuple[str, ...]] = {c["name"]: tuple(c["options"]) for c in CONTROL_TABLE if "options" in c}
_TABLE_SLOT = "/* CONTROL_TABLE */ []"

# the engine is imported by name in widget.js; the joined module defines those names itself
_ENGINE_IMPORT = re.compile(r"^import\s*\{[^}]*\}\s*from\s*[\"']\./bptt\.js[\"'];?[ \t]*\n", re.MULTILINE)


def build_esm(static: Path = STATIC) -> str:
    """The widget's ES module: the engine (bptt.js) followed by the front end (widget.js, its import of
    the engine removed and CONTROL_TABLE written into its slot). Raises ValueError if either file does not
    have the shape this join relies on."""
    engine = (static / "bptt.js").read_text(encoding="utf-8")
    front = (static / "widget.js").read_text(encoding="utf-8")
    if re.search(r"^\s*import\b", engine, re.MULTILINE) or re.search(r"^export\s+default\b", engine, re.MULTILINE):
        raise ValueError("bptt.js must be self-contained (no import) and have no default export, "
                         "so that it can be joined with widget.js into one module")
    front, n = _ENGINE_IMPORT.subn("", front)
    if n != 1:
        raise ValueError(f"widget.js must import the engine exactly once with `import {{...}} from \"./bptt.js\";`, found {n}")
    if front.count(_TABLE_SLOT) != 1:
        raise ValueError(f"widget.js must leave exactly one slot {_TABLE_SLOT} for the control table")
    front = front.replace(_TABLE_SLOT, json.dumps(CONTROL_TABLE, ensure_ascii=False))
    return f"// bptt.js (engine)\n{engine}\n// widget.js (front end)\n{front}"


def _clamp_number(name: str, value: Any, integer: bool = False) -> float | int:
    lo, hi = RANGES[name]
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise traitlets.TraitError(f"{name} must be a number in [{lo}, {hi}], got {value!r}") from None
    if math.isnan(v):
        raise traitlets.TraitError(f"{name} must be a number in [{lo}, {hi}], got NaN")
    v = min(hi, max(lo, v))
    return int(round(v)) if integer else v


class GradientFlowWidget(anywidget.AnyWidget):
    """A live gradient-flow laboratory for a vanilla RNN (B = 1, D = 4, H = 16, K = 4, T steps).

    Settings (synced traits; out-of-range numbers are clamped, unknown choices raise TraitError):
    rho: spectral radius of W in [0.1, 2.5]; w_kind: "orthogonal" | "gaussian" | "identity";
    activation: "tanh" | "sigmoid" | "relu" | "identity"; input_scale: factor on U in [0.05, 5];
    T: sequence length in [2, 200]; truncation: "full" | "window" | "detach" | "randomized", with
    k (window length tau / detach period, 1..T) and keep_prob (pi in [0.05, 1]); seed: the draw of xi
    (the "new draw" button adds 1); clipping: "none" | "norm" | "element" with threshold in [1e-3, 100];
    t: the loss term (1..T, the book's math index) whose copies the "copies" view shows.
    views: which panels to show (subset of VIEWS, in order); controls: which controls to show (default
    all); url_state: read the settings from the page URL and write them back (the lab page only);
    problem_seed: the seed of the random problem (W, U, V, xs, ys); network: a given network instead
    (``for_network``).
    """

    _esm = build_esm()
    _css = (STATIC / "widget.css").read_text(encoding="utf-8")

    rho = traitlets.Float(1.0).tag(sync=True)
    w_kind = traitlets.Unicode("orthogonal").tag(sync=True)
    activation = traitlets.Unicode("tanh").tag(sync=True)
    input_scale = traitlets.Float(1.0).tag(sync=True)
    T = traitlets.Int(40).tag(sync=True)
    truncation = traitlets.Unicode("full").tag(sync=True)
    k = traitlets.Int(10).tag(sync=True)
    keep_prob = traitlets.Float(0.8).tag(sync=True)
    seed = traitlets.Int(0).tag(sync=True)
    clipping = traitlets.Unicode("none").tag(sync=True)
    threshold = traitlets.Float(1.0).tag(sync=True)
    t = traitlets.Int(40).tag(sync=True)
    views = traitlets.List(traitlets.Unicode(), default_value=["map", "lag"]).tag(sync=True)
    controls = traitlets.List(traitlets.Unicode(), default_value=list(CONTROLS)).tag(sync=True)
    url_state = traitlets.Bool(False).tag(sync=True)
    problem_seed = traitlets.Int(0).tag(sync=True)
    network = traitlets.Dict().tag(sync=True)   # a given network (for_network); {}: a seeded random one

    def __init__(self, **kwargs: Any) -> None:
        unknown = set(kwargs) - set(self.class_trait_names(sync=True)) - {"layout"}
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}; expected some of "
                            f"{sorted(CONTROLS + ('views', 'controls', 'url_state', 'problem_seed'))}")
        # the network, then T, so that T, k and t are clamped against what they may reach
        for first in ("network", "T"):
            if first in kwargs:
                setattr(self, first, kwargs.pop(first))
        super().__init__(**kwargs)

    @classmethod
    def for_network(cls, params: Any, xs: Any = None, ys: Any = None, h0: Any = None,
                    **settings: Any) -> "GradientFlowWidget":
        """A widget on a given network instead of a random one, e.g. the chapter's own.

        params: an RNNParams (U: (H, D), W: (H, H), V: (K, H), b: (H,), c: (K,)). xs: (T0, B, D) and ys: (T0, B)
        integers in [0, K), optional (default: seeded random ones); with them T <= T0; h0: (B, H) initial
        state (default zeros), only with xs. The widget rescales W
        to spectral radius ``rho`` (default: W's own, so that it starts on exactly this network) and
        multiplies U by ``input_scale``; the w_kind control does not apply."""
        settings.setdefault("controls", [c for c in CONTROLS if c != "w_kind"])
        net = network_state(params, xs, ys, h0)
        settings.setdefault("rho", net["radius"])
        if "xs" in net:
            settings.setdefault("T", len(net["xs"]))
        return cls(network=net, **settings)

    # ----- validation: numbers clamp to the controls' ranges; k and t also to T
    @traitlets.validate("rho", "input_scale", "keep_prob", "threshold")
    def _valid_float(self, proposal: Any) -> float:
        return float(_clamp_number(proposal["trait"].name, proposal["value"]))

    @traitlets.validate("T")
    def _valid_T(self, proposal: Any) -> int:
        T = int(_clamp_number("T", proposal["value"], integer=True))
        return min(T, len(self.network["xs"])) if "xs" in self.network else T

    @traitlets.validate("network")
    def _valid_network(self, proposal: Any) -> dict[str, Any]:
        net = dict(proposal["value"])
        if net and not {"U", "W", "V", "b", "c", "radius"} <= set(net):
            raise traitlets.TraitError("network must be {} or network_state(params, xs, ys)")
        return net

    @traitlets.observe("network")
    def _clamp_T_to_network(self, change: Any) -> None:
        self.T = self.T

    @traitlets.validate("k", "t")
    def _valid_step(self, proposal: Any) -> int:
        return min(int(_clamp_number(proposal["trait"].name, proposal["value"], integer=True)), self.T)

    @traitlets.validate("seed", "problem_seed")
    def _valid_seed(self, proposal: Any) -> int:
        value = proposal["value"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise traitlets.TraitError(f"{proposal['trait'].name} must be an integer >= 0, got {value!r}")
        return value

    @traitlets.validate("w_kind", "activation", "truncation", "clipping")
    def _valid_choice(self, proposal: Any) -> str:
        name, value = proposal["trait"].name, proposal["value"]
        if value not in CHOICES[name]:
            raise traitlets.TraitError(f"{name} must be one of {CHOICES[name]}, got {value!r}")
        return value

    @traitlets.validate("views")
    def _valid_views(self, proposal: Any) -> list[str]:
        return _subset("views", proposal["value"], VIEWS)

    @traitlets.validate("controls")
    def _valid_controls(self, proposal: Any) -> list[str]:
        return _subset("controls", proposal["value"], CONTROLS)

    @traitlets.observe("T")
    def _clamp_to_T(self, change: Any) -> None:
        self.k = min(self.k, change["new"])
        self.t = min(self.t, change["new"])

    def settings(self) -> dict[str, Any]:
        """The current settings as a plain dict (the controls' traits)."""
        return {name: getattr(self, name) for name in CONTROLS}


def _subset(name: str, value: Any, allowed: tuple[str, ...]) -> list[str]:
    items = list(value)
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise traitlets.TraitError(f"{name} must be a non-empty list drawn from {allowed}, got {items!r}")
    return list(dict.fromkeys(items))   # unique, in the given order


def network_state(params: Any, xs: Any = None, ys: Any = None, h0: Any = None) -> dict[str, Any]:
    """The synced form of a network (``GradientFlowWidget.for_network``): plain lists, checked.

    params: U (H, D), W (H, H), V (K, H), b (H,), c (K,); xs (T0, B, D), ys (T0, B) integers in [0, K), or
    neither; h0 (B, H), only with xs. Adds ``radius``: the spectral radius of W (max |eigenvalue|), by which the widget rescales W."""
    arrays = {n: np.asarray(getattr(params, n), dtype=float) for n in ("U", "W", "V", "b", "c")}
    H = arrays["W"].shape[0] if arrays["W"].ndim == 2 else -1
    D = arrays["U"].shape[1] if arrays["U"].ndim == 2 else -1
    K = arrays["V"].shape[0] if arrays["V"].ndim == 2 else -1
    expected = {"U": (H, D), "W": (H, H), "V": (K, H), "b": (H,), "c": (K,)}
    for name, shape in expected.items():
        if arrays[name].shape != shape or min(shape) < 1:
            raise ValueError(f"params.{name} must have shape {shape} (U: (H, D), W: (H, H), V: (K, H), b: (H,), "
                             f"c: (K,)), got {arrays[name].shape}")
        if not np.all(np.isfinite(arrays[name])):
            raise ValueError(f"params.{name} must be finite")
    net: dict[str, Any] = {n: a.tolist() for n, a in arrays.items()}
    net["radius"] = float(np.abs(np.linalg.eigvals(arrays["W"])).max())
    if (xs is None) != (ys is None):
        raise ValueError("give xs and ys together, or neither")
    if xs is not None:
        xs_a, ys_a = np.asarray(xs, dtype=float), np.asarray(ys)
        if xs_a.ndim != 3 or xs_a.shape[2] != D or xs_a.shape[0] < 2:
            raise ValueError(f"xs must have shape (T0, B, D) with D = {D} and T0 >= 2, got {xs_a.shape}")
        if ys_a.shape != xs_a.shape[:2] or not np.issubdtype(ys_a.dtype, np.integer) or ys_a.min() < 0 or ys_a.max() >= K:
            raise ValueError(f"ys must be integers in [0, {K}) of shape {xs_a.shape[:2]}, got {ys_a.dtype} {ys_a.shape}")
        net["xs"], net["ys"] = xs_a[:RANGES["T"][1]].tolist(), ys_a[:RANGES["T"][1]].tolist()
    if h0 is not None:
        h0_a = np.asarray(h0, dtype=float)
        if xs is None or h0_a.shape != (np.shape(xs)[1], H) or not np.all(np.isfinite(h0_a)):
            raise ValueError(f"h0 must be a finite (B, H) array given with xs (B from xs, H = {H}), got shape {h0_a.shape}")
        net["h0"] = h0_a.tolist()
    return net


def lab_widget(**settings: Any) -> GradientFlowWidget:
    """The gradient-flow lab: every view and every control, with its settings kept in the page URL."""
    settings.setdefault("views", list(VIEWS))
    settings.setdefault("url_state", True)
    return GradientFlowWidget(**settings)
