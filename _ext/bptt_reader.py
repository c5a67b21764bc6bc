"""Sphinx extension of the book: a reader's notebook for every chapter, written at the end of the build.

The chapters are MyST notebooks: roles, ``(label)=`` targets and ``$$ ... $$ (label)`` equations that plain
Jupyter, Colab and GitHub show raw. For every notebook page this writes the executed notebook (outputs and
widget state, from myst-nb's ``jupyter_execute`` folder) with plain Jupyter markdown instead:

- ``{eval}`glued("key")` `` -> the text the page shows (recorded by _ext/bptt_numbers.py);
- ``$$ ... $$ (label)`` -> ``$$ ... \\tag{12} $$`` with the page's equation number;
- ``{eq}`label` `` -> ``[(12)](book URL#equation-label)``, ``{numref}`fig-x` `` -> ``[Fig. 3](...)``,
  ``{ref}``/``{doc}`` -> a link with the section's or page's title into the online book;
- ``[text](page.ipynb#label)`` links to book pages (scripts/convert_chapters.py) -> links into the online book;
- ``(label)=`` targets are dropped; a figure cell's caption follows it as "**Fig. 3.** caption" (instead of
  the ``lab-figure`` cell that only JupyterLab shows).

The notebook replaces the page's source under ``_sources/`` (the download button's ``.ipynb``) and is
also written to ``_build/reader/<docname>.ipynb`` (the deploy workflow publishes that folder for Colab
and Binder). ``bptt_book_url`` (conf) is where the links point.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sphinx.util import logging

logger = logging.getLogger(__name__)

ROLE = re.compile(r"\{(eval|eq|numref|ref|doc)\}`([^`]+)`")
LABELLED_MATH = re.compile(r"\$\$(.*?)\$\$[ \t]*\(([\w:-]+)\)", re.S)
TARGET = re.compile(r"^\([\w:-]+\)=[ \t]*\n", re.M)
PAGE_LINK = re.compile(r"\]\((?![A-Za-z][\w+.-]*:)([^()\s#]+\.(?:ipynb|md))(?:#([^()\s]*))?\)")
LAB_FIGURE_TAG = "lab-figure"   # the figure's caption cell for JupyterLab (scripts/convert_chapters.py)


class Resolver:
    """Numbers, titles and URLs of the built book (what the HTML pages show)."""

    def __init__(self, app: Any) -> None:
        self.env = app.builder.env
        self.base = app.config.bptt_book_url.rstrip("/") + "/"
        self.std = self.env.get_domain("std")
        self.math = self.env.get_domain("math")

    def url(self, docname: str, anchor: str = "") -> str:
        return f"{self.base}{docname}.html" + (f"#{anchor}" if anchor else "")

    def _number(self, docname: str, kind: str, node_id: str) -> str | None:
        num = self.env.toc_fignumbers.get(docname, {}).get(kind, {}).get(node_id)
        return ".".join(map(str, num)) if num else None

    def equation(self, label: str) -> tuple[str, str]:
        """(number, URL) of an equation label (Sphinx has already warned about an unknown one)."""
        docname, number = self.math.equations.get(label, (None, "?"))
        if docname is None:
            return "?", self.base
        return (self._number(docname, "displaymath", f"equation-{label}") or str(number),
                self.url(docname, f"equation-{label}"))

    def figure(self, label: str) -> tuple[str, str]:
        docname, node_id = self.std.anonlabels.get(label, (None, None))
        if docname is None:
            return "?", self.base
        return self._number(docname, "figure", node_id) or "?", self.url(docname, node_id)

    def section(self, label: str) -> tuple[str, str]:
        docname, node_id, title = self.std.labels.get(label, (None, None, None)) or (None, None, None)
        if docname is None:
            docname, node_id = self.std.anonlabels.get(label, (None, None))
            if docname is None:
                return label, self.base
            title = label
        return title, self.url(docname, node_id)

    def doc(self, current: str, target: str) -> tuple[str, str]:
        docname = str((Path(current).parent / target).as_posix()) if not target.startswith("/") else target[1:]
        docname = re.sub(r"\.(md|ipynb)$", "", docname)
        title = self.env.titles.get(docname)
        return (title.astext() if title is not None else target), self.url(docname)


def _split(text: str) -> tuple[str, str]:
    """A role's text as (shown text or "", target): ``words <label>`` or ``label``."""
    m = re.fullmatch(r"(.*?)\s*<([^>]+)>\s*", text, re.S)
    return (m.group(1), m.group(2)) if m else ("", text.strip())


