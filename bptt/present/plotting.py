"""Figure conventions shared by every chapter: one colour map for gradient magnitude with a colour bar on
every map, log scales for gradient norms, labelled axes, and figures stored sharp enough for HiDPI screens.

Every figure of the book is shown at the width of the text column (``COLUMN_PX`` CSS pixels at a 1280 px
wide window) and stored ``STORED_WIDTH_PX`` pixels wide (>= 1.5x, sharp on HiDPI screens), whatever its
size in inches. Its smallest text is then ``fontsize_pt / 72 * COLUMN_PX / width_in`` CSS pixels; keep it
>= ``MIN_TEXT_PX`` (``smallest_text_px`` measures it; ``use_book_style`` sizes the fonts so that figures up
to ``MAX_FIGURE_WIDTH_IN`` inches wide pass). Functions draw into a given Axes and return what they drew.

On a phone (a window up to ``PHONE_MEDIA``'s width) the column is about ``PHONE_COLUMN_PX`` CSS pixels, and
a desktop figure scaled to it would show 3-6 px text. Every figure therefore also has a phone rendering
(``phone_png``): the same figure redrawn at most ``PHONE_WIDTH_IN`` wide with its panels stacked in one
column (``phone_layout``), so its text is >= ``PHONE_MIN_TEXT_PX``. The notebook formatter stores it in the
PNG output's metadata (``PHONE_KEY``); the book's Sphinx extension (_ext/bptt_phone.py) serves it with a
``<picture>`` element. Each stored image also records its smallest text as a fraction of its width
(``TEXT_KEY``; the ``bptt-text-N`` class, N in 1/10000ths), so a browser can measure the text it shows."""
from __future__ import annotations

import base64
from contextlib import contextmanager
from io import BytesIO
from typing import Any, Callable, Iterator, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colorbar import Colorbar
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec
from matplotlib.image import AxesImage
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, MaxNLocator

#: the colour map for "gradient magnitude" across the book (dark = little gradient arrives)
GRAD_CMAP = "magma"
#: the colour-bar label of a gradient-flow map G_{t,k} (DECISIONS.md notation)
GRAD_LABEL = r"$\|\partial L_t / \partial h_k\|$"
#: colours for the strategies / models compared across chapters
COLORS = {"full": "#1f77b4", "window": "#ff7f0e", "detach": "#2ca02c", "randomized": "#d62728",
          "rnn": "#1f77b4", "lstm": "#9467bd", "bound": "#555555"}

#: width of the book's text column (CSS px) in a 1280 px wide browser window; figures fill it
COLUMN_PX = 700
#: pixels a stored figure or widget frame is wide: >= 1.5 x COLUMN_PX, sharp on HiDPI screens
STORED_WIDTH_PX = 1100
#: the smallest text a figure may show, in CSS px, when it fills the column
MIN_TEXT_PX = 11.0
#: the book's base font size (pt); with it, figures up to MAX_FIGURE_WIDTH_IN inches keep text >= MIN_TEXT_PX
BASE_FONT_PT = 11.0
MAX_FIGURE_WIDTH_IN = BASE_FONT_PT / 72 * COLUMN_PX / MIN_TEXT_PX
#: palette size for stored PNGs: adaptive palettes make files about 3x smaller with no visible change
PALETTE_COLORS = 256

#: the browser windows that get the phone rendering (CSS media query; book_assets/book.css uses the same width)
PHONE_MEDIA = "(max-width: 640px)"
#: width of the text column (CSS px) in a 390 px wide phone window
PHONE_COLUMN_PX = 342
#: the smallest text a figure may show on that phone, in CSS px
PHONE_MIN_TEXT_PX = 9.0
#: a phone rendering is this wide (in): 11 pt text then shows >= 10 px in the phone column; smaller
#: fonts are raised to phone_font_pt() (about 9.6 pt) in it
PHONE_WIDTH_IN = 5.0
#: pixels a phone rendering is wide: >= 1.5 x the phone column (1.87 x at 390 px)
PHONE_STORED_WIDTH_PX = 640
#: output-metadata keys of the PNG formatter: the phone rendering (base64 PNG) and the smallest text of
#: each image as a fraction of the image's width
PHONE_KEY = "bptt_phone"
TEXT_KEY = "bptt_text"
PHONE_TEXT_KEY = "bptt_phone_text"


