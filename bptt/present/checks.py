"""Exercise checkers. Each chapter registers its exercises; a learner calls ``check(name, answer)`` and
gets a verdict that says whether the answer is right and, if not, what is off (shape, size, a hint)."""
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

    A "not yet" verdict also carries what the static book needs to check an answer in the browser: ``box`` (the expected value, tolerances and messages of ``close``; None when the exercise
    needs Python, e.g. a function to write) and the exercise's ``hint``."""

    name: str
    ok: bool
    message: str
    placeholder: bool = field(default=False, compare=False)
    box: dict[str, Any] | None = field(default=None, compare=False)
    hint: str = field(default="", compare=False)

    def __bool__(self) -> bool:
        return self.ok

    def require(self) -> "Verdict":
        """Raise AssertionError unless the answer is right (solution cells use it, so CI catches a bad checker)."""
        if not self.ok:
            raise AssertionError(repr(self))
        return self

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
    """The answer ``answer_box`` passes to a checker to learn what ``close`` would compare it with."""


class _Compared(Exception):
    def __init__(self, expected: Any, rtol: float, atol: float, what: str) -> None:
        super().__init__(what)
        self.expected, self.rtol, self.atol, self.what = expected, rtol, atol, what


def answer_box(name: str) -> dict[str, Any] | None:
    """What a browser needs to check exercise ``name`` without Python, or None if it cannot.

    An exercise whose checker compares the answer with ``close`` first is a numeric or array answer:
    the box holds the expected value, ``rtol``, ``atol``, the ``what`` of the messages, and the message
    the checker gives a right answer. Checkers that need Python (a function to write, a custom test)
    give None."""
    checker, _hint = _REGISTRY[name]
    try:
        checker(_Probe())
    except _Compared as c:
        e = np.asarray(c.expected, dtype=float)
        if e.size > MAX_BOX_ENTRIES or not np.all(np.isfinite(e)):
            return None
        try:
            ok, ok_message = checker(c.expected)
        except Exception:  # a checker that cannot take its own expected value: no box
            return None
        if not ok:
            return None
        exact = is_int(c.expected)
        return {"expected": int(c.expected) if exact else e.tolist(), "shape": list(e.shape), "rtol": c.rtol,
                "atol": c.atol, "what": c.what, "ok_message": ok_message}
    except Exception:  # the checker rejected the probe some other way: it needs Python
        return None
    return None


def close(answer: Any, expected: Any, *, rtol: float = 1e-6, atol: float = 1e-9, what: str = "answer"
          ) -> tuple[bool, str]:
    """Compare numbers, arrays or RNNParams; the message names the first thing that differs.
    The static book repeats this comparison and its messages in the browser (book_assets/book.js)."""
    if isinstance(answer, _Probe):
        if isinstance(expected, RNNParams):
            return False, "an RNNParams answer needs Python"
        raise _Compared(expected, rtol, atol, what)
    if isinstance(expected, RNNParams):
        if not isinstance(answer, RNNParams):
            return False, f"expected an RNNParams (U, W, V, b, c), got {type(answer).__name__}"
        for n in "UWVbc":
            ok, msg = close(getattr(answer, n), getattr(expected, n), rtol=rtol, atol=atol, what=n)
            if not ok:
                return ok, msg
        return True, f"all five gradients match to rtol={rtol:g}"
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False, f"expected a number or array for the {what}, got {type(answer).__name__}"
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        return False, f"the {what} has shape {a.shape}, expected {e.shape}"
    if not np.all(np.isfinite(a)):
        return False, f"the {what} contains NaN or inf"
    if np.allclose(a, e, rtol=rtol, atol=atol):
        return True, f"the {what} matches" + (f" ({float(e):.6g})" if e.ndim == 0 else f" (shape {e.shape})")
    err = np.max(np.abs(a - e))
    return False, f"the {what} is off by up to {err:.3g} (tolerance rtol={rtol:g})"


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


def exact_int(answer: Any, expected: int, *, what: str = "answer") -> tuple[bool, str]:
    """An integer answer, compared exactly: a float (even 5.0) or a bool is a wrong type, not a near miss."""
    return exact_count(answer, expected, what=what, wrong=lambda n: f"the {what} is not {n}",
                       right=f"the {what} is {expected}")


def exact_steps(answer: Any, expected: list[int], *, what: str = "steps") -> tuple[bool, str]:
    """A set of step numbers given as a list (any order) of distinct integers, compared exactly."""
    try:
        items = list(np.asarray(answer, dtype=object).ravel()) if not isinstance(answer, (list, tuple)) \
            else list(answer)
    except TypeError:
        return False, f"give the {what} as a list of integers, got {type(answer).__name__}"
    bad = [v for v in items if not is_int(v)]
    if bad:
        return False, f"every entry must be an integer (int); {bad[0]!r} is a {type(bad[0]).__name__}"
    got = [int(v) for v in items]
    if len(set(got)) != len(got):
        return False, f"list each of the {what} once; you listed {sorted(got)}"
    if sorted(got) == sorted(expected):
        return True, f"the {what} are {sorted(expected)}"
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    return False, f"you listed {sorted(got)}; missing {missing}, should not be there {extra}"


def exact_count(answer: Any, expected: int, *, wrong: Callable[[int], str], right: str,
                what: str = "count") -> tuple[bool, str]:
    """An exact count: an int (not a bool or float) equal to ``expected``. ``wrong(n)`` says what is off about
    a wrong count n; ``right`` is the message for the right one. (The static book's answer box compares the
    number typed with ``expected`` exactly; ``what`` names it there.)"""
    if isinstance(answer, _Probe):
        raise _Compared(expected, 0.0, 0.0, what)
    if not is_int(answer):
        return False, f"expected an integer (an exact count), got {type(answer).__name__}"
    if int(answer) != expected:
        return False, wrong(int(answer))
    return True, right


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
