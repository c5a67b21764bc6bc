"""The chapters' drawings that need a study's data: the unrolled graph of chapter 3 (``draw_unrolled``),
the (t, k) triangle a gradient method visits in chapter 4 (``plot_visits``, ``draw_cost_frame``) and the
connectivity profile of chapter 8's character model (``connectivity_figure``). The computations behind
them live in ``bptt.studies``; only the drawing is here.
"""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

from ..core.validation import as_float_array, positive_int
from ..studies.cost import linear_problem, method1, method2, visit_grid
from . import plotting


# --------------------------------------------------------------------------- chapter 3: the unrolled graph
_RED, _ORANGE, _GREY = "#d62728", "#ff9f40", "#b0b0b0"
# node labels are plain text with Unicode sub/superscripts: a widget draws hundreds of them, and mathtext
# layout would dominate the time to precompute its frames
_SUB = str.maketrans("0123456789()", "₀₁₂₃₄₅₆₇₈₉₍₎")
_SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


_R = 0.27  # node radius in data units


def _arrow(ax: Axes, p: tuple[float, float], q: tuple[float, float], color: str, lw: float, *,
           start_gap: float = _R, end_gap: float = _R) -> None:
    """An arrow from p to q, both shortened along the line (data units) so it meets the node borders."""
    (x0, y0), (x1, y1) = p, q
    n = float(np.hypot(x1 - x0, y1 - y0))
    ux, uy = (x1 - x0) / n, (y1 - y0) / n
    ax.add_patch(FancyArrowPatch((x0 + ux * start_gap, y0 + uy * start_gap), (x1 - ux * end_gap, y1 - uy * end_gap),
                                 arrowstyle="-|>", mutation_scale=9 + 2 * lw, color=color, lw=lw,
                                 shrinkA=0, shrinkB=0, zorder=1))


def draw_unrolled(ax: Axes, T: int, *, t: int | None = None, k: int | None = None,
                  copy_values: np.ndarray | None = None, show_uv: bool = False, fontsize: float = 10) -> None:
    """Draw the unrolled graph x_j -> h_j -> o_j -> L_j (j = 1 .. T) with the copy W^(j) feeding h_j.

    t, k (1-based): highlight L_t, every copy W^(j) with j <= t (they all reach L_t, orange) and the path
    from W^(k) to L_t (red); copies with j > t are greyed (no path). copy_values (T,): numbers printed
    above the copies j <= t (e.g. ||dL_t/dW^(j)||). show_uv: label the U and V edges. fontsize: of the
    node labels (the other labels are a little smaller).
    """
    T = positive_int(T, "T")
    for name, val in (("t", t), ("k", k)):
        if val is not None and not 1 <= positive_int(val, name) <= T:
            raise ValueError(f"{name} must lie in 1 .. T = {T}, got {val}")
    if copy_values is not None:
        copy_values = as_float_array(copy_values, "copy_values", 1)
        if copy_values.shape != (T,):
            raise ValueError(f"copy_values must have shape (T,) = ({T},), got {copy_values.shape}")
    dx = 1.3                                       # horizontal distance between steps
    Y = {"x": 0.0, "h": 1.0, "o": 2.0, "L": 3.0}  # row of each kind of node
    active = t is not None
    reaches = (lambda j: j <= t) if active else (lambda j: False)
    on_path = (lambda j: k is not None and k <= j <= t) if active else (lambda j: False)

    def node(j: int, row: str, color: str, fill: str = "white", lw: float = 1.2) -> None:
        ax.add_patch(Circle((dx * j, Y[row]), _R, fc=fill, ec=color, lw=lw, zorder=2))
        ax.text(dx * j, Y[row], row + str(j).translate(_SUB), ha="center", va="center", fontsize=fontsize, zorder=3,
                color="#777777" if color == _GREY else "black")

    def edge(p: tuple[float, float], q: tuple[float, float], red: bool, color: str) -> None:
        _arrow(ax, p, q, _RED if red else color, 2.6 if red else 1.0)

    node(0, "h", "black")
    for j in range(1, T + 1):
        col = _GREY if active and j > t else "black"
        is_t = active and j == t
        node(j, "x", col)
        node(j, "h", _RED if on_path(j) else col, "#fde0dd" if on_path(j) else "white", 2.2 if on_path(j) else 1.2)
        node(j, "o", _RED if is_t and on_path(j) else col)
        node(j, "L", _RED if is_t else col, "#fde0dd" if is_t else "white", 2.2 if is_t else 1.2)
        X = dx * j
        edge((X, Y["x"]), (X, Y["h"]), False, col)
        edge((X, Y["h"]), (X, Y["o"]), is_t and on_path(j), col)
        edge((X, Y["o"]), (X, Y["L"]), is_t and on_path(j), col)
        edge((X - dx, Y["h"]), (X, Y["h"]), on_path(j - 1) and on_path(j), col)
        if show_uv:
            ax.text(X + 0.07, 0.5, "$U$", fontsize=fontsize - 2, color="#555555", va="center")
            ax.text(X + 0.07, 1.5, "$V$", fontsize=fontsize - 2, color="#555555", va="center")
        # the copy W^(j): a box above the h_{j-1} -> h_j edge, feeding h_j
        wx, wy = X - dx / 2, 1.62
        if active and j == k:
            wc, wf, wl = (_RED, "white", 1.4) if j > t else (_RED, "#fde0dd", 2.4)
        elif reaches(j):
            wc, wf, wl = _ORANGE, "#fff1e0", 1.6
        else:
            wc, wf, wl = col, "white", 1.0
        ax.add_patch(Rectangle((wx - 0.27, wy - 0.16), 0.54, 0.32, fc=wf, ec=wc, lw=wl,
                               ls="--" if active and j > t else "-", zorder=2))
        ax.text(wx, wy, "W" + f"({j})".translate(_SUP), ha="center", va="center", fontsize=fontsize - 2, zorder=3,
                color="#777777" if col == _GREY else "black")
        ecol = _RED if active and j == k and j <= t else (_ORANGE if reaches(j) else col)
        _arrow(ax, (wx + 0.12, wy - 0.16), (X, Y["h"]), ecol, 2.4 if ecol == _RED else 1.0, start_gap=0.0)
        if copy_values is not None and reaches(j):
            ax.text(wx, wy + 0.33, f"{copy_values[j - 1]:.3f}", ha="center", va="center", fontsize=fontsize - 2,
                    color=_RED if j == k else "#a05a00")
    ax.set_xlim(-0.4, dx * T + 0.4)
    ax.set_ylim(-0.35, 3.35)
    ax.set_aspect("equal")
    ax.axis("off")


