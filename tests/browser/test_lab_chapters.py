"""Chapters in JupyterLab (what `make lab` opens, with jupyterlab-myst) read like their book pages after Run All:
every number in the prose shows its value, math typesets without an error, and no MyST markup (roles, targets,
labels) is left raw in the rendered markdown; every reference resolves (figures, other pages: see
scripts/convert_chapters.py) and every figure shows its numbered caption; solutions are collapsed and print
no verdict.

BPTT_LAB_CHAPTERS: comma-separated stems or "all" (default: one chapter, as in `make test`; `make test-reader`
runs all). BPTT_SCREENSHOT_DIR, if set, receives a full-page screenshot of each chapter.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

from book_site import ROOT, chapter_pages, jupyter_lab

STEMS = [Path(p).stem for p in chapter_pages()]
WANTED = os.environ.get("BPTT_LAB_CHAPTERS", "01_forward")
RUN_STEMS = STEMS if WANTED == "all" else [s for s in WANTED.split(",") if s]
import re  # noqa: E402

RAW = re.compile(r"\{(eval|eq|numref|ref|doc|glue(:\w+)?)\}`|^\([\w:-]+\)=\s*$|\$\$|\\(pd|diag|softmax|yhat)\b", re.M)


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("chapters")
    for stem in RUN_STEMS:
        shutil.copy2(ROOT / "book" / f"{stem}.ipynb", folder / f"{stem}.ipynb")
    with jupyter_lab(folder) as url:
        yield url


@pytest.mark.parametrize("stem", RUN_STEMS)
def test_chapter_reads_like_its_page_after_run_all(browser, lab_url, stem):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{lab_url}/lab/tree/{stem}.ipynb", wait_until="load")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_selector(".jp-Toolbar-kernelName:has-text('Python 3')", timeout=60_000)
        page.wait_for_timeout(1500)                     # the kernel connects just after its name shows
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.get_by_text("Run", exact=True).first.click()    # the Run menu
        page.get_by_text("Run All Cells", exact=True).first.click()
        # done when no cell waits or runs ("[*]") and the last code cell has a count
        page.wait_for_function(
            """() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
                       return p.length && p.every(e => !e.textContent.includes('*'))
                              && /\\[\\d+\\]/.test(p[p.length - 1].textContent); }""", timeout=240_000)
        page.wait_for_timeout(2000)                     # the last markdown cells evaluate their expressions
        md = page.locator(".jp-MarkdownCell .myst")  # jupyterlab-myst renders into .myst
        texts = md.all_inner_texts()
        if os.environ.get("BPTT_DEBUG_HTML"):
            Path(os.environ["BPTT_DEBUG_HTML"]).write_text(page.content())
        shots = os.environ.get("BPTT_SCREENSHOT_DIR")
        if shots:
            page.screenshot(path=str(Path(shots) / f"lab_{stem}.png"), full_page=True)
        raw = sorted({t[max(0, m.start() - 60):m.end() + 60] for t in texts for m in RAW.finditer(t)})
        assert texts and not raw, f"{stem}: raw MyST in JupyterLab: {raw[:6]}"
        errors = page.locator(".jp-MarkdownCell .katex-error, .jp-MarkdownCell .myst [class*='text-red']")
        assert errors.count() == 0, f"{stem}: {errors.count()} math or MyST errors, first: {errors.first.inner_text()!r}"
        verdicts = page.locator(".jp-OutputArea-output:has-text('✓ Correct')")
        assert verdicts.count() == 0, f"{stem}: a solution printed its verdict on Run All"
        unresolved = page.locator(".jp-MarkdownCell .myst [title='Cross Reference Not Found']").all_inner_texts()
        assert not unresolved, f"{stem}: references JupyterLab cannot resolve: {sorted(set(unresolved))}"
        # every figure (code-cell metadata) has its numbered caption cell (scripts/convert_chapters.py)
        nb = json.loads((ROOT / "book" / f"{stem}.ipynb").read_text())
        names = [c["metadata"]["mystnb"]["figure"]["name"] for c in nb["cells"]
                 if c["cell_type"] == "code" and "figure" in c["metadata"].get("mystnb", {})]
        shown = page.locator(".jp-MarkdownCell figure[id^='fig-'] figcaption").all_inner_texts()
        assert len(shown) == len(names) and all(re.match(r"Figure\s\d+:", t) for t in shown), \
            f"{stem}: figure captions in JupyterLab {shown[:3]} for {names}"
    finally:
        context.close()
