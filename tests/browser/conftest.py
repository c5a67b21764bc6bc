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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_site import CHROMIUM, CHROMIUM_ARGS, ROOT  # noqa: E402


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
