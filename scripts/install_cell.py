"""Put the install cell into chapter notebooks: right after the title cell, a code cell that installs the
bptt library from the repository when it is missing (Colab, Binder, a downloaded .ipynb), tagged
`remove-cell` so the book does not show it. The repository URL comes from `_config.yml`
(`repository.url`, the one setting that names it); `BPTT_INSTALL_URL` overrides it at run time (the
tests point it at a local copy with a file:// URL).

Usage: python scripts/install_cell.py book/0*.ipynb   (idempotent: an existing install cell is updated;
       --check fails instead of writing if a notebook lacks the current cell)
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "bptt-install"
TAG = "remove-cell"


def repository_url() -> str:
    """The repository's URL, from `_config.yml` (README.md states the same)."""
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def install_source(url: str | None = None) -> str:
    url = url or repository_url()
    return (
        "# Outside the course's repository (Colab, Binder, a downloaded notebook) this installs the bptt\n"
        "# library and the data it ships; inside it, bptt is already there and nothing happens. (It looks\n"
        "# for bptt without importing it: nothing is imported before the chapter's imports cell.)\n"
        "import importlib.util\n"
        "if importlib.util.find_spec(\"bptt\") is None:\n"
        "    import os\n"
        f"    _bptt_source = os.environ.get(\"BPTT_INSTALL_URL\", \"git+{url}\")\n"
        "    %pip install --quiet \"bptt @ {_bptt_source}\"\n"
        "    importlib.invalidate_caches()"
    )


def ensure(path: str, check: bool) -> bool:
    """Insert or update the install cell of one notebook; True if it was missing or different."""
    nb = nbformat.read(path, as_version=4)
    source = install_source()
    found = [i for i, c in enumerate(nb.cells) if c.get("id") == CELL_ID]
    if found:
        cell = nb.cells[found[0]]
        if cell.source == source and TAG in cell.metadata.get("tags", []) and found[0] == 1:
            return False
        nb.cells.pop(found[0])
    if check:
        return True
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [TAG]})
    cell.id = CELL_ID
    nb.cells.insert(1, cell)  # after the title cell
    nbformat.write(nb, path)
    return True


if __name__ == "__main__":
    check = "--check" in sys.argv
    changed = [p for p in sys.argv[1:] if p != "--check" and ensure(p, check)]
    if check and changed:
        sys.exit("notebooks without the current install cell (run scripts/install_cell.py): " + " ".join(changed))
    for p in changed:
        print(f"install cell written: {p}")
