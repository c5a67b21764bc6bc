"""Widgets that stay interactive in the static book, with no kernel behind the page.

``frame_widget(draw, controls)`` calls ``draw(**values)`` once for every combination of the control
values, keeps each figure as a PNG, and stacks the images in nested ``widgets.Stack``s whose
``selected_index`` is linked to the controls with ``jslink``. The links run in the browser, so moving a
control in the online book switches the picture; in a live notebook it works the same way.
It and ``bptt.present.live`` (an anywidget) are the library's only modules that import ipywidgets.
"""
from __future__ import annotations

import base64
import html
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from . import plotting

#: the page budget the course keeps for one widget's embedded frames (base64 inflates PNG bytes by 4/3)
DEFAULT_MAX_BYTES = 1_000_000
#: pixels a phone frame is wide: >= 1.5 x the phone column (plotting.PHONE_COLUMN_PX), and small, because
#: every frame is embedded in the page
PHONE_FRAME_WIDTH_PX = 560


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
        """The ipywidget for this control; its ``index`` trait selects the frame. It takes the column's
        width (the slider's track shrinks on a phone, its readout stays in view; buttons wrap)."""
        desc = self.label or name
        style = {"description_width": "initial"}
        if self.kind == "slider":
            return widgets.SelectionSlider(options=self._names, index=self.initial, description=desc,
                                           continuous_update=True, readout=True, style=style,
                                           layout=widgets.Layout(width="100%", max_width="36rem"))
        if self.kind == "buttons":
            return widgets.ToggleButtons(options=self._names, index=self.initial, description=desc,
                                         style={**style, "button_width": "auto"},
                                         layout=widgets.Layout(width="100%", flex_flow="row wrap"))
        return widgets.Dropdown(options=self._names, index=self.initial, description=desc, style=style,
                                layout=widgets.Layout(width="auto", max_width="100%"))

    def shown(self, index: int) -> str:
        """The label the control shows for value number ``index``."""
        return self._names[index]


def figure_png(fig: Figure, dpi: float = 0.0, colors: int | None = plotting.PALETTE_COLORS,
               width_px: int = plotting.STORED_WIDTH_PX) -> bytes:
    """The figure as a palette PNG ``width_px`` wide (at least ``dpi``); the figure is closed so the
    notebook does not print it a second time. See ``plotting.figure_png``."""
    return plotting.figure_png(fig, width_px=width_px, colors=colors, min_dpi=dpi)


def _as_control(spec: Any) -> Control:
    return spec if isinstance(spec, Control) else Control(values=list(spec))


