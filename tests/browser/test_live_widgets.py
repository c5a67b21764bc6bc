"""The live widgets (bptt/present/live.py) in the built book, in Chromium with no kernel and no network.

Every page with a live widget, opened from file:// and over HTTP: the widget renders (a canvas per view, at the
device pixel ratio), every control it shows responds (the pictures or the numbers change), nothing on screen
reads "NaN" and the console stays clean, also at exploding settings. The lab page reads its settings from the
URL, writes every change back, and a reload restores them; the map's hover readout uses the book's 1-based
(t, k). At 390 px every control stays inside the screen.
"""
from __future__ import annotations

import re
from typing import Iterator

import pytest

from book_site import live_widget_pages, serve_directory
from test_book_pages import THIRD_PARTY_NOISE

TIMEOUT_MS = 30_000
LAB = "book/lab.html"
# which controls can move only after another one is set (they are disabled until then)
PREREQUISITE = {"k": ("truncation", "window"), "keep_prob": ("truncation", "randomized"),
                "seed": ("truncation", "randomized"), "threshold": ("clipping", "norm")}

# JavaScript: a fingerprint of what a widget shows (every visible canvas's pixels and every number as text)
SNAPSHOT_JS = """(root) => Array.from(root.querySelectorAll('.bptt-live-panel:not([hidden]) canvas'))
    .map(c => c.toDataURL().length + ':' + c.toDataURL().slice(-200)).join('|')
  + '#' + Array.from(root.querySelectorAll('.bptt-live-info, output')).map(e => e.textContent).join('|')"""

# JavaScript: the value each control shows ({name: text}), as a reader reads it
SHOWN_JS = """(root) => Object.fromEntries(Array.from(root.querySelectorAll('.bptt-live-control'))
    .map(r => [r.dataset.control, (r.querySelector('output') || r.querySelector('select')).value]))"""


@pytest.fixture(scope="module")
def http_root(html_root) -> Iterator[str]:
    """The built site served on 127.0.0.1 (a free port) for the module's tests."""
    with serve_directory(html_root) as url:
        yield url


def _open_page(browser, url: str, width: int, contexts: list):
    """The page at url, its widget rendered, and the list its errors are recorded in."""
    context = browser.new_context(viewport={"width": width, "height": 1000}, device_scale_factor=2)
    contexts.append(context)
    page = context.new_page()
    errors: list[str] = []

    def record(message: str) -> None:
        if not any(known in message for known in THIRD_PARTY_NOISE):
            errors.append(message)
    # a failed request is reported by its URL (the browser's own /favicon.ico probe over HTTP is not ours)
    page.on("console", lambda m: record(f"console: {m.text}") if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: record(f"pageerror: {e}"))
    page.on("response", lambda r: record(f"HTTP {r.status}: {r.url}") if r.status >= 400
            and not r.url.endswith("/favicon.ico") else None)
    page.goto(url, wait_until="load")
    page.wait_for_selector(".bptt-live[data-ms]", timeout=TIMEOUT_MS)
    return page, errors


@pytest.fixture(params=["file", "http"])
def open_page(request, browser, html_root, http_root):
    """open_page(rel, query="", width=1280) -> (page, errors): the page with its widget rendered."""
    contexts: list = []

    def _open(rel: str, query: str = "", width: int = 1280):
        base = (html_root / rel).as_uri() if request.param == "file" else f"{http_root}/{rel}"
        return _open_page(browser, base + query, width, contexts)
    _open.scheme = request.param
    yield _open
    for c in contexts:
        c.close()


def _no_nan(page, rel: str) -> None:
    text = page.inner_text("body")
    assert not re.search(r"\bNaN\b|\bInfinity\b|undefined", text), f"{rel}: 'NaN', 'Infinity' or 'undefined' on screen"


def _controls(widget) -> list[str]:
    rows = widget.locator(".bptt-live-control:not([hidden])")
    return [rows.nth(i).get_attribute("data-control") for i in range(rows.count())]


