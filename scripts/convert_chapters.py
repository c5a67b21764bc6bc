"""Convert chapters from the myst-nb-only authoring of issues 1-16 to what renders both in the book and in
JupyterLab (jupyterlab-myst), deterministically and idempotently (running it twice changes nothing):

- numbers: ``from myst_nb import glue`` becomes ``from bptt.present.prose import glue, glued`` (the same
  ``glue(key, value)`` calls, f-string keys and non-text values included, now store into the kernel), and
  every ``{glue:text}`key` `` / ``{glue}`key` `` / ``{glue:text}`key:.2f` `` in the prose (markdown cells and
  figure captions) becomes ``{eval}`glued("key")` `` / ``{eval}`glued("key", ".2f")` ``, which myst-nb
  (inline execution) and jupyterlab-myst both evaluate;
- macros: ``\\pd{a}{b}``, ``\\diag``, ``\\softmax``, ``\\yhat``, ``\\R``, ``\\L`` are written out (the book
  defines no macros, so every renderer's TeX reads the same source);
- every notebook gets the current install cell (scripts/install_cell.py) after its title cell;
- cells the book collapses are collapsed in JupyterLab too: ``hide-input``/``remove-cell``/``remove-input``
  get ``jupyter.source_hidden``, solutions (``hide-cell``) also ``jupyter.outputs_hidden``;
- references jupyterlab-myst cannot resolve (it reads one notebook's markdown cells, not code-cell metadata
  or other pages), in notebooks: ``{doc}`x` `` and a ``{ref}`` to another page's label become markdown links
  ``[Title](x.ipynb)`` / ``[Heading](sources.md#sources-errata)`` (myst-parser resolves them; a label anchor
  on another page needs _ext/bptt_links.py), ``{numref}`fig-x` `` becomes ``{numref}`Fig. %s <fig-x>` ``
  (the book's text in both), and every figure cell (``mystnb.figure``) is followed by a markdown cell tagged
  ``remove-cell`` + ``lab-figure``: ``:::{figure}`` with the figure's label and caption, which the book drops
  and jupyterlab-myst numbers like the book (figures in cell order) and shows as the caption.

The script writes those figure cells: edit the code cell's ``mystnb.figure`` metadata, never the
``lab-figure`` cell.

Usage: python scripts/convert_chapters.py [--check] [FILES...]   (default: every book/*.ipynb and book/*.md)
Only the cells it changes are rewritten (indent 1, ensure_ascii=False, as the repository stores them).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import install_cell  # noqa: E402
from toc_notebooks import toc_files  # noqa: E402
IMPORT_OLD = re.compile(r"^(from myst_nb import glue|from bptt\.present\.prose import glue, glued)[ \t]*$", re.M)
# ruff cannot see the prose, where glued is called
IMPORT_NEW = "from bptt.present.prose import glue, glued  # noqa: F401 (glued: in the prose)"
GLUE_ROLE = re.compile(r"\{glue(?::\w*)?\}`([^`]+)`")
SIMPLE_MACROS = {   # name -> expansion; matched only as a whole control word (\R, not \Rightarrow)
    "R": r"\mathbb{R}", "L": r"\mathcal{L}", "yhat": r"\hat{y}",
    "diag": r"\operatorname{diag}", "softmax": r"\operatorname{softmax}",
}
SIMPLE_RE = re.compile(r"\\(" + "|".join(sorted(SIMPLE_MACROS, key=len, reverse=True)) + r")(?![A-Za-z])")
PD_RE = re.compile(r"\\pd(?![A-Za-z])\s*")


def eval_role(match: re.Match) -> str:
    text = match.group(1).strip()
    key, _, spec = text.partition(":")
    key, spec = key.strip(), spec.strip()
    if '"' in key or '"' in spec:
        raise ValueError(f"glue key with a double quote cannot be converted: {text!r}")
    args = f'"{key}", "{spec}"' if spec else f'"{key}"'
    return f"{{eval}}`glued({args})`"


def _braced(text: str, i: int) -> tuple[str, int]:
    """The argument starting at text[i] (a {group} or one token) and the index after it."""
    while i < len(text) and text[i] in " \t":
        i += 1
    if i < len(text) and text[i] == "{":
        depth = 0
        for j in range(i, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                return text[i + 1:j], j + 1
        raise ValueError(f"unbalanced braces after \\pd: {text[i:i + 60]!r}")
    if i < len(text) and text[i] == "\\":
        m = re.match(r"\\[A-Za-z]+|\\.", text[i:])
        return m.group(0), i + len(m.group(0))
    return text[i], i + 1


def expand_macros(text: str) -> str:
    out, pos = [], 0
    for m in PD_RE.finditer(text):
        if m.start() < pos:
            continue
        a, i = _braced(text, m.end())
        b, j = _braced(text, i)
        out += [text[pos:m.start()], rf"\frac{{\partial {expand_macros(a)}}}{{\partial {expand_macros(b)}}}"]
        pos = j
    text = "".join(out) + text[pos:]
    return SIMPLE_RE.sub(lambda m: SIMPLE_MACROS[m.group(1)], text)


def convert_prose(text: str) -> str:
    return expand_macros(GLUE_ROLE.sub(eval_role, text))


LINK_ROLE = re.compile(r"\{(numref|ref|doc)\}`([^`]+)`")
HEADING_TARGET = re.compile(r"^\(([\w:-]+)\)=[ \t]*\n(?:[ \t]*\n)*(#+)[ \t]+(.+?)[ \t]*$", re.M)
TARGET = re.compile(r"^\(([\w:-]+)\)=[ \t]*$", re.M)
LAB_FIGURE_TAG = "lab-figure"   # the markdown cell after a figure cell that only JupyterLab shows


def _figure(cell: dict) -> dict | None:
    fig = cell.get("metadata", {}).get("mystnb", {}).get("figure") if cell["cell_type"] == "code" else None
    return fig if isinstance(fig, dict) and fig.get("name") else None


def _is_lab_figure(cell: dict) -> bool:
    return cell["cell_type"] == "markdown" and LAB_FIGURE_TAG in cell.get("metadata", {}).get("tags", [])


class Book:
    """Titles, labels and figure names of the book's pages (book/*.ipynb, book/*.md), by file name."""

    def __init__(self, files: list[Path]) -> None:
        self.titles: dict[str, str] = {}            # file name -> the page's title (its first # heading)
        self.labels: dict[str, tuple[str, str]] = {}  # label -> (file name, #anchor or "", heading or "")
        self.local: dict[str, set[str]] = {}         # file name -> labels and figure names defined there
        self.figures: set[str] = set()
        self.figure_numbers: dict[str, str] = {}     # figure name -> the book's number (set by number_figures)
        for path in files:
            if path.suffix == ".ipynb":
                cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
                text = "\n\n".join("".join(c["source"]) for c in cells
                                    if c["cell_type"] == "markdown" and not _is_lab_figure(c))
                names = {f["name"] for f in map(_figure, cells) if f}
            else:
                text, names = path.read_text(encoding="utf-8"), set()
            title = re.search(r"^#[ \t]+(.+?)[ \t]*$", text, re.M)
            self.titles[path.name] = title.group(1) if title else path.stem
            headings = {m.group(1): (m.group(2), m.group(3)) for m in HEADING_TARGET.finditer(text)}
            for label in TARGET.findall(text):
                level, heading = headings.get(label, ("", ""))
                self.labels[label] = (path.name, "" if level == "#" else f"#{label}", heading)
            self.local[path.name] = set(TARGET.findall(text)) | names
            self.figures |= names

    def number_figures(self, toc_pages: list[Path]) -> None:
        """The book's figure numbers: one count through the pages in toc order (as Sphinx numbers them)."""
        count = 0
        for path in toc_pages:
            if path.suffix != ".ipynb" or not path.exists():
                continue
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                fig = _figure(cell)
                if fig is not None and not {"remove-cell", "remove-output"} & set(cell["metadata"].get("tags", [])):
                    count += 1
                    self.figure_numbers[fig["name"]] = str(count)

    def page(self, target: str) -> str | None:
        stem = Path(target).stem if Path(target).suffix in (".md", ".ipynb") else Path(target).name
        return next((name for name in self.titles if Path(name).stem == stem), None)


