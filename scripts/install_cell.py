"""Put the install cell into chapter notebooks: right after the title cell, a code cell that installs the
bptt library from the repository when it is missing (Colab, Binder, a downloaded .ipynb), tagged
`remove-cell` so the book does not show it. The repository URL comes from `_config.yml`
(`repository.url`, the one setting that names it); `BPTT_INSTALL_URL` overrides it at run time (the
tests point it at a local copy with a file:// URL).

Usage: python scripts/install_cell.py [--check] [NOTEBOOKS...]   (default: every notebook in _toc.yml;
       idempotent: an existing install cell is updated; --check fails instead of writing if a notebook lacks
       the current cell). Run it again after adding a chapter.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
CELL_ID = "bptt-install"
TAG = "remove-cell"


def repository_url() -> str:
    """The repository's URL, from `_config.yml` (README.md states the same)."""
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def install_source(url: str | None = None) -> str:
    url = url or repository_url()
    return (
        "# Outside the course's repository (Colab, Binder, a downloaded notebook) this installs the bptt library,\n"
        "# the data it ships and what the chapters need that Colab lacks (anywidget); inside it, nothing happens.\n"
        "# BPTT_INSTALL_URL, if set, says where from: a folder, a file:// URL or any pip requirement.\n"
        "import importlib.util\n"
        "if importlib.util.find_spec(\"bptt\") is None:\n"
        "    import os, shutil, subprocess, sys, tempfile\n"
        f"    _src = os.environ.get(\"BPTT_INSTALL_URL\") or \"git+{url}\"\n"
        "    _dir = _src[len(\"file://\"):] if _src.startswith(\"file://\") else _src\n"
        "    if os.path.isdir(_dir):  # build from a copy: nothing is written into the folder\n"
        "        _src = shutil.copytree(_dir, os.path.join(tempfile.mkdtemp(), \"bptt\"), ignore=shutil.ignore_patterns(\n"
        "            \".*\", \"build\", \"_build\", \"book\", \"tests\", \"__pycache__\"))\n"
        "    _pip = subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\", _src],\n"
        "                          capture_output=True, text=True)\n"
        "    importlib.invalidate_caches()\n"
        "    if _pip.returncode != 0 or importlib.util.find_spec(\"bptt\") is None:\n"
        "        _why = ([\"\"] + [l for l in _pip.stderr.splitlines() if l.strip()])[-1]\n"
        "        raise SystemExit(f\"bptt could not be installed from {_src!r} ({_why.strip()}). Fix: check the \"\n"
        "                         \"network, or set BPTT_INSTALL_URL to a copy of the repository, e.g. \"\n"
        "                         \"%env BPTT_INSTALL_URL=/path/to/bptt-book, then run this cell again.\")"
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
    paths = [p for p in sys.argv[1:] if p != "--check"]
    if not paths:
        from toc_notebooks import toc_files
        paths = [str(ROOT / f"{e}.ipynb") for e in toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text()))
                 if (ROOT / f"{e}.ipynb").exists()]
    changed = [p for p in paths if ensure(p, check)]
    if check and changed:
        sys.exit("notebooks without the current install cell (run scripts/install_cell.py): " + " ".join(changed))
    for p in changed:
        print(f"install cell written: {p}")
