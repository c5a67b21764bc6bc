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

import math
import re
from pathlib import Path
from typing import Any

import anywidget
import traitlets

__all__ = ["GradientFlowWidget", "VIEWS", "CONTROLS", "build_esm", "lab_widget"]

STATIC = Path(__file__).resolve().parent / "static" / "lab"
VIEWS = ("impulse", "map", "lag", "copies", "compare")
# the controls, in the order the widget shows them (each is the trait of the same name)
CONTROLS = ("rho", "w_kind", "activation", "input_scale", "T", "truncation", "k", "keep_prob", "seed",
            "clipping", "threshold", "t")
# valid ranges; the front end's CONTROLS table (widget.js) offers the same ones
RANGES: dict[str, tuple[float, float]] = {"rho": (0.1, 2.5), "input_scale": (0.05, 5.0), "T": (2, 200),
                                          "k": (1, 200), "keep_prob": (0.05, 1.0), "threshold": (1e-3, 100.0),
                                          "t": (1, 200)}
CHOICES: dict[str, tuple[str, ...]] = {"w_kind": ("orthogonal", "gaussian", "identity"),
                                       "activation": ("tanh", "sigmoid", "relu", "identity"),
                                       "truncation": ("full", "window", "detach", "randomized"),
                                       "clipping": ("none", "norm", "element")}

# the engine is imported by name in widget.js; the joined module defines those names itself
_ENGINE_IMPORT = re.compile(r"^import\s*\{[^}]*\}\s*from\s*[\"']\./bptt\.js[\"'];?[ \t]*\n", re.MULTILINE)


def build_esm(static: Path = STATIC) -> str:
    """The widget's ES module: the engine (bptt.js) followed by the front end (widget.js, its import of
    the engine removed). Raises ValueError if either file does not have the shape this join relies on."""
    engine = (static / "bptt.js").read_text(encoding="utf-8")
    front = (static / "widget.js").read_text(encoding="utf-8")
    if re.search(r"^\s*import\b", engine, re.MULTILINE) or re.search(r"^export\s+default\b", engine, re.MULTILINE):
        raise ValueError("bptt.js must be self-contained (no import) and have no default export, "
                         "so that it can be joined with widget.js into one module")
    front, n = _ENGINE_IMPORT.subn("", front)
    if n != 1:
        raise ValueError(f"widget.js must import the engine exactly once with `import {{...}} from \"./bptt.js\";`, found {n}")
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
    problem_seed: the seed of the random problem (W, U, V, xs, ys).
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

    def __init__(self, **kwargs: Any) -> None:
        unknown = set(kwargs) - set(self.class_trait_names(sync=True)) - {"layout"}
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}; expected some of "
                            f"{sorted(CONTROLS + ('views', 'controls', 'url_state', 'problem_seed'))}")
        # T first, so that k and t given with it are clamped against the new T
        if "T" in kwargs:
            self.T = kwargs.pop("T")
        super().__init__(**kwargs)

    # ----- validation: numbers clamp to the controls' ranges; k and t also to T
    @traitlets.validate("rho", "input_scale", "keep_prob", "threshold")
    def _valid_float(self, proposal: Any) -> float:
        return float(_clamp_number(proposal["trait"].name, proposal["value"]))

    @traitlets.validate("T")
    def _valid_T(self, proposal: Any) -> int:
        return int(_clamp_number("T", proposal["value"], integer=True))

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


def lab_widget(**settings: Any) -> GradientFlowWidget:
    """The gradient-flow lab: every view and every control, with its settings kept in the page URL."""
    settings.setdefault("views", list(VIEWS))
    settings.setdefault("url_state", True)
    return GradientFlowWidget(**settings)