# --------------------------------------------------------------------------- chapter 4: the visited triangle
def plot_visits(ax: Axes, visits: list[tuple[int, int, int]], T: int, *, title: str = "",
                numbers: bool | None = None, colorbar: bool = True) -> AxesImage:
    """Draw the (t, k) triangle a method visited: each cell coloured by the product that carried loss term t
    across step k (dark = early, light = late); cells one product shares have one colour. Rows t (loss term),
    columns k (step), both 1-based. numbers: write the product number in each cell (default: T <= 8)."""
    grid = visit_grid(visits, T)
    n = max(len(visits), 1)
    im = ax.imshow(grid, cmap="viridis", vmin=1, vmax=max(n, 2), origin="upper", interpolation="nearest",
                   extent=(0.5, T + 0.5, T + 0.5, 0.5))
    ax.set_facecolor("#f4f4f4")
    if T <= 24:
        ax.set_xticks(np.arange(0.5, T + 1), minor=True)
        ax.set_yticks(np.arange(0.5, T + 1), minor=True)
        ax.grid(which="minor", color="white", lw=0.6)
        ax.tick_params(which="minor", length=0)
    if numbers if numbers is not None else T <= 8:
        for t in range(1, T + 1):
            for k in range(1, t + 1):
                ax.text(k, t, f"{grid[t - 1, k - 1]:.0f}", ha="center", va="center", fontsize=11,
                        color="white" if grid[t - 1, k - 1] < 0.6 * n else "black")
    return plotting.label_map(ax, im, xlabel="step k the gradient crosses", ylabel="loss term t", title=title,
                              colorbar=colorbar, label="product number")


