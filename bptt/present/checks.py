"""Exercise checkers. Each chapter registers its exercises; a learner calls ``check(name, answer)`` and
gets a verdict that says whether the answer is right and, if not, a wrong shape or type and a hint (never how
far off it is). Typed answers follow one of three rules (``judge``), which the static book's answer boxes apply
in the browser with the same messages."""
from __future__ import annotations

import html
import importlib
import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from ..core.params import RNNParams

Checker = Callable[[Any], tuple[bool, str]]
_REGISTRY: dict[str, tuple[Checker, str]] = {}

#: the modules that register the exercises named "<prefix>-<n>"; imported on first use, so that
#: ``import bptt`` stays light and a chapter's check loads only its own chapter's module
PROVIDERS: dict[str, tuple[str, ...]] = {
    prefix: (f"bptt.present.{prefix}_exercises",)
    for prefix in ("forward", "loss", "chain", "cost", "trunc", "vanishing", "lstm", "pytorch", "deep", "online")
}


def _load(prefix: str | None = None) -> None:
    """Import the checker modules of one exercise prefix (all of them when ``prefix`` is None)."""
    for key, modules in PROVIDERS.items():
        if prefix is None or key == prefix:
            for module in modules:
                importlib.import_module(module)


#: the largest expected array (entries) an answer box of the static book carries
MAX_BOX_ENTRIES = 2000


@dataclass(frozen=True)
class Verdict:
    """The result of a check; true when the answer is right. Shown as one line in the notebook.

    A "not yet" verdict also carries what the static book needs to check an answer in the browser: ``box``
    (``answer_box``: the rule, accepted values and messages; None when the exercise needs Python, e.g. a
    function to write) and the exercise's ``hint``."""

    name: str
    ok: bool
    message: str
    placeholder: bool = field(default=False, compare=False)
    box: dict[str, Any] | None = field(default=None, compare=False)
    hint: str = field(default="", compare=False)

    def __bool__(self) -> bool:
        return self.ok

    def require(self) -> None:
        """Raise AssertionError unless the answer is right; silent when it is (solution cells end with it, so CI
        catches a bad checker and Run All prints no verdict for a solution the learner has not read)."""
        if not self.ok:
            raise AssertionError(repr(self))

    def __repr__(self) -> str:
        return f"{'✓ Correct' if self.ok else '✗ Not yet'} ({self.name}): {self.message}"

    def _repr_html_(self) -> str | None:
        """A "not yet" verdict as an answer box: the book's script (book_assets/book.js) turns it into an
        input checked in the browser (or, for exercises that need Python, a note on how to run them) and
        the book's CSS hides the plain verdict, which a live notebook shows as is. (The book runs every
        exercise cell with its placeholder, so its "not yet" verdicts are never a reader's answer.)"""
        if self.ok:
            return None
        attrs = {"data-exercise": self.name, "data-hint": self.hint}
        if self.box is not None:
            attrs["data-box"] = json.dumps(self.box, separators=(",", ":"))
        attr_text = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items())
        return (f'<div class="bptt-answer" {attr_text}>'
                f'<p class="bptt-answer-live">{html.escape(repr(self))}</p></div>')


def register(name: str, checker: Checker, hint: str = "") -> None:
    """Register ``checker(answer) -> (ok, message)`` under ``name``."""
    _REGISTRY[name] = (checker, hint)


def exercise(name: str, hint: str = "") -> Callable[[Checker], Checker]:
    """Decorator form of ``register``."""
    def deco(fn: Checker) -> Checker:
        register(name, fn, hint)
        return fn
    return deco


def exercises() -> list[str]:
    """Names of all exercises of the book (imports every chapter's checker module)."""
    _load()
    return sorted(_REGISTRY)


