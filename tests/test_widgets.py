"""The kernel-free widget helper: one frame per combination, linked in the browser, within budget."""
from __future__ import annotations

import base64
import itertools

import ipywidgets as ipw
import matplotlib.pyplot as plt
import numpy as np
import pytest

from bptt.present import widgets


def draw_line(slope, style="solid"):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot(np.arange(4) * slope, linestyle=style)
    return fig


def frames_of(box, kind="desktop"):
    """The picture shown for each combination of control indices, read off the nested Stacks."""
    controls = [c for c in box.children if isinstance(c, (ipw.SelectionSlider, ipw.ToggleButtons, ipw.Dropdown))]
    root = box._bptt_roots[kind]
    sizes = [len(c.options) for c in controls]
    shown = {}
    for idx in itertools.product(*(range(n) for n in sizes)):
        node = root
        for i in idx:
            node = node.children[i]
        shown[idx] = node
    return controls, shown


def test_one_frame_per_combination_and_links_cover_every_stack():
    box = widgets.frame_widget(draw_line, {"slope": [1, 2, 3], "style": ["solid", "dashed"]})
    controls, shown = frames_of(box)
    assert [type(c) for c in controls] == [ipw.SelectionSlider, ipw.ToggleButtons]
    assert all(isinstance(img, ipw.Image) and img.value[:4] == b"\x89PNG" for img in shown.values())
    assert len({img.value for img in shown.values()}) == 6
    # control 0 drives the one outer Stack, control 1 the three inner ones, all through "index"
    links = box._bptt_links
    assert len(links) == 1 + 3
    assert all(isinstance(link, ipw.widgets.widget_link.Link) and link.source[1] == "index" for link in links)
    assert sum(link.source[0] is controls[1] for link in links) == 3


def test_identical_frames_are_embedded_once():
    box = widgets.frame_widget(lambda slope, style: draw_line(1, style), {"slope": [1, 2, 3], "style": ["solid", "dashed"]})
    _, shown = frames_of(box)
    assert len({id(img) for img in shown.values()}) == 2


def test_budget_is_enforced():
    with pytest.raises(ValueError, match="page budget"):
        widgets.frame_widget(draw_line, {"slope": list(range(10))}, max_bytes=5_000)


def test_initial_index_is_clamped_and_labels_checked():
    c = widgets.Control([0.5, 1.0, 2.0], initial=99)
    assert c.initial == 2
    with pytest.raises(ValueError, match="distinct"):
        widgets.Control([1, 1])
    with pytest.raises(ValueError, match="math"):
        widgets.Control([1, 2], label="$\\rho$")
    with pytest.raises(ValueError, match="at least one control"):
        widgets.frame_widget(draw_line, {})


def alt_of(image) -> str:
    """The alt text a frame carries in its CSS class (see widgets.alt_class)."""
    for cls in image._dom_classes:
        if cls.startswith(widgets.ALT_CLASS_PREFIX):
            code = cls[len(widgets.ALT_CLASS_PREFIX):]
            return base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)).decode("utf-8")
    return ""


def test_frames_are_stored_wide_enough_for_hidpi_and_carry_alt_text():
    from bptt.present import plotting
    box = widgets.frame_widget(draw_line, {"slope": widgets.Control([1, 2], label="slope")}, title="Lines",
                               colors=32)
    _, shown = frames_of(box)
    for (i,), img in shown.items():
        width = int.from_bytes(img.value[16:20], "big")
        assert width >= 1.5 * plotting.COLUMN_PX, width
        assert img.layout.width == "100%" and img.layout.height == "auto"
        assert alt_of(img) == f"Lines (slope = {[1, 2][i]})"
    box = widgets.frame_widget(draw_line, {"slope": [1, 2], "style": ["solid", "dashed"]},
                               alt="A line of slope {slope}, {style}")
    _, shown = frames_of(box)
    assert alt_of(shown[(1, 0)]) == "A line of slope 2, solid"
    assert alt_of(shown[(0, 0)]) != alt_of(shown[(1, 0)])
    with pytest.raises(ValueError, match="not a control"):
        widgets.frame_widget(draw_line, {"slope": [1]}, alt="{nope}")


def test_controls_fit_a_phone_column():
    box = widgets.frame_widget(draw_line, {"slope": [1, 2, 3], "style": ["solid", "dashed"]})
    controls, _ = frames_of(box)
    assert controls[0].layout.width == "100%" and controls[0].readout
    assert controls[1].layout.flex_flow == "row wrap"


def test_small_text_is_refused():
    def tiny(slope):
        fig, ax = plt.subplots(figsize=(9, 3))
        ax.plot([0, slope])
        ax.set_title("tiny", fontsize=6)
        return fig
    with pytest.raises(ValueError, match="smallest text"):
        widgets.frame_widget(tiny, {"slope": [1, 2]})
    with pytest.raises(TypeError, match="Figure"):
        widgets.frame_widget(lambda slope: None, {"slope": [1]})


