"""Sphinx extension of the book's API page (book/api.md): the library's docstrings are plain text with
shapes (``xs: (T, B, D)``), norms (``||g||``) and products (``a * b``), not reStructuredText, so autodoc
shows each one as it is written, in a preformatted block, instead of parsing it as markup."""
from __future__ import annotations

from typing import Any


def as_written(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Replace the docstring ``lines`` by a literal block holding them verbatim."""
    if not any(line.strip() for line in lines):
        return
    text = [line.rstrip() for line in lines]
    while text and not text[-1]:
        text.pop()
    lines[:] = [".. code-block:: text", ""] + ["    " + line if line else "" for line in text] + [""]


def setup(app: Any) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", as_written)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