def use_book_style() -> None:
    """Matplotlib defaults for the book, and (in a notebook) figures shown as sharp PNGs.

    Fonts: BASE_FONT_PT for every text (ticks and legends included), so a figure up to
    MAX_FIGURE_WIDTH_IN (about 9.7 in) wide keeps its text >= MIN_TEXT_PX when it fills the column.
    In IPython the PNG of each figure is stored STORED_WIDTH_PX wide (see ``figure_png``) and
    displayed at its natural size in a live notebook; the book's CSS scales it to the column."""
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "font.size": BASE_FONT_PT,
                         "axes.titlesize": BASE_FONT_PT + 1, "axes.labelsize": BASE_FONT_PT,
                         "xtick.labelsize": BASE_FONT_PT, "ytick.labelsize": BASE_FONT_PT,
                         "legend.fontsize": BASE_FONT_PT, "figure.titlesize": BASE_FONT_PT + 1,
                         "axes.spines.top": False, "axes.spines.right": False, "figure.autolayout": False,
                         "figure.facecolor": "white", "savefig.facecolor": "white"})
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with every notebook kernel
        return
    shell = get_ipython()
    if shell is None:
        return
    # load the backend now: loading matplotlib-inline (at the first figure otherwise) resets the figure
    # formatters, so register after it
    plt.switch_backend(plt.get_backend())
    formatter = shell.display_formatter.formatters["image/png"]
    formatter.for_type(Figure, _ipython_png)


def _ipython_png(fig: Figure) -> tuple[bytes, dict[str, int]] | None:
    """IPython's PNG formatter for figures: STORED_WIDTH_PX wide, shown at the figure's own size."""
    if not fig.axes and not fig.lines:
        return None
    restore_fonts = _raise_fonts(fig, desktop_font_pt(fig))   # text >= MIN_TEXT_PX at column width
    try:
        pt = smallest_font_pt(fig)  # one draw; the phone rendering reuses it
        png = figure_png(fig, close=False)
        width_in = _tight_width_in(fig)
    finally:
        restore_fonts()
    css_width = int(round(width_in * fig.dpi))
    w, h = _png_size(png)
    meta: dict[str, Any] = {"width": css_width, "height": int(round(css_width * h / w)),
                            TEXT_KEY: round(pt / 72 / width_in, 5)}
    phone = phone_png(fig, font_pt=pt)
    if phone is not None:
        meta[PHONE_KEY] = base64.b64encode(phone[0]).decode("ascii")
        meta[PHONE_TEXT_KEY] = round(phone[1], 5)
    return png, meta


def text_class(fraction: float) -> str:
    """The CSS class that records an image's smallest text as a fraction of its width (1/10000ths,
    rounded down): a browser multiplies it by the width it shows the image at."""
    return f"bptt-text-{int(fraction * 10_000)}"


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


_PAD_IN = 0.05


def _tight_width_in(fig: Figure) -> float:
    """Width (in) of the figure as saved with bbox_inches='tight' and pad_inches=_PAD_IN."""
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())
    return float(bbox.width) + 2 * _PAD_IN


