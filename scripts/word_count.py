"""Count the words a reader meets on each chapter's main path.

Main path = markdown prose plus the source of code cells the page shows expanded. Left out: outputs,
and code cells tagged `remove-cell`, `remove-input`, `hide-input` or `hide-cell` (removed, or collapsed
behind a toggle). Words are whitespace-separated tokens, so a display equation counts its tokens.

Usage: python scripts/word_count.py [book/NN_name.ipynb ...]   (default: the notebooks in _toc.yml)
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from toc_notebooks import ROOT, toc_files  # noqa: E402

HIDDEN = {"remove-cell", "remove-input", "hide-input", "hide-cell"}


def count(path: Path) -> dict[str, int]:
    """Prose words, shown code words and the code words a reader must open a toggle to see."""
    nb = nbformat.read(path, as_version=4)
    out = {"prose": 0, "code": 0, "collapsed": 0}
    for cell in nb.cells:
        words = len(cell.source.split())
        if cell.cell_type == "markdown":
            out["prose"] += words
        elif cell.cell_type == "code":
            tags = set(cell.metadata.get("tags", []))
            if "remove-cell" in tags or "remove-input" in tags:
                continue
            out["collapsed" if tags & HIDDEN else "code"] += words
    return out


def main(paths: list[str]) -> None:
    if not paths:
        toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
        paths = [f"{e}.ipynb" for e in toc_files(toc) if (ROOT / f"{e}.ipynb").exists()]
    print(f"{'notebook':28s} {'prose':>6s} {'code':>6s} {'main':>6s} {'collapsed':>9s}")
    for p in paths:
        c = count(ROOT / p if not Path(p).is_absolute() else Path(p))
        print(f"{Path(p).name:28s} {c['prose']:6d} {c['code']:6d} {c['prose'] + c['code']:6d} {c['collapsed']:9d}")


if __name__ == "__main__":
    main(sys.argv[1:])
