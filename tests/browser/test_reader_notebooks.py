"""The reader notebooks the book build writes (_ext/bptt_reader.py: _build/reader/, the download button's .ipynb,
what Colab and Binder open) read completely in any notebook front end and run where only Colab's packages are.

- every reader notebook: plain Jupyter markdown (no MyST roles, targets or labelled equations, no TeX macro
  the book once defined), numbers written in, outputs stored, the install cell first;
- run (BPTT_READER_CHAPTERS: comma-separated stems, or "all"; default two fast ones, as in `make test`;
  `make test-reader` runs all): from an empty folder, in a venv with only numpy, matplotlib, torch,
  ipywidgets and ipykernel (linked from this venv, nothing else of it; no myst-nb, jupyter-book or bptt), bptt installed by the notebook's own install cell from a copy of the repository
  (BPTT_INSTALL_URL), every cell runs without error and nothing is written into the copy.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from book_site import ROOT, chapter_pages

COLAB_PACKAGES = ["numpy", "matplotlib", "torch", "ipywidgets", "ipykernel", "pip"]
MYST_ONLY = re.compile(r"\{(eval|eq|numref|ref|doc|glue(:\w+)?)\}`|^\([\w:-]+\)=\s*$|\$\$\s*\([\w:-]+\)|^(```|:::)\{",
                       re.M)
MACRO = re.compile(r"\\(pd|diag|softmax|yhat|R|L)(?![A-Za-z])")
STEMS = [Path(p).stem for p in chapter_pages()]
WANTED = os.environ.get("BPTT_READER_CHAPTERS", "01_forward,lab")
RUN_STEMS = STEMS if WANTED == "all" else [s for s in WANTED.split(",") if s]

RUN_NOTEBOOK = """
import sys, time, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
t0 = time.perf_counter()
NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
print(f"SECONDS {time.perf_counter() - t0:.1f}")
nbformat.write(nb, sys.argv[1])
"""


@pytest.fixture(scope="session")
def reader_dir(html_root: Path) -> Path:
    folder = html_root.parent / "reader" / "book"
    if not folder.is_dir():
        pytest.fail(f"no reader notebooks next to the built book ({folder}): is _ext/bptt_reader.py loaded?")
    return folder


@pytest.mark.parametrize("stem", STEMS)
def test_reader_notebook_is_plain_jupyter_with_outputs(reader_dir: Path, stem: str) -> None:
    nb = json.loads((reader_dir / f"{stem}.ipynb").read_text())
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        problems += [f"cell {i}: MyST {m.group(0)!r}" for m in MYST_ONLY.finditer(text)]
        problems += [f"cell {i}: macro {m.group(0)!r}" for m in MACRO.finditer(text)]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0].get("id") == "bptt-install", "the install cell must be the first code cell"
    assert sum(bool(c.get("outputs")) for c in code) >= len(code) // 3, "the executed outputs are missing"
    assert not problems, f"{stem}: {problems[:10]}"


def _closure(names: list[str]) -> set[str]:
    """The installed distributions ``names`` need (their requirements, recursively, markers evaluated)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    seen: set[str] = set()
    todo = [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for req in metadata.distribution(name).requires or []:
            r = Requirement(req)
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(r.name))
    return seen


@pytest.fixture
def colab_python(tmp_path_factory) -> Path:
    """A venv that sees only what Colab ships (and pip), linked from this venv's site-packages: the
    distributions COLAB_PACKAGES need, and nothing else (no myst-nb, jupyter-book or bptt). A new one per
    notebook (it takes seconds);
    pip installs bptt and what it adds (anywidget) into the venv itself."""
    from importlib import metadata

    from packaging.utils import canonicalize_name
    base = tmp_path_factory.mktemp("colab")
    env_dir, view = base / "venv", base / "site"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    view.mkdir()
    wanted = _closure([re.split("[=<>]", p)[0] for p in COLAB_PACKAGES])
    for dist in metadata.distributions():
        if canonicalize_name(dist.metadata["Name"]) not in wanted:
            continue
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            src = Path(dist.locate_file(top))
            if src.exists() and not (view / top).exists() and not top.endswith(".pth") and top != "__pycache__":
                (view / top).symlink_to(src)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "colab_packages.pth").write_text(f"{view}\n")
    return py


def _repository_copy(tmp: Path) -> Path:
    src = tmp / "repository"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".*", "_build", "build", "__pycache__", "*.egg-info"))
    return src


@pytest.mark.parametrize("stem", RUN_STEMS)
def test_reader_notebook_runs_in_a_colab_like_venv(reader_dir: Path, colab_python: Path, tmp_path: Path,
                                                   stem: str) -> None:
    py = colab_python
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH")}
    workdir = tmp_path / "download"
    workdir.mkdir()
    probe = subprocess.run([py, "-c", "import bptt"], cwd=workdir, env=env, capture_output=True, text=True)
    assert probe.returncode != 0, "the Colab-like venv must not see bptt before the notebook installs it"
    for forbidden in ("myst_nb", "jupyter_book"):
        assert subprocess.run([py, "-c", f"import {forbidden}"], env=env, capture_output=True).returncode != 0
    kernels = tmp_path / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like venv", "language": "python"}))
    copy = _repository_copy(tmp_path)
    before = sorted(p.relative_to(copy) for p in copy.rglob("*"))
    env.update({"JUPYTER_PATH": str(tmp_path / "jupyter"), "BPTT_INSTALL_URL": copy.as_uri(),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "OMP_NUM_THREADS": "1"})
    nb_file = workdir / f"{stem}.ipynb"
    shutil.copy2(reader_dir / f"{stem}.ipynb", nb_file)
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", RUN_NOTEBOOK, str(nb_file), str(workdir)], cwd=workdir, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"{stem} failed in the Colab-like venv:\n{run.stderr[-4000:]}"
    print(f"{stem}: {time.perf_counter() - t0:.1f} s in the Colab-like venv ({run.stdout.strip()})")
    executed = json.loads(nb_file.read_text())
    errors = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    after = sorted(p.relative_to(copy) for p in copy.rglob("*"))
    assert after == before, "the install cell wrote into the repository copy"
    where = subprocess.run([py, "-c", "import bptt; print(bptt.__file__)"], cwd=workdir, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert str(colab_python.parent.parent) in where