def figure_png(fig: Figure, *, width_px: int = STORED_WIDTH_PX, colors: int | None = PALETTE_COLORS,
               min_dpi: float = 0.0, close: bool = True, tight: bool = True) -> bytes:
    """The figure as PNG bytes, ``width_px`` pixels wide (cropped to its content), at least ``min_dpi``.

    colors: quantize to an adaptive palette of that many colours (no dithering); None keeps full colour.
    close: close the figure, so a notebook does not show it a second time.
    tight: crop to the content (one more layout pass); False saves the whole canvas (a figure already laid
    out to fill it, as by constrained layout)."""
    if width_px < 16:
        raise ValueError(f"width_px must be at least 16 pixels, got {width_px}")
    if colors is not None and not 2 <= colors <= 256:
        raise ValueError(f"colors must be between 2 and 256 (or None), got {colors}")
    if fig.canvas is None:  # pragma: no cover - a Figure() made without pyplot
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        FigureCanvasAgg(fig)
    width_in = _tight_width_in(fig) if tight else float(fig.get_size_inches()[0])
    dpi = max(width_px / width_in, float(min_dpi))
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None, pad_inches=_PAD_IN,
                facecolor=fig.get_facecolor())
    if close:
        plt.close(fig)
    if colors is None:
        return buf.getvalue()
    from PIL import Image
    image = Image.open(BytesIO(buf.getvalue())).convert("RGB")
    small = BytesIO()
    image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        small, format="PNG", optimize=True)
    return small.getvalue()


def smallest_text_px(fig: Figure, column_px: float = COLUMN_PX) -> float:
    """The size (CSS px) of the smallest visible text of ``fig`` when the figure fills a column
    ``column_px`` wide (inf if it has no text). Compare with MIN_TEXT_PX."""
    return smallest_text_fraction(fig) * column_px


def smallest_text_fraction(fig: Figure, font_pt: float | None = None) -> float:
    """The size of the smallest visible text of ``fig`` as a fraction of the stored image's width (the
    figure as saved by figure_png); inf if it has no text. font_pt: its smallest font, if known (it
    takes a draw to find)."""
    pt = smallest_font_pt(fig) if font_pt is None else font_pt
    return pt / 72 / _tight_width_in(fig) if np.isfinite(pt) else float("inf")


def smallest_font_pt(fig: Figure) -> float:
    """The font size (pt) of the smallest visible text of ``fig`` (inf if it has none)."""
    fig.canvas.draw()  # tick labels exist only once drawn
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
             and _in_view(t)]
    return float(min(sizes)) if sizes else float("inf")


def _is_colorbar(ax: Axes) -> bool:
    return hasattr(ax, "_colorbar") or hasattr(ax, "_colorbar_info")


def _panels(fig: Figure) -> list[list[Axes]]:
    """The figure's visible panels in reading order (rows top to bottom, then left to right); twin axes
    (twinx/twiny) travel with their host, colour-bar axes are left out."""
    groups: list[list[Axes]] = []
    seen: set[int] = set()
    for ax in fig.axes:
        if id(ax) in seen or _is_colorbar(ax) or not ax.get_visible():
            continue
        group = [a for a in fig.axes if a is ax or (a in ax._twinned_axes.get_siblings(ax) and not _is_colorbar(a))]
        seen.update(id(a) for a in group)
        groups.append(group)
    def key(group: list[Axes]) -> tuple[float, float]:
        box = group[0].get_position(original=True)
        return (-round(box.y1, 2), round(box.x0, 2))
    return sorted(groups, key=key)


def phone_font_pt() -> float:
    """The smallest font (pt) a phone rendering shows: PHONE_MIN_TEXT_PX in the phone column when the
    rendering is PHONE_WIDTH_IN wide (with 2 % to spare)."""
    return PHONE_MIN_TEXT_PX * 72 * PHONE_WIDTH_IN / PHONE_COLUMN_PX * 1.02


