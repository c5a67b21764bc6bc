"""The live widget in a real JupyterLab (what `make lab` starts): the cell runs, the widget renders, a control
moved in the browser reaches Python, and a value set from Python reaches the browser.

JupyterLab is started from this virtual environment on 127.0.0.1 (a free port, no token) in a temporary
folder holding one small notebook; the kernel imports `bptt` from this checkout. The test skips, saying why,
only when JupyterLab cannot start.
"""
from __future__ import annotations

import json
from typing import Iterator

import pytest

from book_site import jupyter_lab

CELLS = [
    "from bptt.present import live\n"
    "w = live.GradientFlowWidget(views=['map'], controls=['rho', 'T'], rho=1.0, T=20)\n"
    "w",
    "print(f'PYTHON SEES rho={w.rho:.2f}')",
    "w.T = 33",
]


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("lab")
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                     "source": src} for i, src in enumerate(CELLS)],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    (folder / "live.ipynb").write_text(json.dumps(nb))
    with jupyter_lab(folder) as url:
        yield url


def _run_cell(page, index: int) -> None:
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-prompt").click()      # select the cell (command mode)
    page.keyboard.press("Shift+Enter")


def test_widget_works_in_jupyterlab(browser, lab_url):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{lab_url}/lab/tree/live.ipynb", wait_until="load")
        # the kernel is ready when the toolbar names it and reports idle
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_selector(".jp-Toolbar-kernelName:has-text('Python 3')", timeout=60_000)
        page.wait_for_timeout(1500)                 # the kernel connects just after its name shows
        _run_cell(page, 0)
        page.wait_for_selector(".bptt-live[data-ms]", timeout=60_000)
        widget = page.locator(".bptt-live").first
        slider = widget.locator('[data-control="rho"] input[type=range]')
        slider.focus()
        for _ in range(3):                          # arrow keys reach the range (keydown stops propagating)
            page.keyboard.press("ArrowRight")
        assert widget.locator('[data-control="rho"] output').inner_text() == "1.03"
        page.wait_for_timeout(500)                  # let the change travel to the kernel
        _run_cell(page, 1)
        out = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output")
        out.wait_for(timeout=30_000)
        assert "PYTHON SEES rho=1.03" in out.inner_text()
        _run_cell(page, 2)                          # Python sets T: the browser redraws with it
        page.wait_for_function("() => document.querySelector('.bptt-live [data-control=\"T\"] output')?.textContent === '33'",
                               timeout=30_000)
        assert not errors, errors
    finally:
        context.close()
