"""Every notebook of the book starts (after its title) with the current install cell (scripts/install_cell.py),
and the install cell, run where bptt cannot be installed, stops with one short message naming the fix."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from install_cell import CELL_ID, install_source, repository_url  # noqa: E402
from toc_notebooks import toc_files  # noqa: E402

NOTEBOOKS = [ROOT / f"{e}.ipynb" for e in toc_files(yaml.safe_load((ROOT / "_toc.yml").read_text()))
             if (ROOT / f"{e}.ipynb").exists()]


def test_install_cells_name_the_configured_repository():
    url = repository_url()
    assert url.startswith("https://github.com/") and "placeholder" not in url
    assert url in (ROOT / "README.md").read_text(), "README.md and _config.yml must name the same repository"
    for nb_path in NOTEBOOKS:
        cells = json.loads(nb_path.read_text())["cells"]
        assert cells[1].get("id") == CELL_ID, f"{nb_path.name}: the install cell must follow the title cell"
        assert "".join(cells[1]["source"]) == install_source(), f"{nb_path.name}: run scripts/convert_chapters.py"
        assert "remove-cell" in cells[1]["metadata"].get("tags", [])


def test_a_failed_install_stops_with_one_message_naming_the_fix(tmp_path):
    """Run as a script in a Python that has no bptt, from a folder that does not exist."""
    code = install_source().replace('find_spec("bptt")', 'find_spec("bptt_not_installed_here")')
    env = {"BPTT_INSTALL_URL": str(tmp_path / "missing"), "PIP_NO_INDEX": "1", "PATH": "/usr/bin:/bin",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode != 0
    message = run.stderr.strip().splitlines()
    assert len(message) == 1 and "BPTT_INSTALL_URL" in message[0] and "could not be installed" in message[0], run.stderr
    assert not any(tmp_path.iterdir()), "the install cell wrote into the working folder"
