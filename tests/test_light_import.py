"""``import bptt`` stays light: numpy and the core, no plotting, widget, image or torch module."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("matplotlib", "ipywidgets", "PIL", "torch", "bptt.studies", "bptt.present")


def _modules_after(code: str) -> set[str]:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, env=env, cwd=root, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_bptt_loads_no_heavy_module():
    loaded = _modules_after("import bptt\nassert bptt.__file__.startswith(%r)" % str(Path(__file__).resolve().parents[1]))
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == [], f"import bptt loaded {heavy}"
    assert "numpy" in loaded and "bptt.core.backward" in loaded


def test_the_exercise_check_is_light():
    """``from bptt.present import check`` loads the checks and, on first use, that chapter's checkers only."""
    loaded = _modules_after("from bptt.present import check\nassert check('loss-2', None).ok is False")
    assert {"bptt.present.checks", "bptt.present.loss_exercises", "bptt.studies.losses"} <= loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in ("matplotlib", "ipywidgets", "PIL", "torch"))
    assert heavy == [], f"checking a numpy chapter's exercise loaded {heavy}"
    assert "bptt.present.vanishing_exercises" not in loaded
