"""Widgets that stay interactive in the static book, with no kernel behind the page.

``frame_widget(draw, controls)`` calls ``draw(**values)`` once for every combination of the control
values, keeps each figure as a PNG, and stacks the images in nested ``widgets.Stack``s whose
``selected_index`` is linked to the controls with ``jslink``. The links run in the browser, so moving a
control in the online book switches the picture; in a live notebook it works the same way.
This is the only module of the library that imports ipywidgets.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from PIL import Image

#: the page budget the course keeps for one widget's embedded frames (base64 inflates PNG bytes by 4/3)
DEFAULT_MAX_BYTES = 1_000_000


@dataclass
class Control:
    """One discrete control. ``values`` are passed to ``draw``; ``labels`` (default ``str(v)``) are shown.
    kind: "slider" (default for numbers), "buttons" (default for strings) or "dropdown"."""

    values: Sequence[Any]
    label: str = ""
    kind: str = "auto"
    labels: Sequence[str] | None = None
    initial: int = 0
    _names: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.values = list(self.values)
        if not self.values:
            raise ValueError("a Control needs at least one value")
        names = [str(v) for v in self.values] if self.labels is None else [str(s) for s in self.labels]
        if len(names) != len(self.values):
            raise ValueError(f"labels must match values one to one: {len(names)} labels, {len(self.values)} values")
        if len(set(names)) != len(names):
            raise ValueError(f"control labels must be distinct, got {names}")
        self._names = names
        if self.kind == "auto":
            self.kind = "buttons" if all(isinstance(v, str) for v in self.values) else "slider"
        if self.kind not in ("slider", "buttons", "dropdown"):
            raise ValueError(f"kind must be 'slider', 'buttons' or 'dropdown', got {self.kind!r}")
        if "$" in self.label:
            raise ValueError("no $math$ in widget labels: the static page cannot typeset them (TOOLCHAIN.md)")
        self.initial = min(max(int(self.initial), 0), len(self.values) - 1)

    def make(self, name: str) -> widgets.Widget:
        """The ipywidget for this control; its ``index`` trait selects the frame."""
        desc = self.label or name
        style = {"description_width": "initial"}
        if self.kind == "slider":
            return widgets.SelectionSlider(options=self._names, index=self.initial, description=desc,
                                           continuous_update=True, style=style,
                                           layout=widgets.Layout(width="420px"))
        if self.kind == "buttons":
            return widgets.ToggleButtons(options=self._names, index=self.initial, description=desc, style=style)
        return widgets.Dropdown(options=self._names, index=self.initial, description=desc, style=style)


def figure_png(fig: Figure, dpi: int = 70, colors: int | None = 128) -> bytes:
    """The figure as PNG bytes; the figure is closed so the notebook does not print it a second time.
    ``colors``: quantize to an adaptive palette of that many colours (about 3x smaller files, no visible
    change for line plots and heatmaps); None keeps full colour."""
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    if colors is None:
        return buf.getvalue()
    image = Image.open(BytesIO(buf.getvalue())).convert("RGB")
    small = BytesIO()
    image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        small, format="PNG", optimize=True)
    return small.getvalue()


def _as_control(spec: Any) -> Control:
    return spec if isinstance(spec, Control) else Control(values=list(spec))


def frame_widget(draw: Callable[..., Figure], controls: dict[str, Any], *, dpi: int = 70,
                 colors: int | None = 128, max_bytes: int = DEFAULT_MAX_BYTES, title: str = "",
                 hidpi: float | None = None) -> widgets.VBox:
    """A kernel-free interactive figure.

    draw: called as ``draw(**{name: value})`` for every combination of control values; returns a
    matplotlib Figure (it is closed here; saved at ``dpi`` with a ``colors``-entry palette). controls: name -> ``Control`` or a plain sequence of values,
    in the order the controls are shown. Frames = product of the numbers of values; their PNGs are
    embedded in the page (identical frames once), so the total is checked against ``max_bytes``
    (ValueError if exceeded). A control that does not change the picture for some settings costs nothing there.
    hidpi: show each frame at most 1/hidpi of its pixel width (e.g. 1.5: sharp on 1.5x screens), scaled
    down to fit narrower columns; None shows frames at their pixel size.
    Returns a VBox of the controls above the picture.
    """
    if not controls:
        raise ValueError("frame_widget needs at least one control")
    names = list(controls)
    specs = [_as_control(controls[n]) for n in names]
    total = 0
    images: dict[tuple[int, ...], widgets.Image] = {}
    by_bytes: dict[bytes, widgets.Image] = {}  # identical frames share one Image model (embedded once)
    for idx in itertools.product(*(range(len(s.values)) for s in specs)):
        png = figure_png(draw(**{n: s.values[i] for n, s, i in zip(names, specs, idx)}), dpi=dpi, colors=colors)
        if png not in by_bytes:
            total += len(png) * 4 // 3
            if total > max_bytes:
                raise ValueError(f"frame_widget: the frames exceed the page budget of {max_bytes} bytes after "
                                 f"{len(by_bytes) + 1} distinct frames; use fewer control values, a smaller "
                                 "figure or a lower dpi")
            size = {}
            if hidpi is not None:
                width = Image.open(BytesIO(png)).width / hidpi
                size["layout"] = widgets.Layout(width="100%", max_width=f"{width:.0f}px", height="auto")
            by_bytes[png] = widgets.Image(value=png, format="png", **size)
        images[idx] = by_bytes[png]

    stacks_at: list[list[widgets.Stack]] = [[] for _ in specs]

    def nest(level: int, prefix: tuple[int, ...]) -> widgets.Widget:
        if level == len(specs):
            return images[prefix]
        kids = [nest(level + 1, prefix + (i,)) for i in range(len(specs[level].values))]
        stack = widgets.Stack(children=kids, selected_index=specs[level].initial)
        stacks_at[level].append(stack)
        return stack

    root = nest(0, ())
    inputs = [s.make(n) for n, s in zip(names, specs)]
    links = [widgets.jslink((inp, "index"), (st, "selected_index"))
             for inp, level in zip(inputs, stacks_at) for st in level]
    header = [widgets.HTML(f"<b>{title}</b>")] if title else []
    box = widgets.VBox(header + inputs + [root])
    box._bptt_links = links  # keep the links alive so they are part of the saved widget state
    box._bptt_frames = len(by_bytes)
    box._bptt_bytes = total
    return box
