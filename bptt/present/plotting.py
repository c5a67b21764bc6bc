"""Figure conventions shared by every chapter: one colour map for gradient magnitude, log scales for
gradient norms, labelled axes. Functions draw into a given Axes and return what they drew."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.image import AxesImage

#: the colour map for "gradient magnitude" across the book (dark = little gradient arrives)
GRAD_CMAP = "magma"
#: colours for the strategies / models compared across chapters
COLORS = {"full": "#1f77b4", "window": "#ff7f0e", "detach": "#2ca02c", "randomized": "#d62728",
          "rnn": "#1f77b4", "lstm": "#9467bd", "bound": "#555555"}


def use_book_style() -> None:
    """Matplotlib defaults for the book: readable at dpi 70-100, no top/right spines."""
    plt.rcParams.update({"figure.dpi": 90, "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10,
                         "axes.spines.top": False, "axes.spines.right": False, "figure.autolayout": False})


def plot_gradient_map(ax: Axes, G: np.ndarray, *, title: str = "", vmin: float | None = None,
                      vmax: float | None = None, colorbar: bool = True,
                      label: str = r"$\|\partial L_t / \partial h_k\|$") -> AxesImage:
    """Draw a gradient-flow map G: (T, T), G[t-1, k-1] = G_{t,k} for k <= t, as a heatmap on a log colour
    scale. Rows: loss term L_t; columns: the state h_k the gradient arrives at, both labelled 1..T as in the
    book's math. Zeros (nothing arrives) are left blank."""
    G = np.asarray(G, dtype=float)
    pos = G[G > 0]
    lo = vmin if vmin is not None else (max(pos.min(), pos.max() * 1e-12) if pos.size else 1e-12)
    hi = vmax if vmax is not None else (pos.max() if pos.size else 1.0)
    if hi <= lo:
        hi = lo * 10
    shown = np.where(G > 0, np.clip(G, lo, hi), np.nan)
    T = G.shape[0]                      # axes in the book's 1-based step numbers: G[t-1, k-1] is G_{t,k}
    im = ax.imshow(shown, cmap=GRAD_CMAP, norm=LogNorm(vmin=lo, vmax=hi), origin="upper",
                   interpolation="nearest", aspect="equal", extent=(0.5, T + 0.5, T + 0.5, 0.5))
    ax.set_facecolor("#f0f0f0")
    return label_map(ax, im, xlabel="state $h_k$ that receives the gradient", ylabel="loss term $L_t$", title=title,
                     colorbar=colorbar, label=label)


def label_map(ax: Axes, im: AxesImage, *, xlabel: str, ylabel: str, title: str = "", colorbar: bool = True,
              label: str = "", pad: float = 0.04) -> AxesImage:
    """Axis labels, an optional title and an optional colour bar (labelled ``label``) for a (t, k) map."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=pad, label=label)
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