def _move(page, widget, name: str) -> None:
    """Move one control one step, as a reader would (keyboard on a range, next option, click)."""
    control = widget.locator(f'.bptt-live-control[data-control="{name}"]')
    field = control.locator("input, select, button").first
    tag = field.evaluate("e => e.tagName")
    if tag == "SELECT":
        options = field.evaluate("s => Array.from(s.options).map(o => o.value)")
        current = field.evaluate("s => s.selectedIndex")
        field.select_option(options[(current + 1) % len(options)])
    elif tag == "BUTTON":
        field.click()
    else:
        at_max = field.evaluate("e => Number(e.value) + Number(e.step) > Number(e.max)")
        field.focus()
        for _ in range(3):
            page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")


def _set(widget, name: str, value: str) -> None:
    widget.locator(f'.bptt-live-control[data-control="{name}"] select').select_option(value)


def _settle(page) -> None:
    page.wait_for_timeout(150)   # two animation frames and a redraw, with room to spare


@pytest.mark.parametrize("rel", live_widget_pages())
def test_live_widget_renders_and_responds_to_every_control(open_page, rel):
    page, errors = open_page(rel)
    for w in range(page.locator(".bptt-live").count()):
        widget = page.locator(".bptt-live").nth(w)
        widget.scroll_into_view_if_needed()
        canvases = widget.locator(".bptt-live-panel:not([hidden]) canvas")
        assert canvases.count() >= 1, f"{rel}: the live widget draws nothing"
        for i in range(canvases.count()):
            css_w, px_w = canvases.nth(i).evaluate("c => [c.getBoundingClientRect().width, c.width]")
            assert css_w > 200 and px_w >= 1.9 * css_w, f"{rel}: canvas {i} is {css_w} px wide, {px_w} device px (DPR 2)"
        names = _controls(widget)
        assert names, f"{rel}: the live widget shows no controls"
        for name in names:
            if name in PREREQUISITE and PREREQUISITE[name][0] in names:
                _set(widget, *PREREQUISITE[name])
                _settle(page)
            if widget.locator(f'[data-control="{name}"] :is(input, select, button)').first.is_disabled():
                continue   # e.g. keep_prob in a chapter that hides the truncation control: not movable there
            before = widget.evaluate(SNAPSHOT_JS)
            _move(page, widget, name)
            _settle(page)
            assert widget.evaluate(SNAPSHOT_JS) != before, f"{rel} ({open_page.scheme}): moving {name} changed nothing"
    _no_nan(page, rel)
    assert not errors, f"{rel} ({open_page.scheme}): {errors}"


def test_exploding_settings_show_a_message_not_nan(open_page):
    page, errors = open_page(LAB, "?rho=2.5&T=200&act=identity&w=orthogonal&trunc=full&clip=element:0.5&in=5")
    widget = page.locator(".bptt-live").first
    message = widget.locator(".bptt-live-message")
    assert message.is_visible() and re.search(r"Overflow|Exploding", message.inner_text())
    _no_nan(page, LAB)
    for name in ("rho", "T"):       # dragging through exploding settings stays clean
        _move(page, widget, name)
        _settle(page)
    _no_nan(page, LAB)
    assert not errors, errors