def check(name: str, answer: Any) -> Verdict:
    """Check ``answer`` for exercise ``name``. A placeholder (None or ...) is reported, not an error."""
    if name not in _REGISTRY and isinstance(name, str):
        _load(name.rsplit("-", 1)[0])
    if name not in _REGISTRY:
        raise ValueError(f"unknown exercise {name!r}; known: {', '.join(exercises())}")
    checker, hint = _REGISTRY[name]
    if answer is None or answer is Ellipsis:
        return Verdict(name, False, "no answer yet: replace the placeholder with your answer" +
                       (f". Hint: {hint}" if hint else ""), placeholder=True, box=answer_box(name), hint=hint)
    try:
        ok, msg = checker(answer)
    except Exception as exc:  # a learner's function that raises is a wrong answer, not a crash
        ok, msg = False, f"checking your answer raised {type(exc).__name__}: {exc}"
    if ok:
        return Verdict(name, ok, msg)
    if hint:
        msg += f". Hint: {hint}"
    return Verdict(name, ok, msg, box=answer_box(name), hint=hint)


class _Probe:
    """The answer ``answer_box`` passes to a checker to learn what it would compare an answer with."""


class _Compared(Exception):
    def __init__(self, box: dict[str, Any]) -> None:
        super().__init__(box["what"])
        self.box = box


#: typed answers (a number, a pair, a short list) are right within 1 % of each entry: a value copied to 3
#: significant digits is at most 0.5 % off, and an answer 3 % off is wrong
ANSWER_RTOL = 0.01


def answer_box(name: str) -> dict[str, Any] | None:
    """What a browser needs to check exercise ``name`` without Python (the "box"), or None if it cannot.

    A checker that compares the answer with ``close``, ``exact`` or ``exact_steps`` first gets a box: its
    ``rule`` ("close", "exact" or "steps"), the accepted values (``accept``, ``expected`` = the first), ``shape``,
    ``rtol``/``atol`` (close), ``kind`` ("int" or "bool", exact), ``what`` (the messages' name for the answer),
    ``label`` (what to type, with an example of the right shape) and ``ok`` (the checker's message for each
    accepted value). book_assets/book.js applies the rule with ``judge``'s messages: tests/browser/
    test_answer_boxes.py runs the same answers through both. Checkers that need Python (a function to write)
    give None."""
    checker, _hint = _REGISTRY[name]
    try:
        checker(_Probe())
    except _Compared as c:
        box = dict(c.box)
        if np.size(box["expected"]) > MAX_BOX_ENTRIES or not np.all(np.isfinite(np.asarray(box["expected"], float))):
            return None
        box["ok"] = []
        for value in box["accept"]:
            try:
                ok, ok_message = checker(_python_value(value, box))
            except Exception:  # a checker that cannot take its own expected value: no box
                return None
            if not ok:
                return None
            box["ok"].append(ok_message)
        return box
    except Exception:  # the checker rejected the probe some other way: it needs Python
        return None
    return None


def _python_value(value: Any, box: dict[str, Any]) -> Any:
    """An accepted value of a box as a learner would give it in Python: an int, a tuple of ints, an array."""
    if box["rule"] == "steps":
        return [int(v) for v in value]
    if box["rule"] == "exact":
        if box.get("kind") == "bool":
            return np.asarray(value, dtype=bool)
        return int(value) if not box["shape"] else tuple(value) if len(box["shape"]) == 1 and len(value) == 2 \
            else np.asarray(value, dtype=int)
    return np.asarray(value, dtype=float) if box["shape"] else float(value)