def frame_widget(draw: Callable[..., Figure], controls: dict[str, Any], *, dpi: float = 0.0,
                 colors: int | None = 64, max_bytes: int = DEFAULT_MAX_BYTES, title: str = "",
                 alt: str = "", width_px: int = plotting.STORED_WIDTH_PX,
                 phone_width_px: int = PHONE_FRAME_WIDTH_PX) -> widgets.VBox:
    """A kernel-free interactive figure.

    draw: called as ``draw(**{name: value})`` for every combination of control values; returns a
    matplotlib Figure (it is closed here). Each frame is stored ``width_px`` pixels wide (>= 1.5x the
    text column it fills, so it is sharp on HiDPI screens; ``dpi`` is only a lower bound) as a PNG with a
    ``colors``-entry palette. controls: name -> ``Control`` or a plain sequence of values, in the order the
    controls are shown. Frames = product of the numbers of values; their PNGs are embedded in the page
    (identical frames once), so the total is checked against ``max_bytes`` (ValueError if exceeded:
    use fewer values or a smaller palette). A control that does not change the picture for some settings
    costs nothing there. The first frame's smallest text must be >= plotting.MIN_TEXT_PX when the frame
    fills the column (ValueError otherwise: larger fonts or a narrower figure).
    Phone: each frame is also drawn for a phone (``plotting.phone_png``: panels stacked, at most 5 in
    wide, stored ``phone_width_px`` pixels wide); those frames sit in a second tree of Stacks linked to the same controls, and the book's CSS
    shows one tree or the other (``plotting.PHONE_MEDIA``). Both count against ``max_bytes``. Each frame
    carries its smallest text as a class (``plotting.text_class``) for the browser tests.
    alt: the frames' alt text, a template formatted with each control's shown label by name (e.g.
    ``"Gradient-flow map, {activation}, rho = {rho}"``); default: the title (or "Figure") followed by
    every control's label and value. Returns a VBox of the controls above the picture(s).
    """
    if not controls:
        raise ValueError("frame_widget needs at least one control")
    names = list(controls)
    specs = [_as_control(controls[n]) for n in names]
    total = 0
    images: dict[tuple[int, ...], widgets.Image] = {}
    phones: dict[tuple[int, ...], widgets.Image] = {}
    by_bytes: dict[bytes, widgets.Image] = {}  # identical frames share one Image model (embedded once)

    def image_of(png: bytes, fraction: float, alt_text: str) -> widgets.Image:
        nonlocal total
        if png not in by_bytes:
            total += len(png) * 4 // 3
            if total > max_bytes:
                raise ValueError(f"frame_widget: the frames (desktop and phone) exceed the page budget of "
                                 f"{max_bytes} bytes after {len(by_bytes) + 1} distinct frames; use fewer "
                                 "control values or fewer colours (colors=32)")
            image = widgets.Image(value=png, format="png", layout=widgets.Layout(width="100%", height="auto"))
            image.add_class(alt_class(alt_text))
            image.add_class(plotting.text_class(fraction))
            by_bytes[png] = image
        return by_bytes[png]

    for idx in itertools.product(*(range(len(s.values)) for s in specs)):
        fig = draw(**{n: s.values[i] for n, s, i in zip(names, specs, idx)})
        if not isinstance(fig, Figure):
            raise TypeError(f"draw must return a matplotlib Figure, got {type(fig).__name__}")
        if not images:
            _require_legible(fig)
            font_pt = plotting.smallest_font_pt(fig)  # the frames share their fonts: measured once
        alt_text = _alt_text(alt, title, names, specs, idx)
        try:
            png = plotting.figure_png(fig, width_px=width_px, colors=colors, min_dpi=dpi, close=False)
            images[idx] = image_of(png, plotting.smallest_text_fraction(fig, font_pt), alt_text)
            phone = plotting.phone_png(fig, width_px=phone_width_px, colors=colors, font_pt=font_pt)
        finally:
            plt.close(fig)
        phones[idx] = images[idx] if phone is None else image_of(phone[0], phone[1], alt_text)

    def tree(frames: dict[tuple[int, ...], widgets.Image], css: str) -> tuple[widgets.Widget, list[list[widgets.Stack]]]:
        stacks_at: list[list[widgets.Stack]] = [[] for _ in specs]

        def nest(level: int, prefix: tuple[int, ...]) -> widgets.Widget:
            if level == len(specs):
                return frames[prefix]
            kids = [nest(level + 1, prefix + (i,)) for i in range(len(specs[level].values))]
            stack = widgets.Stack(children=kids, selected_index=specs[level].initial,
                                  layout=widgets.Layout(width="100%"))
            stacks_at[level].append(stack)
            return stack

        root = nest(0, ())
        root.add_class(css)
        return root, stacks_at

    inputs = [s.make(n) for n, s in zip(names, specs)]
    roots = {}
    links = []
    has_phone = any(phones[i] is not images[i] for i in images)
    for kind, frames in (("desktop", images), ("phone", phones)) if has_phone else (("desktop", images),):
        root, stacks_at = tree(frames, f"bptt-{kind}-frames" if has_phone else "bptt-all-frames")
        roots[kind] = root
        links += [widgets.jslink((inp, "index"), (st, "selected_index"))
                  for inp, level in zip(inputs, stacks_at) for st in level]
    header = [widgets.HTML(f"<b>{html.escape(title)}</b>")] if title else []
    box = widgets.VBox(header + inputs + list(roots.values()), layout=widgets.Layout(width="100%"))
    box.add_class("bptt-frame-widget")
    box._bptt_roots = roots  # "desktop" and (when the figure needs one) "phone": the frames' Stacks
    box._bptt_links = links  # keep the links alive so they are part of the saved widget state
    return box


#: prefix of the CSS class that carries a frame's alt text (ipywidgets' Image has no alt, and a tooltip
#: on an Image breaks its view in the page); the book's page script (book_assets/book.js in the book's
#: repository, not part of this package) decodes it into the img's alt attribute
ALT_CLASS_PREFIX = "bptt-alt-"


def alt_class(text: str) -> str:
    """The CSS class that carries alt text ``text``: the prefix, then its UTF-8 in unpadded base64url."""
    return ALT_CLASS_PREFIX + base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def _alt_text(template: str, title: str, names: list[str], specs: list[Control], idx: tuple[int, ...]) -> str:
    shown = {n: s.shown(i) for n, s, i in zip(names, specs, idx)}
    if template:
        try:
            return template.format(**shown)
        except KeyError as exc:
            raise ValueError(f"alt template names {exc}, which is not a control; controls: {names}") from None
    settings = ", ".join(f"{s.label or n} = {shown[n]}" for n, s in zip(names, specs))
    return f"{title or 'Figure'} ({settings})"


def _require_legible(fig: Figure) -> None:
    smallest = plotting.smallest_text_px(fig)
    if smallest < plotting.MIN_TEXT_PX:
        raise ValueError(f"frame_widget: the smallest text of the frame would be {smallest:.1f} px when the frame "
                         f"fills the {plotting.COLUMN_PX} px column (at least {plotting.MIN_TEXT_PX:g} px): use "
                         f"larger fonts or a narrower figure (<= {plotting.MAX_FIGURE_WIDTH_IN:.1f} in at "
                         f"{plotting.BASE_FONT_PT:g} pt)")