def _raise_fonts(fig: Figure, least_pt: float) -> Callable[[], None]:
    """Raise every font of ``fig`` (texts, legends, tick labels) smaller than ``least_pt`` to it; returns
    the function that puts the old sizes back."""
    raised = [(t, t.get_fontsize()) for t in fig.findobj(Text) if t.get_fontsize() < least_pt]
    for t, _ in raised:
        t.set_fontsize(least_pt)
    retick: list[tuple[Any, float]] = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            ticks = axis.get_major_ticks() + axis.get_minor_ticks()
            if any(t.label1.get_fontsize() < least_pt for t in ticks):
                retick.append((axis, axis.get_major_ticks()[0].label1.get_fontsize() if ticks else least_pt))
                axis.set_tick_params(which="both", labelsize=least_pt)

    def restore() -> None:
        for t, size in raised:
            t.set_fontsize(size)
        for axis, size in retick:
            axis.set_tick_params(which="both", labelsize=size)
    return restore


def desktop_font_pt(fig: Figure) -> float:
    """The smallest font (pt) that keeps text >= MIN_TEXT_PX when ``fig`` fills the column (COLUMN_PX)."""
    return MIN_TEXT_PX * 72 * _tight_width_in(fig) / COLUMN_PX * 1.05   # margin: larger fonts widen it


@contextmanager
def phone_layout(fig: Figure, font_pt: float | None = None) -> Iterator[bool]:
    """Temporarily lay ``fig`` out for a phone: ``PHONE_WIDTH_IN`` wide, its panels (the Axes of its grid
    or placed by hand) stacked in one column in reading order, each as tall as a row of the original,
    laid out by matplotlib's constrained layout; colour bars follow the panels they belong to (a bar
    shared by a row of panels spans them once stacked); y tick labels hidden by a shared y axis come
    back; fonts smaller than ``phone_font_pt()`` are raised to it. Yields whether the figure was changed
    (False: one panel whose text already reads on a phone); size, grid, fonts and layout engine are
    restored on exit. font_pt: the figure's smallest font (``smallest_font_pt``), if known."""
    panels = _panels(fig)
    width = PHONE_WIDTH_IN
    pt = smallest_font_pt(fig) if font_pt is None else font_pt
    old_w, old_h = (float(v) for v in fig.get_size_inches())
    if not panels or (len(panels) == 1 and pt / 72 * PHONE_COLUMN_PX / _tight_width_in(fig) >= PHONE_MIN_TEXT_PX):
        yield False
        return
    rows = len({round(g[0].get_position(original=True).y1, 2) for g in panels})
    row_h = min(max(old_h / rows, 1.6), 3.6)
    height = max(old_h * width / old_w, min(old_h, 2.2)) if len(panels) == 1 else row_h * len(panels)
    saved = [(ax, ax.get_subplotspec(), ax.get_position(original=True).frozen(),
              ax.get_position(original=False).frozen(),
              ax.yaxis.get_tick_params().get("labelleft"), [t.get_visible() for t in ax.get_yticklabels()])
             for ax in fig.axes]
    saved_info = {id(ax): (getattr(ax, "_colorbar_info", None), list(ax._colorbars)) for ax in fig.axes}
    engine = fig.get_layout_engine()
    restore_fonts = _raise_fonts(fig, phone_font_pt())
    try:
        fig._layout_engine = None  # restored below; set_layout_engine refuses to swap with colour bars
        fig.set_size_inches(width, height)
        grid = GridSpec(len(panels), 1, figure=fig)
        for i, group in enumerate(panels):
            for ax in group:
                ax.set_subplotspec(grid[i, 0])
                if ax.yaxis.get_label_position() == "left":
                    ax.yaxis.set_tick_params(which="both", labelleft=True)
        for cax in fig.axes:
            if _is_colorbar(cax):
                _follow_parents(fig, cax)
        from matplotlib.layout_engine import ConstrainedLayoutEngine
        ConstrainedLayoutEngine(h_pad=0.04, w_pad=0.04).execute(fig)
        yield True
    finally:
        fig.set_size_inches(old_w, old_h)
        restore_fonts()
        for ax, spec, original, active, labelleft, visible in saved:
            info, bars = saved_info[id(ax)]
            if info is not None:
                ax._colorbar_info = info
            elif hasattr(ax, "_colorbar_info"):
                del ax._colorbar_info
            ax._colorbars = bars
            ax._subplotspec = spec
            ax._set_position(original, which="original")
            ax._set_position(active, which="active")
            if labelleft is not None:
                ax.yaxis.set_tick_params(which="both", labelleft=labelleft)
            for t, v in zip(ax.get_yticklabels(), visible):
                t.set_visible(v)

        fig._layout_engine = engine