# ------------------------------------------------------------------ the rules an answer box applies
def _tree(answer: Any) -> Any:
    """An answer as nested lists of leaves ("int" | "float" | "bool", value): what book.js reads from the text a
    reader types (1 is an int, 1.0 and 1e3 floats, True a bool). None if it is not numbers."""
    if isinstance(answer, (bool, np.bool_)):
        return ("bool", float(answer))
    if is_int(answer):
        return ("int", float(answer))
    if isinstance(answer, (float, np.floating)):
        return ("float", float(answer))
    if isinstance(answer, (list, tuple)):
        items = [_tree(a) for a in answer]
        return None if any(i is None for i in items) else items
    if hasattr(answer, "__array__") and not isinstance(answer, np.ndarray):
        answer = np.asarray(answer)
    if isinstance(answer, np.ndarray):
        kind = {"b": "bool", "i": "int", "u": "int", "f": "float"}.get(answer.dtype.kind)
        if kind is None:
            return None
        as_leaves = lambda v: [as_leaves(x) for x in v] if isinstance(v, list) else (kind, float(v))  # noqa: E731
        return as_leaves(answer.tolist())
    return None


def _shape(tree: Any) -> list[int] | None:
    """The shape of a tree of leaves; None if ragged."""
    if isinstance(tree, tuple):
        return []
    inner = [_shape(t) for t in tree]
    if any(i is None for i in inner) or any(i != inner[0] for i in inner[1:]):
        return None
    return [len(tree)] + (inner[0] if inner else [])


def _leaves(tree: Any) -> list[tuple[str, float]]:
    return [tree] if isinstance(tree, tuple) else [leaf for t in tree for leaf in _leaves(t)]


def _flat(value: Any) -> list[float]:
    return [float(v) for v in np.ravel(np.asarray(value, dtype=float))]


