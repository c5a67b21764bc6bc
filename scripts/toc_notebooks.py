"""Print the notebooks listed in _toc.yml, one path per line (what nbmake executes)."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files(node: object) -> list[str]:
    """Every `file:` / `root:` entry of a jb-book toc, in order."""
    found: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                found.append(node[key])
        for value in node.values():
            if isinstance(value, (list, dict)):
                found += toc_files(value)
    elif isinstance(node, list):
        for item in node:
            found += toc_files(item)
    return found


if __name__ == "__main__":
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for entry in toc_files(toc):
        path = ROOT / f"{entry}.ipynb"
        if path.exists():
            print(path.relative_to(ROOT))
