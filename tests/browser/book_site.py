"""What the browser tests and scripts/screenshot.py share: the pages of the book and how to start Chromium."""
from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
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


@contextmanager
def jupyter_lab(folder: Path, start_timeout_s: float = 90) -> Iterator[str]:
    """JupyterLab from this virtual environment (what `make lab` starts, with jupyterlab-myst) serving ``folder``
    on 127.0.0.1 (a free port, no token); the kernel imports `bptt` from this checkout. Skips the test, saying
    why, only when JupyterLab cannot start."""
    import pytest
    jupyter = Path(sys.executable).parent / "jupyter"
    if not jupyter.exists() and not shutil.which("jupyter"):
        pytest.skip("jupyter is not installed in this environment")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               JUPYTER_CONFIG_DIR=str(folder / ".jupyter-config"), OMP_NUM_THREADS="1")
    cmd = [str(jupyter) if jupyter.exists() else "jupyter", "lab", "--allow-root", "--no-browser",
           f"--port={port}", "--ip=127.0.0.1", "--ServerApp.token=", "--ServerApp.password=",
           "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={folder}",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    # every cell in the DOM (Lab 4 renders only the cells in view by default), so tests can read them all
    settings = folder / ".jupyter-config" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    log_path = folder / ".lab.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + start_timeout_s
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status", timeout=2)
                    break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        pytest.skip(f"JupyterLab did not start: {log_path.read_text()[-800:]}")
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
