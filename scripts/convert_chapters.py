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
  get ``jupyter.source_hidden``, solutions (``hide-cell``) also ``jupyter.outputs_hidden``.

Usage: python scripts/convert_chapters.py [--check] [FILES...]   (default: every book/*.ipynb and book/*.md)
Only the cells it changes are rewritten (indent 1, ensure_ascii=False, as the repository stores them).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import install_cell  # noqa: E402
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


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def convert_cell(cell: dict) -> bool:
    """Convert one cell in place; True if it changed."""
    before = json.dumps(cell, sort_keys=True)
    source = "".join(cell["source"])
    meta = cell.setdefault("metadata", {})
    if cell["cell_type"] == "markdown":
        source = convert_prose(source)
    elif cell["cell_type"] == "code":
        source = IMPORT_OLD.sub(IMPORT_NEW, source)
        fig = meta.get("mystnb", {}).get("figure")
        if isinstance(fig, dict) and isinstance(fig.get("caption"), str):
            fig["caption"] = convert_prose(fig["caption"])
        tags = set(meta.get("tags", []))
        if tags & {"hide-input", "hide-cell", "remove-cell", "remove-input"}:
            meta.setdefault("jupyter", {})["source_hidden"] = True
        if "hide-cell" in tags:
            meta["jupyter"]["outputs_hidden"] = True
    if source != "".join(cell["source"]):
        cell["source"] = _lines(source)
    return json.dumps(cell, sort_keys=True) != before


def convert_file(path: Path, check: bool = False) -> bool:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        new = convert_prose(text)
    else:
        nb = json.loads(text)
        changed = [convert_cell(c) for c in nb["cells"]]
        new = text if not any(changed) else json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if new != text and not check:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    files = [Path(a) for a in argv if a != "--check"] or sorted(
        [*(ROOT / "book").glob("*.ipynb"), *(ROOT / "book").glob("*.md")])
    changed = []
    for p in files:
        # first the current install cell (scripts/install_cell.py), then the cell conversions
        installed = p.suffix == ".ipynb" and install_cell.ensure(str(p), check)
        if convert_file(p, check) or installed:
            changed.append(str(p))
    for p in changed:
        print(("needs conversion: " if check else "converted: ") + p)
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
