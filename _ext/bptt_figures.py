"""Sphinx extension of the book: every figure image gets alt text.

myst-nb writes a notebook figure's image without alt text (docutils then uses the file name). Here an
image inside a figure that has a caption takes the caption's words as its alt text (TeX commands
spelled out: ``\\rho`` -> ``rho``), so a screen reader says what the figure shows. Widget frames get
theirs in the browser (book_assets/book.js)."""
from __future__ import annotations

import re
from typing import Any

from docutils import nodes


def _plain(text: str) -> str:
    text = re.sub(r"\\(?:mathrm|operatorname|text|mathbf|boldsymbol)\{([^}]*)\}", r"\1", text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)
    text = text.replace("{", "").replace("}", "").replace("$", "")
    return re.sub(r"\s+", " ", text).strip()


def add_alt_text(app: Any, doctree: nodes.document, docname: str) -> None:
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if not captions:
            continue
        alt = _plain(captions[0].astext())
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = alt


def setup(app: Any) -> dict[str, Any]:
    app.connect("doctree-resolved", add_alt_text)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
