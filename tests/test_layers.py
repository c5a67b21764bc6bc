"""The library's layers hold by construction: read every module's imports (AST, no import runs) and fail on
an import that goes up a layer, on a private name taken from another layer, and on a core that needs more
than numpy. Also: ``import bptt`` exposes exactly the core's public API, each name once."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest

import bptt

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "bptt"
#: what each layer may not import (a layer never imports one above it)
FORBIDDEN = {"core": ("bptt.studies", "bptt.present"), "studies": ("bptt.present",)}
#: third-party packages the core may import (the standard library is always allowed)
CORE_THIRD_PARTY = {"numpy"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """core, studies, present, or top (bptt itself and bptt.data)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("core", "studies", "present") else "top"


def imports(source: str, module: str, is_package: bool) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names taken from it) for every import statement anywhere in ``source``
    (module level, inside functions and classes), relative imports resolved against ``module``."""
    out = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [alias.name for alias in node.names]
            out.append((node.lineno, target, names))
            # ``from . import x`` / ``from .. import present`` imports the submodules x, present
            out += [(node.lineno, f"{target}.{n}", []) for n in names if not node.module]
    return out


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every layering rule ``source`` (the text of ``module``) breaks, one message each."""
    layer, found = layer_of(module), []
    for line, target, names in imports(source, module, is_package):
        where = f"{module}:{line}"
        for banned in FORBIDDEN.get(layer, ()):
            if target == banned or target.startswith(banned + "."):
                found.append(f"{where} imports {target}: {layer} never imports {banned}")
        if layer == "core" and target == "bptt":
            found.append(f"{where} imports the bptt package itself: the core imports only bptt.core")
        if layer == "core" and not target.startswith("bptt"):
            top = target.split(".")[0]
            if top not in sys.stdlib_module_names and top not in CORE_THIRD_PARTY and top != "__future__":
                found.append(f"{where} imports {target}: the core needs numpy only")
        if target.startswith("bptt") and layer_of(target) != layer:
            found += [f"{where} takes the private name {n} from {target} (another layer)"
                      for n in names if n.startswith("_")]
    return found


def all_modules() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def test_no_import_goes_up_a_layer_or_takes_a_private_name():
    found = [v for path in all_modules()
             for v in violations(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")]
    assert found == []


@pytest.mark.parametrize("module, source", [
    ("bptt.core.rnn", "from ..present import plotting"),
    ("bptt.core.rnn", "def f():\n    from bptt.studies.paths import ScalarRNN\n"),
    ("bptt.core.rnn", "import bptt.present.widgets"),
    ("bptt.core.rnn", "from .. import studies"),
    ("bptt.core.rnn", "import matplotlib.pyplot as plt"),
    ("bptt.core.rnn", "import bptt"),
    ("bptt.studies.cost", "from ..present.plotting import GRAD_CMAP"),
    ("bptt.studies.cost", "class A:\n    def f(self):\n        import bptt.present\n"),
    ("bptt.studies.deep_study", "from ..core.deep import _run"),
    ("bptt.present.figures", "from bptt.studies.cost import _start"),
])
def test_the_checker_catches_each_kind_of_violation(module, source):
    assert violations(source, module), source


@pytest.mark.parametrize("module, source", [
    ("bptt.core.rnn", "from .params import RNNParams\nimport numpy as np\nfrom typing import Any"),
    ("bptt.core.lstm", "from .activations import sigmoid as _sigmoid"),
    ("bptt.studies.cost", "from ..core.backward import loss_and_grads\nfrom .demo import impulse"),
    ("bptt.present.figures", "from ..studies.cost import method1\nfrom . import plotting"),
])
def test_the_checker_allows_imports_down_the_layers(module, source):
    assert violations(source, module) == []


# --------------------------------------------------------------------------- the public API
def core_public_names() -> list[str]:
    import importlib
    names = []
    for path in sorted((PKG / "core").glob("*.py")):
        if path.name == "__init__.py":
            continue
        mod = importlib.import_module(module_name(path))
        assert hasattr(mod, "__all__"), f"{mod.__name__} must list its public names in __all__"
        names += mod.__all__
    return names


def test_import_bptt_is_the_core_api_each_name_once():
    core = core_public_names()
    assert len(core) == len(set(core)), "a public name is defined in two core modules"
    assert sorted(bptt.__all__) == sorted(core + ["data_path", "load_json", "__version__"])
    assert len(bptt.__all__) == len(set(bptt.__all__))
    for name in bptt.__all__:
        assert hasattr(bptt, name), name
    public = {n for n in dir(bptt) if not n.startswith("_")}
    # besides __all__, only the subpackages (an attribute once imported anywhere)
    assert public - set(bptt.__all__) <= {"core", "data", "studies", "present"}, "bptt has names outside __all__"
    assert not hasattr(bptt, "__getattr__"), "no lazy module attributes: import studies and present by name"


def test_help_lists_every_public_name():
    doc = bptt.__doc__
    missing = [n for n in bptt.__all__ if not re.search(rf"\b{re.escape(n)}\b", doc)]
    assert missing == [], f"add these names to the topic list in bptt/__init__.py's docstring: {missing}"


def test_the_api_page_documents_every_public_name():
    page = (ROOT / "book" / "api.md").read_text(encoding="utf-8")
    missing = [n for n in bptt.__all__ if n != "__version__" and not re.search(rf"\b{re.escape(n)}\b", page)]
    assert missing == [], f"add these names to book/api.md: {missing}"


def test_version_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert bptt.__version__ == project["version"]


def test_every_public_function_states_shapes_or_returns_in_its_docstring():
    """The API page shows each docstring: every public callable has one."""
    missing = [n for n in bptt.__all__ if callable(getattr(bptt, n)) and not (getattr(bptt, n).__doc__ or "").strip()]
    assert missing == []