def _follow_parents(fig: Figure, cax: Axes) -> None:
    """Let constrained layout place colour bar ``cax`` beside the panels it belongs to: a bar made with
    ``ax=`` keeps its parents; one drawn into an Axes placed by hand (``cax=``) belongs to the panels its
    image is drawn in, or (if none) to the panels of the row it sits beside."""
    cax._subplotspec = None  # a bar made by make_axes_gridspec sits in the old grid
    if getattr(cax, "_colorbar_info", None):
        return
    bar = getattr(cax, "_colorbar", None)
    mappable_ax = getattr(getattr(bar, "mappable", None), "axes", None)
    box = cax.get_position(original=True)
    parents = ([mappable_ax] if mappable_ax is not None and mappable_ax in fig.axes else
               [a for a in fig.axes if not _is_colorbar(a)
                and a.get_position(original=True).y0 < box.y1 and a.get_position(original=True).y1 > box.y0])
    if not parents:
        return
    # a bar beside several stacked panels spans all the panels it covered
    covered = [a for a in fig.axes if not _is_colorbar(a)
               and a.get_position(original=True).y0 < box.y1 and a.get_position(original=True).y1 > box.y0]
    parents = list(dict.fromkeys(parents + [a for a in covered if a.get_subplotspec() is not None]))
    horizontal = box.width > box.height
    cax._colorbar_info = dict(parents=parents, location="bottom" if horizontal else "right", shrink=1.0,
                              anchor=(0.5, 1.0) if horizontal else (0.0, 0.5),
                              panchor=(0.5, 0.0) if horizontal else (1.0, 0.5), fraction=0.05,
                              aspect=20, pad=0.05)
    for a in parents:
        a._colorbars.append(cax)


def phone_png(fig: Figure, *, width_px: int = PHONE_STORED_WIDTH_PX, colors: int | None = PALETTE_COLORS,
              font_pt: float | None = None) -> tuple[bytes, float] | None:
    """The figure's phone rendering (see ``phone_layout``) as PNG bytes ``width_px`` wide, with its
    smallest text as a fraction of its width; None when the figure needs none (one panel, narrow
    enough already). The figure itself is left as it was (and open). font_pt: the figure's smallest
    font (``smallest_font_pt``), if known: it takes a draw to find, and the layout keeps the fonts."""
    pt = smallest_font_pt(fig) if font_pt is None else font_pt
    with phone_layout(fig, pt) as changed:
        if not changed:
            return None
        # constrained layout fills the canvas: save it whole (no second layout pass to crop it)
        fraction = max(pt, phone_font_pt()) / 72 / PHONE_WIDTH_IN
        png = figure_png(fig, width_px=width_px, colors=colors, close=False, tight=False)
    return png, fraction


def _in_view(t: Text) -> bool:
    """Tick labels outside the axis range are kept by matplotlib but not drawn."""
    try:
        return t.get_window_extent().width > 0
    except RuntimeError:  # pragma: no cover - text without a renderer
        return True


def add_colorbar(mappable: ScalarMappable, ax: Axes | Sequence[Axes], label: str = "", **kwargs: Any
                 ) -> Colorbar:
    """A colour bar for ``mappable`` beside ``ax`` (one Axes, or several sharing the bar), labelled;
    every colour map in the book gets one (use it for maps that are not drawn by plot_gradient_map)."""
    axes = ax if isinstance(ax, Axes) else list(np.ravel(ax))
    fig = (axes if isinstance(axes, Axes) else axes[0]).figure
    kwargs.setdefault("fraction", 0.046 if isinstance(axes, Axes) else 0.03)
    kwargs.setdefault("pad", 0.03)
    return fig.colorbar(mappable, ax=axes, label=label, **kwargs)