def plain_markdown(text: str, docname: str, r: Resolver, numbers: dict[str, str]) -> str:
    """MyST markdown -> plain Jupyter markdown (see the module docstring)."""
    def math(m: re.Match) -> str:
        number, _ = r.equation(m.group(2))
        return f"$${m.group(1).rstrip()}\n\\tag{{{number}}}\n$$"

    def role(m: re.Match) -> str:
        name, body = m.group(1), m.group(2)
        if name == "eval":
            if body not in numbers:
                raise KeyError(f"{docname}: no value recorded for {{eval}}`{body}`")
            return numbers[body]
        shown, target = _split(body)
        if name == "eq":
            number, url = r.equation(target)
            return f"[({number})]({url})"
        if name == "numref":
            number, url = r.figure(target)
            label = (shown.replace("%s", number).replace("{number}", number) if shown else f"Fig. {number}")
            return f"[{label}]({url})"
        if name == "ref":
            title, url = r.section(target)
            return f"[{shown or title}]({url})"
        title, url = r.doc(docname, target)
        return f"[{shown or title}]({url})"

    def link(m: re.Match) -> str:
        target = re.sub(r"\.(md|ipynb)$", "", (Path(docname).parent / m.group(1)).as_posix())
        return f"]({r.url(target, m.group(2) or '')})"

    text = TARGET.sub("", text)
    text = LABELLED_MATH.sub(math, text)
    return PAGE_LINK.sub(link, ROLE.sub(role, text))


ENUMERATOR = re.compile(r"^:enumerator:[ \t]*(\S+)[ \t]*$", re.M)


def stale_lab_figures(executed: dict, docname: str, r: Resolver) -> list[str]:
    """Figures whose ``lab-figure`` cell (what JupyterLab numbers) gives another number than the book's."""
    stale, cells = [], executed["cells"]
    for cell, after in zip(cells, cells[1:]):
        fig = cell.get("metadata", {}).get("mystnb", {}).get("figure") if cell["cell_type"] == "code" else None
        if not fig or not fig.get("name") or LAB_FIGURE_TAG not in after.get("metadata", {}).get("tags", []):
            continue
        m = ENUMERATOR.search("".join(after["source"]))
        if m is None or m.group(1) != r.figure(fig["name"])[0]:
            stale.append(f"{fig['name']}: Fig. {r.figure(fig['name'])[0]} in the book, {m and m.group(1)} in JupyterLab")
    return stale


def reader_notebook(executed: dict, docname: str, r: Resolver, numbers: dict[str, str]) -> dict:
    cells = []
    for cell in executed["cells"]:
        if cell["cell_type"] == "markdown" and LAB_FIGURE_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        if cell["cell_type"] == "markdown":
            cell = dict(cell, source=plain_markdown("".join(cell["source"]), docname, r, numbers))
        cells.append(cell)
        fig = cell.get("metadata", {}).get("mystnb", {}).get("figure") if cell["cell_type"] == "code" else None
        if fig and fig.get("name"):
            number, _ = r.figure(fig["name"])
            caption = plain_markdown(str(fig.get("caption", "")), docname, r, numbers)
            cells.append({"cell_type": "markdown", "id": f"{cell.get('id', 'fig')}-caption"[:64], "metadata": {},
                          "source": f"**Fig. {number}.** {caption}"})
    nb = dict(executed, cells=cells)
    nb["metadata"] = {k: v for k, v in executed.get("metadata", {}).items() if k != "mystnb"}
    nb["metadata"]["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def write_reader_notebooks(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.name not in ("html", "dirhtml"):
        return
    r = Resolver(app)
    toc = getattr(app.config, "external_toc_path", None)
    whole_book = toc is not None and Path(app.srcdir, toc).resolve() == Path(app.srcdir, "_toc.yml").resolve()
    executed_dir = Path(app.outdir).parent / "jupyter_execute"
    reader_dir = Path(app.outdir).parent / "reader"
    for docname in sorted(app.env.found_docs):
        executed = executed_dir / f"{docname}.ipynb"
        if not (Path(app.srcdir) / f"{docname}.ipynb").exists() or not executed.exists():
            continue
        executed_nb = json.loads(executed.read_text(encoding="utf-8"))
        stale = stale_lab_figures(executed_nb, docname, r) if whole_book else []
        if stale:   # the figure numbers JupyterLab shows come from the toc order (scripts/convert_chapters.py)
            logger.warning(f"{docname}: figure numbers for JupyterLab are stale, run scripts/convert_chapters.py: "
                           f"{stale[:3]}", type="bptt", subtype="lab_figures")
        nb = reader_notebook(executed_nb, docname, r,
                             getattr(app.env, "bptt_numbers", {}).get(docname, {}))
        text = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        for out in (reader_dir / f"{docname}.ipynb", Path(app.outdir) / "_sources" / f"{docname}.ipynb"):
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
    logger.info(f"reader notebooks written to {reader_dir}")


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("bptt_book_url", "https://bptt-book.github.io/bptt-book/", "html")
    app.connect("build-finished", write_reader_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
