"""The built book in a real browser, offline: every page loads without errors, math is typeset, every
image has loaded, nothing is fetched from outside the site, and every chapter's widget responds to its
control without a kernel."""
from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from book_site import book_pages, chapter_pages, frame_widget_pages, live_widget_pages, move_control, widget_controls

WIDGET_TIMEOUT_MS = 30_000

# Console messages from third-party page code that we cannot change and that break nothing;
# anything else (our widgets, our JavaScript, MathJax errors) fails the test.
THIRD_PARTY_NOISE = {
    "Identifier 'THEBE_JS_URL' has already been declared": "sphinx-thebe injects its config twice (TOOLCHAIN.md)",
    "Got invalid theme mode": "pydata-sphinx-theme with an empty localStorage (fresh browser profile)",
}

# JavaScript: the bytes of an <img> (widget frames are blob: URLs), base64-encoded
IMG_BYTES_JS = """async (img) => {
  const buf = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let s = ""; for (let i = 0; i < buf.length; i += 8192) s += String.fromCharCode(...buf.subarray(i, i + 8192));
  return btoa(s);
}"""


class PageVisit:
    """A page opened from file:// with its console errors, page errors and requests recorded."""

    def __init__(self, browser, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 1600})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self._error(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self._error(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url, wait_until="load")

    def _error(self, message: str) -> None:
        if not any(known in message for known in THIRD_PARTY_NOISE):
            self.errors.append(message)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, html_root):
    opened: list[PageVisit] = []

    def _visit(rel: str) -> PageVisit:
        v = PageVisit(browser, (html_root / rel).as_uri())
        opened.append(v)
        return v
    yield _visit
    for v in opened:
        v.close()


def _external(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme not in ("file", "data", "blob", "about") and parsed.hostname not in ("127.0.0.1", "localhost")


@pytest.mark.parametrize("rel", book_pages())
def test_page_loads_offline_with_math_and_images(visit, rel):
    v = visit(rel)
    page = v.page
    if page.locator(".math").count():
        page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
        page.wait_for_function("() => !document.querySelector('.MathJax_Processing, mjx-container[jax] mjx-merror')",
                               timeout=20_000)
    if rel in frame_widget_pages():
        page.wait_for_selector(".widget-subarea img.widget-image", timeout=WIDGET_TIMEOUT_MS)
    if rel in live_widget_pages():   # tests/browser/test_live_widgets.py checks them in depth
        page.wait_for_selector(".bptt-live[data-ms]", timeout=WIDGET_TIMEOUT_MS)
    page.wait_for_timeout(500)
    text = page.inner_text("main")
    assert "$$" not in text, f"{rel}: raw $$ left in the page: math was not typeset"
    assert not re.search(r"\\\\(frac|partial|sum)\b", text), f"{rel}: raw TeX visible in the page"
    broken = page.evaluate("() => Array.from(document.images).filter(i => i.offsetParent !== null && "
                           "(!i.complete || i.naturalWidth === 0)).map(i => i.src.slice(0, 80))")
    assert not broken, f"{rel}: images that did not load: {broken}"
    external = [u for u in v.requests if _external(u)]
    assert not external, f"{rel}: requests leaving the site: {external}"
    assert not v.errors, f"{rel}: errors in the browser console: {v.errors}"


def _visible_frame_bytes(page, box) -> bytes:
    img = box.locator("img.widget-image").filter(visible=True).first  # a Stack shows one child at a time
    img.wait_for(state="visible", timeout=WIDGET_TIMEOUT_MS)
    return base64.b64decode(img.evaluate(IMG_BYTES_JS))


@pytest.mark.parametrize("rel", frame_widget_pages())
def test_widget_changes_when_control_moves(visit, rel):
    page = visit(rel).page
    page.wait_for_selector(".widget-subarea img.widget-image", timeout=WIDGET_TIMEOUT_MS)
    box = page.locator(".widget-subarea").filter(has=page.locator("img.widget-image")).first
    box.scroll_into_view_if_needed()
    before = _visible_frame_bytes(page, box)
    assert before[:8] == b"\x89PNG\r\n\x1a\n", f"{rel}: the widget frame is not a PNG"
    controls = widget_controls(box)
    assert controls, f"{rel}: the widget has no slider, toggle buttons or dropdown"
    for kind, control in controls:  # some controls only matter for some settings of the others
        move_control(page, kind, control)
        page.wait_for_timeout(400)
        if _visible_frame_bytes(page, box) != before:
            return
    pytest.fail(f"{rel}: the widget picture did not change when any of its {len(controls)} controls moved")


def test_built_pages_reference_nothing_external(html_root: Path):
    """No page or stylesheet of the site loads a script, style, font or image from another host
    (links to papers are fine: <a href> is not checked)."""
    pattern = re.compile(r"""<(?:script|img|source|iframe)\b[^>]*\bsrc=["']([^"']+)["']|"""
                         r"""<link\b[^>]*\bhref=["']([^"']+)["'][^>]*>""", re.I)
    bad: list[str] = []
    pages = sorted(html_root.rglob("*.html"))
    assert pages, f"no HTML pages under {html_root}"
    for page in pages:
        html = page.read_text(encoding="utf-8", errors="replace")
        for m in pattern.finditer(html):
            url = m.group(1) or m.group(2)
            tag = m.group(0)
            if m.group(2) and not re.search(r"""rel=["'](stylesheet|preload|icon|shortcut icon|modulepreload)""", tag):
                continue  # <link rel="canonical"> and friends are not fetched to render
            if re.match(r"^(https?:)?//", url):
                bad.append(f"{page.relative_to(html_root)}: {url}")
    for css in sorted(html_root.rglob("*.css")):
        for url in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", css.read_text(errors="replace")):
            bad.append(f"{css.relative_to(html_root)}: {url}")
    assert not bad, "resources loaded from outside the site:\n" + "\n".join(bad[:30])


def test_widget_state_is_lean(html_root: Path):
    """Each page's embedded widget state stays under 1 MB."""
    for rel in chapter_pages():
        html = (html_root / rel).read_text(encoding="utf-8")
        states = re.findall(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
        size = sum(len(s) for s in states)
        assert size <= 1_000_000, f"{rel}: {size / 1e6:.2f} MB of widget state (budget 1 MB)"
