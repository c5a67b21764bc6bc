"""Fixtures for testing the built book in a real browser (Debian's Chromium driven by Playwright).

The book is built once per session (unless BPTT_BOOK_HTML points at an existing build, or _build/html is
already there, as after `make build-strict`). Tests skip, saying why, only when Chromium is missing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

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


@pytest.fixture(scope="session")
def html_root() -> Path:
    """The built HTML book; built here if it is not there yet."""
    root = Path(os.environ.get("BPTT_BOOK_HTML", ROOT / "_build" / "html"))
    if not (root / "index.html").exists():
        jb = shutil.which("jupyter-book") or str(Path(sys.executable).parent / "jupyter-book")
        subprocess.run([jb, "build", str(ROOT), "--all", "-W", "--keep-going"], check=True, cwd=ROOT)
        root = ROOT / "_build" / "html"
    return root


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A headless Chromium; skips the browser tests if Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's package (apt-get install chromium) "
                    "to run the browser tests; .ci/run does this")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -r requirements.txt)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
