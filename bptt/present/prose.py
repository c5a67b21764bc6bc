"""Numbers in the prose: a cell stores a value with ``glue(key, value)`` and the markdown shows it with the
inline role ``{eval}`glued("key")` `` (or ``glued("key", ".2f")`` to format a number there).

Both renderers evaluate that expression in the kernel at that point of the notebook: myst-nb's ``{eval}``
role in the book (``nb_execution_mode: inline``) and jupyterlab-myst in JupyterLab, and both show the
plain-text repr of the result. ``glued`` returns a :class:`Text`, a ``str`` whose repr is its text, so the
page and JupyterLab show ``0.125`` (not ``'0.125'``), formatted once, by the cell. Nothing here needs
myst-nb: a notebook opened in Colab runs with only ``bptt`` installed.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Text", "glue", "glued", "GLUED"]


class Text(str):
    """A string that displays as its own text (IPython and the kernel's text/plain repr show no quotes)."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


#: every value glued in this kernel, by key (one notebook runs in one kernel)
GLUED: dict[str, Any] = {}


def glue(key: str, value: Any, display: bool = False) -> None:
    """Store ``value`` under ``key`` for the prose (``{eval}`glued("key")` ``). ``display`` is accepted for
    the chapters' old myst-nb calls and ignored: a glued value is shown only where the prose cites it."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"glue key must be a non-empty str, got {key!r}")
    GLUED[key] = value


def glued(key: str, spec: str = "") -> Text:
    """The value glued under ``key`` as text, formatted with ``spec`` (``format(value, spec)``) if given."""
    if key not in GLUED:
        raise KeyError(f"nothing glued under {key!r}: run the cell that glues it first")
    return Text(format(GLUED[key], spec))