def test_notebook_figures_are_stored_wide_and_text_is_measured():
    from IPython.core.interactiveshell import InteractiveShell
    from bptt.present import plotting
    shell = InteractiveShell.instance()
    plotting.use_book_style()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2])
    data, meta = shell.display_formatter.format(fig)
    png = data["image/png"]
    png = png if isinstance(png, bytes) else __import__("base64").b64decode(png)
    assert int.from_bytes(png[16:20], "big") >= 1.5 * plotting.COLUMN_PX
    assert 300 < meta["image/png"]["width"] < 450  # a live notebook shows it at its own size
    assert plotting.smallest_text_px(fig) >= plotting.MIN_TEXT_PX
    assert plotting.PHONE_KEY not in meta["image/png"]  # 4 in wide, one panel: reads on a phone as it is
    assert meta["image/png"][plotting.TEXT_KEY] * plotting.COLUMN_PX >= plotting.MIN_TEXT_PX
    plt.close(fig)
    fig = draw_panels(1)
    data, meta = shell.display_formatter.format(fig)
    md = meta["image/png"]
    phone = __import__("base64").b64decode(md[plotting.PHONE_KEY])
    assert int.from_bytes(phone[16:20], "big") >= 1.5 * plotting.PHONE_COLUMN_PX
    assert md[plotting.PHONE_TEXT_KEY] * plotting.PHONE_COLUMN_PX >= plotting.PHONE_MIN_TEXT_PX
    assert md[plotting.TEXT_KEY] * plotting.PHONE_COLUMN_PX < plotting.PHONE_MIN_TEXT_PX  # why it is needed
    plt.close(fig)
    InteractiveShell.clear_instance()


def test_small_fonts_are_raised_in_the_stored_figure_and_put_back():
    """A legend at 6 pt on a 9.5 in figure would show at ~6 px: the stored PNG raises it to >= 11 px."""
    from IPython.core.interactiveshell import InteractiveShell
    from bptt.present import plotting
    shell = InteractiveShell.instance()
    plotting.use_book_style()
    fig, ax = plt.subplots(figsize=(9.5, 3))
    ax.plot([1, 2], label="a line")
    legend = ax.legend(fontsize=6)
    ax.tick_params(labelsize=5)
    _, meta = shell.display_formatter.format(fig)
    assert meta["image/png"][plotting.TEXT_KEY] * plotting.COLUMN_PX >= plotting.MIN_TEXT_PX
    assert legend.get_texts()[0].get_fontsize() == 6   # the figure itself is left as drawn
    plt.close(fig)
    InteractiveShell.clear_instance()


def draw_panels(slope, style="a"):
    """A wide three-panel figure with a shared colour bar: it needs a phone rendering."""
    fig, axes = plt.subplots(1, 3, figsize=(9, 2.8), sharey=True)
    for k, ax in enumerate(axes):
        im = ax.imshow(np.outer(np.arange(5), np.arange(5)) * slope + k, aspect="auto")
        ax.set_xlabel("step $k$")
    axes[0].set_ylabel("step $t$")
    fig.colorbar(im, ax=list(axes), label="value")
    return fig


def test_wide_frames_get_phone_frames_linked_to_the_same_controls():
    from bptt.present import plotting
    box = widgets.frame_widget(draw_panels, {"slope": [1, 2], "style": ["a", "b"]}, alt="slope {slope}")
    controls, desktop = frames_of(box)
    _, phone = frames_of(box, "phone")
    assert set(box._bptt_roots) == {"desktop", "phone"}
    assert "bptt-phone-frames" in box._bptt_roots["phone"]._dom_classes
    for idx, img in phone.items():
        assert img is not desktop[idx] and alt_of(img) == alt_of(desktop[idx])
        w, h = int.from_bytes(img.value[16:20], "big"), int.from_bytes(img.value[20:24], "big")
        assert w >= 1.5 * plotting.PHONE_COLUMN_PX and h > w  # panels stacked: taller than wide
        fraction = [int(c.removeprefix("bptt-text-")) / 10_000 for c in img._dom_classes
                    if c.startswith("bptt-text-")]
        assert fraction and fraction[0] * plotting.PHONE_COLUMN_PX >= plotting.PHONE_MIN_TEXT_PX
    # every stack of both trees follows the controls: 1 + 2 stacks per tree
    assert len(box._bptt_links) == 2 * (1 + 2)
    narrow = widgets.frame_widget(draw_line, {"slope": [1, 2]})
    assert set(narrow._bptt_roots) == {"desktop"}  # a narrow one-panel figure reads on a phone as it is