def convert_references(text: str, page: str, book: Book) -> str:
    """The references of a notebook's prose that jupyterlab-myst cannot resolve, as links it can (module doc)."""
    def role(m: re.Match) -> str:
        name, body = m.group(1), m.group(2)
        shown, target = ("", body.strip())
        explicit = re.fullmatch(r"(.*?)\s*<([^>]+)>\s*", body, re.S)
        if explicit:
            shown, target = explicit.group(1), explicit.group(2).strip()
        if name == "numref":
            return f"{{numref}}`Fig. %s <{target}>`" if not explicit and target in book.figures else m.group(0)
        if name == "doc":
            file = book.page(target)
            return f"[{shown or book.titles[file]}]({file})" if file else m.group(0)
        if target in book.local.get(page, ()) or target not in book.labels:
            return m.group(0)            # same notebook: jupyterlab-myst resolves it; unknown: the build warns
        file, anchor, heading = book.labels[target]
        text = shown or (book.titles[file] if not anchor else heading)
        return f"[{text}]({file}{anchor})" if text else m.group(0)

    return LINK_ROLE.sub(role, text)


def lab_figure_source(fig: dict, number: str | None = None) -> str:
    """The figure as jupyterlab-myst numbers it: its label, the book's number (``:enumerator:``), the caption."""
    caption = str(fig.get("caption", "")).strip()
    enumerator = f":enumerator: {number}\n" if number else ""
    return f":::{{figure}}\n:label: {fig['name']}\n{enumerator}{caption}\n:::\n"