def py_shape(shape: list[int]) -> str:
    """A shape as Python prints a tuple: (), (3,), (2, 3)."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def judge(box: dict[str, Any], answer: Any) -> tuple[bool, str]:
    """Apply an answer box's rule to ``answer`` (a Python value): (right?, message). book.js's ``judge`` does
    the same to the text a reader types, with the same messages. A wrong answer's message never tells how far
    off it is or what is expected, only its shape or type where those are wrong."""
    what, rule, label = box["what"], box["rule"], box["label"]
    tree = _tree(answer)
    if tree is None:
        return False, f"could not read the {what} as {label}"
    shape = _shape(tree)
    if shape is None:
        return False, f"the {what} is a ragged list; expected {label}"
    leaves = _leaves(tree)
    values = [v for _, v in leaves]
    if rule == "steps":
        if len(shape) != 1 or any(k != "int" for k, _ in leaves):
            return False, f"give the {what} as {label}"
        if len(set(values)) != len(values):
            return False, f"list each of the {what} once"
        right = [i for i, acc in enumerate(box["accept"]) if sorted(values) == sorted(_flat(acc))]
    else:
        if shape != box["shape"]:
            return False, f"the {what} has shape {py_shape(shape)}, expected {py_shape(box['shape'])}"
        if not all(np.isfinite(values)):
            return False, f"the {what} contains NaN or inf"
        if rule == "exact":
            want = box.get("kind", "int")
            if any(k != want for k, _ in leaves):
                return False, (f"the {what} must be True or False values" if want == "bool"
                               else f"the {what} must be whole numbers (exact counts), not decimals" if shape
                               else f"the {what} must be a whole number (an exact count), not a decimal")
            right = [i for i, acc in enumerate(box["accept"]) if values == _flat(acc)]
        else:
            e = _flat(box["accept"][0])
            right = [0] if all(abs(a - b) <= box["atol"] + box["rtol"] * abs(b) for a, b in zip(values, e)) else []
    if right:
        return True, box["ok"][right[0]] if box.get("ok") else f"the {what} is right"
    return False, f"the {what} {'are' if rule == 'steps' else 'is'} not right yet"


def _label(rule: str, shape: list[int], kind: str = "float") -> str:
    """What to type in an answer box, with an example of the right shape."""
    if rule == "steps":
        return "a list of step numbers, e.g. [2, 3, 9]"
    if not shape:
        return "an integer, e.g. 42" if rule == "exact" else "a number, e.g. 0.125 or 1.25e-4"
    n = int(np.prod(shape))
    if kind == "bool":
        cycle = ["True", "False", "False"]
        ex = [cycle[i % 3] for i in range(n)]
    else:
        ex = [str(i + 1) for i in range(n)]
    def nest(items: list[str], dims: list[int]) -> str:
        if len(dims) == 1:
            return "[" + ", ".join(items) + "]"
        size = len(items) // dims[0]
        return "[" + ", ".join(nest(items[i * size:(i + 1) * size], dims[1:]) for i in range(dims[0])) + "]"
    if shape == [2] and kind != "bool":
        return f"a pair of {'integers' if rule == 'exact' else 'numbers'}, e.g. (3, 4)"
    if n > 12:   # the first row written out, the others left to the reader
        row = nest(ex[:n // shape[0]], shape[1:])
        return f"an array of shape {py_shape(shape)}, {shape[0]} rows like {row}: e.g. [{row}, …]"
    what = {"bool": "True/False values", "int": "integers"}.get(kind if rule == "exact" else "", "numbers")
    return (f"{n} {what}, e.g. " if len(shape) == 1 else f"an array of shape {py_shape(shape)}, e.g. ") + nest(ex, shape)


def _box(rule: str, accept: list[Any], what: str, **extra: Any) -> dict[str, Any]:
    first = np.asarray(accept[0])
    shape = list(first.shape) if rule != "steps" else [len(accept[0])]
    box = {"rule": rule, "what": what, "accept": accept, "expected": accept[0], "shape": shape, **extra}
    box["label"] = _label(rule, shape, extra.get("kind", "float"))
    return box


def close(answer: Any, expected: Any, *, rtol: float = ANSWER_RTOL, atol: float | None = None,
          what: str = "answer") -> tuple[bool, str]:
    """Compare numbers, arrays or RNNParams entry by entry: |answer - expected| <= atol + rtol |expected|, with
    atol 1e-9 times the largest |expected| unless given. The default rtol (ANSWER_RTOL) accepts a value copied to
    3 significant digits; a learner's function is checked tighter (check_function). A wrong answer's message
    names a wrong shape or type, never how far off it is. The static book's answer box applies the same rule."""
    if isinstance(expected, RNNParams):
        if isinstance(answer, _Probe):
            return False, "an RNNParams answer needs Python"
        if not isinstance(answer, RNNParams):
            return False, f"expected an RNNParams (U, W, V, b, c), got {type(answer).__name__}"
        for n in "UWVbc":
            ok, msg = close(getattr(answer, n), getattr(expected, n), rtol=rtol, atol=atol, what=n)
            if not ok:
                return ok, msg
        return True, f"all five gradients match to rtol={rtol:g}"
    e = np.asarray(expected, dtype=float)
    scale = float(np.max(np.abs(e))) if e.size and np.all(np.isfinite(e)) else 0.0
    box = _box("close", [e.tolist()], what, rtol=float(rtol), atol=float(1e-9 * scale if atol is None else atol))
    if isinstance(answer, _Probe):
        raise _Compared(box)
    ok, msg = judge(box, answer)
    return (True, f"the {what} matches" + (f" ({float(e):.6g})" if e.ndim == 0 else f" (shape {e.shape})")) if ok \
        else (False, msg)


def exact(answer: Any, expected: Any, *, what: str = "answer", also: tuple[Any, ...] = (), kind: str = "int",
          right: str | None = None) -> tuple[bool, str]:
    """An exact answer: an integer (or True/False values with kind="bool"), or a list or array of them, equal to
    ``expected`` or to one of ``also`` (other accepted answers of the same shape). A float, even 5.0, is a wrong
    type, not a near miss. ``right`` is the message for a right answer."""
    box = _box("exact", [np.asarray(v).tolist() for v in (expected, *also)], what, kind=kind)
    if isinstance(answer, _Probe):
        raise _Compared(box)
    ok, msg = judge(box, answer)
    return (True, right or f"the {what} is right") if ok else (False, msg)