def test_lab_url_round_trips_its_settings(open_page):
    query = "?rho=1.37&T=123&trunc=window:7&act=relu&w=gaussian&in=2.5&clip=norm:0.3&t=50&draw=2"
    page, errors = open_page(LAB, query)
    widget = page.locator(".bptt-live").first

    def shown() -> dict[str, str]:
        return widget.evaluate(SHOWN_JS)

    s = shown()
    assert (s["rho"], s["T"], s["truncation"], s["k"], s["activation"], s["w_kind"]) == ("1.37", "123", "window", "7", "relu", "gaussian")
    assert (s["input_scale"], s["clipping"], s["threshold"], s["t"], s["seed"]) == ("2.50", "norm", "0.3", "50", "draw 3")
    url = page.evaluate("location.search")
    for part in ("rho=1.37", "T=123", "trunc=window%3A7", "act=relu", "w=gaussian", "in=2.5", "clip=norm%3A0.3", "t=50", "draw=2"):
        assert part in url, f"{part} missing from {url}"
    _move(page, widget, "rho")           # three steps of 0.01 to the right
    _set(widget, "truncation", "detach")
    _settle(page)
    url = page.evaluate("location.href")
    assert "rho=1.4&" in url and "trunc=detach%3A7" in url, url
    page.goto(url, wait_until="load")    # a reader following the link sees the same settings
    page.wait_for_selector(".bptt-live[data-ms]", timeout=TIMEOUT_MS)
    s = shown()
    assert (s["rho"], s["T"], s["truncation"], s["k"], s["activation"]) == ("1.40", "123", "detach", "7", "relu")
    assert not errors, errors


def test_lab_url_values_are_clamped(open_page):
    page, errors = open_page(LAB, "?rho=99&T=5000&trunc=window:900&act=softplus&clip=norm:-3&in=abc")
    widget = page.locator(".bptt-live").first
    vals = widget.evaluate(SHOWN_JS)
    assert (vals["rho"], vals["T"], vals["k"], vals["activation"], vals["threshold"]) == ("2.50", "200", "200", "tanh", "0.001")
    _no_nan(page, LAB)
    assert not errors, errors


def test_lab_url_accepts_trait_names_and_rewrites_them_short(open_page):
    page, errors = open_page(LAB, "?activation=relu&truncation=detach&k=4&rho=1.2&clipping=element&threshold=0.5")
    widget = page.locator(".bptt-live").first
    vals = widget.evaluate(SHOWN_JS)
    assert (vals["activation"], vals["truncation"], vals["k"], vals["rho"], vals["clipping"], vals["threshold"]) == \
        ("relu", "detach", "4", "1.20", "element", "0.5")
    url = page.evaluate("location.search")
    assert "act=relu" in url and "trunc=detach%3A4" in url and "clip=element%3A0.5" in url, url
    assert "activation=" not in url and "truncation=" not in url and "&k=" not in url, url
    assert not errors, errors


