"""Remove outputs, execution counts and widget state from notebooks (they are rebuilt by the book and CI).

Usage: python scripts/strip_outputs.py book/*.ipynb   (add --check to fail instead of rewriting)
"""
from __future__ import annotations

import sys

import nbformat


def strip(path: str, check: bool) -> bool:
    """Strip one notebook in place; return True if it had anything to strip."""
    nb = nbformat.read(path, as_version=4)
    dirty = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            if cell.outputs or cell.execution_count is not None:
                dirty = True
                cell.outputs, cell.execution_count = [], None
        for key in ("execution", "collapsed", "scrolled"):
            if key in cell.metadata:
                dirty = True
                del cell.metadata[key]
    for key in ("widgets", "varInspector"):
        if key in nb.metadata:
            dirty = True
            del nb.metadata[key]
    if dirty and not check:
        nbformat.write(nb, path)
    return dirty


if __name__ == "__main__":
    check = "--check" in sys.argv
    dirty = [p for p in sys.argv[1:] if p != "--check" and strip(p, check)]
    if check and dirty:
        sys.exit("notebooks with outputs (run scripts/strip_outputs.py): " + " ".join(dirty))
