"""A chapter downloaded as .ipynb (or opened in Colab / Binder) runs top to bottom outside the repository:
its install cell installs bptt from the repository (here: a local copy, by a file:// URL, offline) and
everything the chapter reads ships inside the installed package.

The fresh venv does not contain the project; to stay fast and offline it sees the project venv's
third-party packages through a folder of links that leaves out bptt's own (editable) install."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from install_cell import CELL_ID, install_source, repository_url  # noqa: E402

# a fast chapter for every commit (BPTT_DOWNLOAD_CHAPTER=NN_name.ipynb tries another)
CHAPTER = os.environ.get("BPTT_DOWNLOAD_CHAPTER", "01_forward.ipynb")

RUN_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[1])
"""


def _third_party_view(tmp: Path) -> Path:
    """A folder of links to the project venv's site-packages, without bptt (its dist-info, its editable
    finder and .pth files, which a path listed in a .pth file would not run anyway)."""
    view = tmp / "third_party"
    view.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        name = entry.name.lower()
        if name.startswith(("bptt", "__editable__", "_bptt")) or name.endswith(".pth") or name == "__pycache__":
            continue
        (view / entry.name).symlink_to(entry)
    return view


def _local_copy(tmp: Path) -> Path:
    """What `pip install git+URL` would fetch: the package source (pyproject.toml and bptt/)."""
    src = tmp / "clone"
    src.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", src / "pyproject.toml")
    shutil.copytree(ROOT / "bptt", src / "bptt", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return src


def test_install_cells_name_the_configured_repository():
    url = repository_url()
    assert url.startswith("https://github.com/") and "placeholder" not in url
    assert url in (ROOT / "README.md").read_text(), "README.md and _config.yml must name the same repository"
    for nb_path in sorted((ROOT / "book").glob("0*.ipynb")):
        cells = json.loads(nb_path.read_text())["cells"]
        assert cells[1].get("id") == CELL_ID, f"{nb_path.name}: the install cell must follow the title cell"
        assert "".join(cells[1]["source"]) == install_source(), f"{nb_path.name}: run scripts/install_cell.py"
        assert "remove-cell" in cells[1]["metadata"].get("tags", [])


def test_downloaded_chapter_runs_in_a_venv_without_the_project(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "third_party.pth").write_text(str(_third_party_view(tmp_path)) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH")}
    workdir = tmp_path / "download"
    workdir.mkdir()
    probe = subprocess.run([py, "-c", "import bptt"], cwd=workdir, env=env, capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'bptt'" in probe.stderr, \
        "the fresh venv must not see the project's bptt before the notebook installs it"
    # a kernel spec for the fresh venv, found first
    kernels = tmp_path / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh venv", "language": "python"}))
    env.update({
        "JUPYTER_PATH": str(tmp_path / "jupyter"),
        "BPTT_INSTALL_URL": _local_copy(tmp_path).as_uri(),
        # offline, into the fresh venv, with the third-party packages it already sees
        "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1", "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1", "OMP_NUM_THREADS": "1",
    })
    nb_file = workdir / CHAPTER
    shutil.copy2(ROOT / "book" / CHAPTER, nb_file)
    run = subprocess.run([py, "-c", RUN_NOTEBOOK, str(nb_file), str(workdir)], cwd=workdir, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"the downloaded notebook failed:\n{run.stderr[-4000:]}"
    executed = json.loads(nb_file.read_text())
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), "not every code cell ran"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    where = subprocess.run([py, "-c", "import bptt; print(bptt.__file__)"], cwd=workdir, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where, f"bptt should be installed into the fresh venv, found at {where}"
