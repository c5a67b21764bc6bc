"""scripts/convert_chapters.py: the references jupyterlab-myst cannot resolve become ones it can, the figure
cells get their JupyterLab caption cells, idempotently; the repository's chapters are converted; the reader
notebooks (_ext/bptt_reader.py) turn the converted page links into links into the online book."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "_ext")]
import convert_chapters as cc  # noqa: E402
from bptt_reader import plain_markdown, reader_notebook  # noqa: E402


def _nb(*cells: dict) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _md(source: str, **meta) -> dict:
    return {"cell_type": "markdown", "id": f"m{abs(hash(source)) % 10**6}", "metadata": meta, "source": source}


def _fig(name: str, caption: str, cid: str = "c1") -> dict:
    return {"cell_type": "code", "execution_count": None, "id": cid, "outputs": [], "source": "plot()",
            "metadata": {"mystnb": {"figure": {"caption": caption, "name": name}}}}


def _book(tmp_path: Path) -> cc.Book:
    (tmp_path / "notation.md").write_text("(notation)=\n# Notation\n\n(notation-crosswalk)=\n## Crosswalk\n")
    (tmp_path / "02_loss.ipynb").write_text(json.dumps(_nb(
        _md("# The loss over time\n\n(ex-loss-1)=\n**Exercise 1.** x"), _fig("fig-loss-a", "A."))))
    (tmp_path / "03_chain.ipynb").write_text(json.dumps(_nb(
        _md("# Chain\n\n(ex-chain-1)=\n### Exercise 1: $dL/dw$"), _fig("fig-chain-a", "B.", "c2"))))
    book = cc.Book(sorted(tmp_path.iterdir()))
    book.number_figures([tmp_path / "02_loss.ipynb", tmp_path / "03_chain.ipynb"])
    return book


def test_references_to_other_pages_become_links_and_figures_keep_the_books_text(tmp_path):
    book = _book(tmp_path)
    convert = lambda text: cc.convert_references(text, "03_chain.ipynb", book)  # noqa: E731
    assert convert("{doc}`02_loss`") == "[The loss over time](02_loss.ipynb)"
    assert convert("{doc}`the loss <02_loss>`") == "[the loss](02_loss.ipynb)"
    assert convert("{ref}`notation`") == "[Notation](notation.md)"                     # a page's title label
    assert convert("{ref}`notation-crosswalk`") == "[Crosswalk](notation.md#notation-crosswalk)"
    assert convert("{ref}`ex 1 <ex-loss-1>`") == "[ex 1](02_loss.ipynb#ex-loss-1)"
    assert convert("{ref}`ex-loss-1`") == "{ref}`ex-loss-1`"       # no heading to name it: left for the build
    assert convert("{ref}`ex-chain-1`") == "{ref}`ex-chain-1`"     # same notebook: jupyterlab-myst resolves it
    assert convert("{ref}`nowhere`") == "{ref}`nowhere`"           # unknown: the -W build reports it
    assert convert("{numref}`fig-chain-a`") == "{numref}`Fig. %s <fig-chain-a>`"
    assert convert("{numref}`Figure %s <fig-chain-a>`") == "{numref}`Figure %s <fig-chain-a>`"
    assert convert("{eq}`eq-x`") == "{eq}`eq-x`"
    once = convert("{doc}`02_loss`, {ref}`notation-crosswalk`, {numref}`fig-loss-a`")
    assert convert(once) == once


def test_every_figure_gets_its_jupyterlab_caption_cell_with_the_books_number(tmp_path):
    book = _book(tmp_path)
    assert book.figure_numbers == {"fig-loss-a": "1", "fig-chain-a": "2"}
    cells = [_md("# T"), _fig("fig-chain-a", "B {eq}`eq-x`.", "c2"), _md("after")]
    assert cc.place_lab_figures(cells, book.figure_numbers)
    assert [c["cell_type"] for c in cells] == ["markdown", "code", "markdown", "markdown"]
    lab = cells[2]
    assert lab["metadata"]["tags"] == ["remove-cell", cc.LAB_FIGURE_TAG] and lab["id"] == "c2-fig"
    assert "".join(lab["source"]) == ":::{figure}\n:label: fig-chain-a\n:enumerator: 2\nB {eq}`eq-x`.\n:::\n"
    assert not cc.place_lab_figures(cells, book.figure_numbers)                  # idempotent
    cells[1]["metadata"]["mystnb"]["figure"]["caption"] = "New."
    assert cc.place_lab_figures(cells, book.figure_numbers) and "New." in "".join(cells[2]["source"])
    assert cells[2]["id"] == "c2-fig" and len(cells) == 4
    del cells[1]                                                                   # the figure cell goes
    assert cc.place_lab_figures(cells, book.figure_numbers) and len(cells) == 2  # and so does its caption


def test_convert_file_is_idempotent(tmp_path):
    book = _book(tmp_path)
    page = tmp_path / "03_chain.ipynb"
    page.write_text(json.dumps(_nb(_md("# Chain\n\nSee {doc}`02_loss` and {numref}`fig-chain-a`."),
                                   _fig("fig-chain-a", "B.", "c2")), indent=1) + "\n")
    assert cc.convert_file(page, book=book)
    text = page.read_text()
    assert "[The loss over time](02_loss.ipynb)" in text and ":label: fig-chain-a" in text
    assert not cc.convert_file(page, book=book) and page.read_text() == text


def test_the_chapters_are_converted():
    assert cc.main(["--check"]) == 0, "run: .venv/bin/python scripts/convert_chapters.py"


class _Urls:
    base = "https://book.example/"

    def url(self, docname: str, anchor: str = "") -> str:
        return f"{self.base}{docname}.html" + (f"#{anchor}" if anchor else "")


def test_reader_notebooks_link_pages_into_the_online_book_and_drop_the_jupyterlab_captions():
    text = "See [Notation](notation.md), [errata](sources.md#sources-errata) and [d2l](https://d2l.ai/x.md)."
    assert plain_markdown(text, "book/03_chain", _Urls(), {}) == (
        "See [Notation](https://book.example/book/notation.html), "
        "[errata](https://book.example/book/sources.html#sources-errata) and [d2l](https://d2l.ai/x.md).")
    executed = _nb(_md("# T"), _md(":::{figure}\n:label: fig-x\nB.\n:::\n", tags=["remove-cell", "lab-figure"]))
    assert [c["source"] for c in reader_notebook(executed, "book/t", _Urls(), {})["cells"]] == ["# T"]