def place_lab_figures(cells: list[dict], numbers: dict[str, str] | None = None) -> bool:
    """Put the current ``lab-figure`` cell after every figure cell (and nowhere else); True if changed."""
    out: list[dict] = []
    for i, cell in enumerate(cells):
        if _is_lab_figure(cell):
            continue
        out.append(cell)
        fig = _figure(cell)
        if fig is None:
            continue
        old = cells[i + 1] if i + 1 < len(cells) and _is_lab_figure(cells[i + 1]) else None
        source = _lines(lab_figure_source(fig, (numbers or {}).get(fig["name"])))
        if old is not None and old["source"] == source:
            out.append(old)
            continue
        out.append({"cell_type": "markdown", "id": old["id"] if old else f"{cell.get('id', 'cell')}-fig"[:64],
                    "metadata": {"tags": ["remove-cell", LAB_FIGURE_TAG]}, "source": source})
    changed = [id(c) for c in out] != [id(c) for c in cells]
    cells[:] = out
    return changed


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def convert_cell(cell: dict, page: str = "", book: Book | None = None) -> bool:
    """Convert one cell in place (references too, given the book); True if it changed."""
    before = json.dumps(cell, sort_keys=True)
    source = "".join(cell["source"])
    meta = cell.setdefault("metadata", {})
    refs = (lambda text: convert_references(text, page, book)) if book is not None else (lambda text: text)
    if _is_lab_figure(cell):
        pass                                   # written from its figure cell by place_lab_figures
    elif cell["cell_type"] == "markdown":
        source = refs(convert_prose(source))
    elif cell["cell_type"] == "code":
        source = IMPORT_OLD.sub(IMPORT_NEW, source)
        fig = meta.get("mystnb", {}).get("figure")
        if isinstance(fig, dict) and isinstance(fig.get("caption"), str):
            fig["caption"] = refs(convert_prose(fig["caption"]))
        tags = set(meta.get("tags", []))
        if tags & {"hide-input", "hide-cell", "remove-cell", "remove-input"}:
            meta.setdefault("jupyter", {})["source_hidden"] = True
        if "hide-cell" in tags:
            meta["jupyter"]["outputs_hidden"] = True
    if source != "".join(cell["source"]):
        cell["source"] = _lines(source)
    return json.dumps(cell, sort_keys=True) != before


def convert_file(path: Path, check: bool = False, book: Book | None = None) -> bool:
    """Convert one page (a notebook's references too, given the book); True if it changed."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        new = convert_prose(text)
    else:
        nb = json.loads(text)
        changed = [convert_cell(c, path.name, book) for c in nb["cells"]]
        changed.append(place_lab_figures(nb["cells"], book.figure_numbers if book is not None else None))
        new = text if not any(changed) else json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if new != text and not check:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    files = [Path(a) for a in argv if a != "--check"] or sorted(
        [*(ROOT / "book").glob("*.ipynb"), *(ROOT / "book").glob("*.md")])
    book = Book(sorted([*(ROOT / "book").glob("*.ipynb"), *(ROOT / "book").glob("*.md")]))
    book.number_figures([ROOT / f"{entry}.ipynb" for entry in toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text()))])
    changed = []
    for p in files:
        # first the current install cell (scripts/install_cell.py), then the cell conversions
        installed = p.suffix == ".ipynb" and install_cell.ensure(str(p), check)
        if convert_file(p, check, book) or installed:
            changed.append(str(p))
    for p in changed:
        print(("needs conversion: " if check else "converted: ") + p)
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
