"""Files the chapters read, shipped inside the package (so a chapter opened in Colab or Binder, or
downloaded as a notebook, finds them after ``pip install``): the text corpus ``tinyshakespeare.txt``
(see README.md here) and the committed benchmark results ``results/*.json`` that chapters plot
(each written by the script in ``benchmarks/`` that its ``"command"`` field names)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: the folder holding the data files
DATA_DIR = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """The path of a shipped data file, e.g. ``data_path("results/scaling.json")``.
    Raises FileNotFoundError naming the files there if it does not exist."""
    path = (DATA_DIR / name).resolve()
    if DATA_DIR not in path.parents:
        raise ValueError(f"data file names are relative to {DATA_DIR}, got {name!r}")
    if not path.is_file():
        shipped = sorted(str(p.relative_to(DATA_DIR)) for p in DATA_DIR.rglob("*")
                         if p.is_file() and p.suffix in (".txt", ".json"))
        raise FileNotFoundError(f"no data file {name!r} in {DATA_DIR}; shipped: {', '.join(shipped)}")
    return path


def load_json(name: str) -> Any:
    """A shipped JSON file (e.g. ``load_json("results/scaling.json")``), parsed."""
    return json.loads(data_path(name).read_text(encoding="utf-8"))