def draw_cost_frame(T: int, timing: dict[str, np.ndarray]) -> Figure:
    """One frame of the chapter's widget for sequence length T: the (t, k) triangles that method 1 and
    method 2 walk (replayed from the instrumented Jacobian's logs), their product counts and the measured
    times, and the timing curves with T marked. timing: the dict of ``time_methods`` (keys "T", "naive",
    "bptt"); it must contain T. Returns the Figure (the caller closes it)."""
    T = positive_int(T, "T")
    hits = np.flatnonzero(np.asarray(timing["T"]) == T)
    if hits.size == 0:
        raise ValueError(f"timing has no measurement for T = {T}; measured: {list(timing['T'])}")
    i = int(hits[0])
    prob = linear_problem(T, B=1, D=1, H=2)
    runs = [("method 1", "naive", method1(prob)[1], "one product\nper cell,\nterm by term"),
            ("method 2", "bptt", method2(prob)[1], "one product\nper column,\nk = T .. 1")]
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.2), gridspec_kw={"width_ratios": [1, 1, 1.05]})
    for ax, (name, m, jac, note) in zip(axes, runs):
        plot_visits(ax, jac.visits, T, colorbar=False,
                    title=f"{name}: {jac.calls} products\n{m}: {timing[m][i] * 1e3:.2f} ms")
        ax.text(0.97, 0.97, note, transform=ax.transAxes, ha="right", va="top")
    axes[1].set_ylabel("")
    ax = axes[2]
    for (name, m, _, _), color in zip(runs, ("#d62728", "#1f77b4")):
        ax.loglog(timing["T"], np.asarray(timing[m]) * 1e3, ".-", color=color, lw=1, label=f"{m} ({name})")
        ax.loglog([T], [timing[m][i] * 1e3], "o", color=color, ms=8)
    ax.set(xlabel="T (steps)", ylabel="time per gradient (ms)", title=f"measured times, T = {T} marked")
    ax.legend(loc="upper left")
    fig.subplots_adjust(wspace=0.38)
    return fig


# --------------------------------------------------------------------------- chapter 8: connectivity
def connectivity_figure(c: np.ndarray, chars: str, predicted: str, *, span: int = 40, title: str = "",
                        color: str = "#1f77b4") -> Any:
    """Draw a connectivity profile: a strip of the last ``span`` characters coloured by influence (log scale,
    3 decades, ``plotting.GRAD_CMAP``) above a bar chart of c[k] against the distance t - k.
    c: (t+1,) from ``connectivity``; chars: the t+1 characters read (chars[k] is x_k); predicted: the
    character predicted after position t. Returns the matplotlib Figure."""
    c = np.asarray(c, dtype=float)
    if c.ndim != 1 or len(chars) != len(c) or not np.all(c >= 0) or c.max() <= 0:
        raise ValueError(f"need c: (t+1,) nonnegative, not all zero, and t+1 characters; got {c.shape}, {len(chars)}")
    t = len(c) - 1
    ks = np.arange(max(0, t - span + 1), t + 1)
    level = np.clip(1 + np.log10(np.maximum(c[ks] / c.max(), 1e-300)) / 3, 0, 1)
    fig, (top, bot) = plt.subplots(2, 1, figsize=(7.5, 3.4), gridspec_kw=dict(height_ratios=[1, 3]))
    top.imshow(level[None], cmap=plotting.GRAD_CMAP, vmin=-0.2, vmax=1.05, aspect="auto",
               extent=(-0.5, len(ks) - 0.5, -0.5, 0.5))
    for i, k in enumerate(ks):
        top.text(i, 0, repr(chars[k])[1:-1], ha="center", va="center", family="monospace",
                 color="white" if level[i] < 0.6 else "black")
    top.text(len(ks) + 0.3, 0, f"predicts {predicted!r}", va="center")
    top.set(xlim=(-0.5, len(ks) + 6), ylim=(-0.5, 0.5))
    top.axis("off")
    top.set_title(f"the last {len(ks)} characters, coloured by influence (bright = strong)")
    shown = c[ks][c[ks] > 0]
    floor = max((shown.min() if shown.size else c.max()) / 3, 1e-12 * c.max())  # every nonzero bar shows
    bot.bar(t - ks, c[ks], color=color)
    bot.set(yscale="log", ylim=(floor, 2 * c.max()), xlim=(span, -1),
            xlabel="distance $t - k$ (characters back)", ylabel=r"$\|\partial o_{t,j}/\partial x_k\|$")
    bot.yaxis.set_minor_locator(plt.NullLocator())   # minor log ticks cost most of the drawing time
    if title:
        bot.set_title(title)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.15, top=0.9, hspace=0.6)
    return fig
