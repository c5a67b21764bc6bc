"""What the browser tests and scripts/screenshot.py share: the pages of the book and how to start Chromium."""
from __future__ import annotations

import http.server
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from toc_notebooks import toc_files  # noqa: E402

CHROMIUM = os.environ.get("BPTT_CHROMIUM", "/usr/bin/chromium")
# the flags verified in TOOLCHAIN.md: headless, no sandbox (root), and no network but loopback
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def book_pages() -> list[str]:
    """The pages of the book, in toc order, as paths relative to the HTML root (e.g. 'book/01_forward.html')."""
    import yaml
    return [f"{entry}.html" for entry in toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text()))]


def chapter_pages() -> list[str]:
    """The chapter pages (notebooks), which all carry at least one widget."""
    return [p for p in book_pages() if (ROOT / p.replace(".html", ".ipynb")).exists()]


def _pages_whose_notebook_has(*needles: str) -> list[str]:
    return [p for p in chapter_pages()
            if any(n in (ROOT / p.replace(".html", ".ipynb")).read_text(encoding="utf-8") for n in needles)]


def frame_widget_pages() -> list[str]:
    """Pages with a frame widget (precomputed PNG frames, bptt.widgets.frame_widget)."""
    return _pages_whose_notebook_has("frame_widget(")


def live_widget_pages() -> list[str]:
    """Pages with a live widget (bptt.present.live: BPTT recomputed in the browser)."""
    return _pages_whose_notebook_has("GradientFlowWidget", "lab_widget(")


def widget_controls(box) -> list[tuple[str, object]]:
    """The widget's controls, top to bottom: ("slider" | "buttons" | "dropdown", locator)."""
    found = []
    for kind, selector in (("slider", ".widget-slider"), ("buttons", ".widget-toggle-buttons"),
                           ("dropdown", ".widget-dropdown")):
        loc = box.locator(selector)
        for i in range(loc.count()):
            el = loc.nth(i)
            found.append((el.bounding_box()["y"], kind, el))
    return [(kind, el) for _, kind, el in sorted(found, key=lambda f: f[0])]


def move_control(page, kind: str, control) -> None:
    """Move one control one stop, the way a reader would."""
    if kind == "slider":
        control.locator(".noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
    elif kind == "buttons":
        buttons = control.locator("button")
        active = [i for i in range(buttons.count()) if "mod-active" in (buttons.nth(i).get_attribute("class") or "")]
        buttons.nth(((active[0] if active else -1) + 1) % buttons.count()).click()   # the next button
    else:
        select = control.locator("select")
        values = select.evaluate("s => Array.from(s.options).map(o => o.value)")
        current = select.evaluate("s => s.selectedIndex")
        select.select_option(values[(current + 1) % len(values)])   # the next option, as a reader would


@contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port) from a thread; yields the base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