def _blocked(*args: Any, **kwargs: Any) -> Any:
    # runs with the globals of the function it replaces, so it raises a builtin exception
    raise PermissionError("the exercise asks you to compute this yourself, without this library function")


@contextmanager
def forbidding(*funcs: Callable[..., Any]) -> Iterator[None]:
    """Within the block, calling any of ``funcs`` raises PermissionError, however the learner imported it
    (the functions' code is swapped, not a module attribute), and torch records no autograd graph.
    Checkers run a learner's function inside it to check how the answer is computed, not only its value."""
    saved = [f.__code__ for f in funcs]
    torch = sys.modules.get("torch")
    grad_ctx = torch.no_grad() if torch is not None else None
    try:
        for f in funcs:
            f.__code__ = _blocked.__code__
        if grad_ctx is not None:
            grad_ctx.__enter__()
        yield
    finally:
        for f, code in zip(funcs, saved):
            f.__code__ = code
        if grad_ctx is not None:
            grad_ctx.__exit__(None, None, None)


def is_int(v: Any) -> bool:
    """True for an int or numpy integer, but not a bool: an exact count, never a float like 5.0."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def exact_int(answer: Any, expected: int, *, what: str = "answer", right: str | None = None) -> tuple[bool, str]:
    """An integer answer, compared exactly: a float (even 5.0) or a bool is a wrong type, not a near miss."""
    return exact(answer, int(expected), what=what, right=right or f"the {what} is {expected}")


def exact_steps(answer: Any, expected: list[int], *, what: str = "steps") -> tuple[bool, str]:
    """A set of step numbers given as a list (any order) of distinct integers, compared exactly."""
    box = _box("steps", [sorted(int(v) for v in expected)], what)
    if isinstance(answer, _Probe):
        raise _Compared(box)
    ok, msg = judge(box, answer)
    return (True, f"the {what} are {sorted(expected)}") if ok else (False, msg)


def check_function(answer: Any, signature: str, cases: list[tuple[tuple[Any, ...], Any, str]], *, returns: str,
                   done: str, compare: Callable[[Any, Any, str], tuple[bool, str]] | None = None,
                   rtol: float = 1e-6, atol: float = 1e-9, forbidden: tuple[Callable[..., Any], ...] = (),
                   shortcut: str = "") -> tuple[bool, str]:
    """Check a learner's function ``answer`` (called as ``signature``) on several ``cases``, so that an
    answer cannot be special-cased to one problem. A case is (arguments, expected, what the result is),
    with ``expected`` computed beforehand.

    On each case the function gets copies of the array arguments, runs inside ``forbidding(*forbidden)``
    (calling one of them fails with the message ``shortcut``) and must return something (``returns`` says
    what); ``compare(got, expected, what)`` gives the verdict, by default ``close`` with ``rtol``, ``atol``.
    ``done`` is the message when every case passes."""
    if not callable(answer):
        return False, f"expected a function {signature}, got {type(answer).__name__}"
    for args, expected, what in cases:
        copies = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
        if forbidden:
            try:
                with forbidding(*forbidden):
                    got = answer(*copies)
            except PermissionError:
                return False, shortcut
        else:
            got = answer(*copies)
        if got is None:
            return False, f"your function returned None: return {returns}"
        ok, msg = compare(got, expected, what) if compare else close(got, expected, rtol=rtol, atol=atol, what=what)
        if not ok:
            return ok, msg
    return True, done


def function_exercise(name: str, signature: str, cases: Callable[[], list[tuple[tuple[Any, ...], Any, str]]], *,
                      hint: str = "", **options: Any) -> None:
    """Register exercise ``name`` whose answer is a function ``signature``, checked by ``check_function``
    on the cases that ``cases()`` makes (with ``options``: returns, done, compare, rtol, atol, forbidden,
    shortcut)."""
    register(name, lambda answer: check_function(answer, signature, cases(), **options), hint)