def gradient_norm(G: np.ndarray, vmin: float | None = None, vmax: float | None = None) -> LogNorm:
    """The log colour scale of a gradient-flow map (12 decades at most below its largest entry)."""
    G = np.asarray(G, dtype=float)
    pos = G[np.isfinite(G) & (G > 0)]
    lo = vmin if vmin is not None else (max(pos.min(), pos.max() * 1e-12) if pos.size else 1e-12)
    hi = vmax if vmax is not None else (pos.max() if pos.size else 1.0)
    if hi <= lo:
        hi = lo * 10
    return LogNorm(vmin=lo, vmax=hi)


def plot_gradient_map(ax: Axes, G: np.ndarray, *, title: str = "", vmin: float | None = None,
                      vmax: float | None = None, colorbar: bool | Sequence[Axes] = True,
                      label: str = GRAD_LABEL) -> AxesImage:
    """Draw a gradient-flow map G: (T, T), ``G[t-1, k-1]`` = G_{t,k} for k <= t, on a log colour scale
    (GRAD_CMAP) with a colour bar. Rows: loss term t; columns: the state h_k the gradient arrives at. The
    tick labels show the math's 1-based t and k; data coordinates stay 0-based (the pixel of G[i, j] is
    centred at x = j, y = i), so overlays use code indices. Zeros (nothing arrives) are left blank.
    colorbar: True for a bar beside ``ax``; a list of Axes to share one bar (draw it once, on the last
    map); False when another map's bar already covers this one."""
    G = np.asarray(G, dtype=float)
    if G.ndim != 2:
        raise ValueError(f"G must be a (T, T) array, got shape {G.shape}")
    norm = gradient_norm(G, vmin, vmax)
    shown = np.where(G > 0, np.clip(G, norm.vmin, norm.vmax), np.nan)
    im = ax.imshow(shown, cmap=GRAD_CMAP, norm=norm, origin="upper", interpolation="nearest", aspect="equal")
    one_based = FuncFormatter(lambda v, _pos: f"{int(round(v)) + 1}")  # data stay 0-based (overlays)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=6, integer=True))
        axis.set_major_formatter(one_based)
    ax.set_facecolor("#f0f0f0")
    return label_map(ax, im, xlabel="state $h_k$ that receives the gradient", ylabel="loss term $t$",
                     title=title, colorbar=colorbar, label=label)


def label_map(ax: Axes, im: AxesImage, *, xlabel: str, ylabel: str, title: str = "",
              colorbar: bool | Sequence[Axes] = True, label: str = "") -> AxesImage:
    """Axis labels, an optional title and a colour bar (labelled ``label``) for a (t, k) map.
    colorbar: True for a bar beside ``ax``; a list of Axes to share one bar; False for none."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if colorbar is True:
        add_colorbar(im, ax, label)
    elif colorbar is not False:
        add_colorbar(im, colorbar, label)
    return im


def plot_lag_profile(ax: Axes, lags: np.ndarray, profile: np.ndarray, *, label: str = "", color: str | None = None,
                     bound: np.ndarray | None = None, bound_label: str = "bound") -> None:
    """Gradient size against the distance t - k on a log scale, optionally with a theoretical bound line."""
    keep = profile > 0
    ax.semilogy(lags[keep], profile[keep], "o-", ms=3, label=label or None, color=color)
    if bound is not None:
        ax.semilogy(lags, bound, "--", color=COLORS["bound"], label=bound_label)
    ax.set_xlabel("distance $t - k$ (time steps)")
    ax.set_ylabel(r"$\|\partial L_t/\partial h_k\|$ (geometric mean over $t$)")