def test_map_readout_uses_math_indices(open_page):
    page, errors = open_page(LAB, "?rho=1&T=10&trunc=full&act=tanh&w=orthogonal&clip=none")
    canvas = page.locator(".bptt-live-map canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # the plot area starts 50 px from the left and 24 px from the top (widget.js, view "map")
    side = box["height"] - 24 - 44
    page.mouse.move(box["x"] + 50 + side * 0.05, box["y"] + 24 + side * 0.95)   # bottom-left cell: t = 10, k = 1
    _settle(page)
    readout = page.locator(".bptt-live-map .bptt-live-info").inner_text()
    assert "loss term t = 10, state h_1:" in readout and re.search(r"= [0-9.]+(×10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?", readout), readout
    page.mouse.move(box["x"] + 50 + side * 0.95, box["y"] + 24 + side * 0.05)   # top-right: k > t, no path
    _settle(page)
    assert "nothing" in page.locator(".bptt-live-map .bptt-live-info").inner_text()
    assert not errors, errors


@pytest.fixture
def contexts() -> Iterator[list]:
    opened: list = []
    yield opened
    for c in opened:
        c.close()


@pytest.mark.parametrize("rel", live_widget_pages())
def test_controls_stay_on_a_phone_screen(browser, html_root, contexts, rel):
    page, errors = _open_page(browser, (html_root / rel).as_uri(), 390, contexts)
    widget = page.locator(".bptt-live").first
    widget.scroll_into_view_if_needed()
    overflow = widget.evaluate("""(root) => Array.from(root.querySelectorAll(
        '.bptt-live-control:not([hidden]) :is(label, input, select, button, output), .bptt-live-panel:not([hidden]) canvas'))
        .map(e => e.getBoundingClientRect()).filter(r => r.width > 0 && (r.left < 0 || r.right > 390)).length""")
    assert overflow == 0, f"{rel}: {overflow} controls or canvases reach outside a 390 px screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    assert not errors, errors


# --------------------------------------------------------------------------- what the panels say (issue 18)
def _lab_presets(html_root) -> list[str]:
    """The queries of the lab page's "Things to try" links."""
    text = (html_root / LAB).read_text(encoding="utf-8")
    return sorted(set(re.findall(r'href="(\?[^"#]+)"', text)))


def test_lag_panel_measured_factor_never_exceeds_its_bound(open_page, html_root):
    """In every lab preset the lag panel's measured factor per step back is at most gamma sigma_max."""
    presets = [q.replace("&amp;", "&") for q in _lab_presets(html_root)]
    assert len(presets) >= 6, presets
    for query in presets:
        page, errors = open_page(LAB, query)
        info = page.locator(".bptt-live-lag .bptt-live-info").inner_text()
        m = re.search(r"measured factor per step back ([0-9.]+), bound γσ_max = ([0-9.]+)", info)
        assert m, f"{query}: {info}"
        assert float(m.group(1)) <= float(m.group(2)), f"{query}: {info}"
        assert not errors, errors


DARK_SHARE_JS = """(canvas) => {
  const ctx = canvas.getContext("2d"), d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let dark = 0, white = 0, n = 0;
  for (let i = 0; i < d.length; i += 4) { n++; const s = d[i] + d[i + 1] + d[i + 2];
    if (s < 60) dark++; else if (s > 750) white++; }
  return { dark: dark / n, white: white / n };
}"""


def test_saturating_map_is_clamped_readably_and_says_so(open_page):
    """At rho = 2.5, T = 200 (identity) the map spans ~90 decades: its colours are clamped to a readable range
    that the readout states, it is not a black field, and the impulse map is not blank."""
    page, errors = open_page(LAB, "?rho=2.5&T=200&act=identity&w=orthogonal&trunc=full&clip=none")
    widget = page.locator(".bptt-live").first
    info = widget.locator(".bptt-live-map .bptt-live-info").inner_text()
    assert "Colours clamped to" in info, info
    map_share = widget.locator(".bptt-live-map canvas").evaluate(DARK_SHARE_JS)
    assert map_share["dark"] < 0.25, map_share             # the old 16-decade scale left most of it black
    impulse = widget.locator(".bptt-live-impulse canvas").first.evaluate(DARK_SHARE_JS)
    assert impulse["white"] < 0.6, impulse                 # each step scaled: not a blank (white) field
    assert "each step's colours are scaled" in widget.locator(".bptt-live-impulse .bptt-live-info").inner_text()
    assert not errors, errors


def test_zero_rows_under_full_bptt_are_not_called_truncated(open_page):
    """Rows of the map that are exactly zero under full BPTT (a loss term whose softmax is saturated on the right
    class) say so on hover; nothing there is "cut by the truncation"."""
    page, errors = open_page(LAB, "?rho=2.5&T=60&act=identity&w=orthogonal&trunc=full&clip=none")
    canvas = page.locator(".bptt-live-map canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    side, T, found = box["height"] - 24 - 44, 60, []
    for t in range(1, T + 1):
        page.mouse.move(box["x"] + 50 + side * 0.5 / T, box["y"] + 24 + side * (t - 0.5) / T)   # (t, k = 1)
        readout = page.locator(".bptt-live-map .bptt-live-info").inner_text()
        assert "truncation" not in readout, readout
        if "= 0 (" in readout:
            found.append(readout)
    assert found and all("sends no gradient" in r or "blocked" in r for r in found), found
    assert not errors, errors
