"""Sphinx extension of the book: numbers in the prose, evaluated where the notebook cites them.

Chapters store values with ``glue(key, value)`` (bptt/present/prose.py) and cite them with
``{eval}`glued("key")` ``. myst-nb's inline execution evaluates that in the kernel, but it runs a code cell
only when it renders the next shown code cell, so a ``remove-cell`` cell that glues a value would not have run
yet when the prose after it cites the value. This role first runs every cell above the markdown cell, as
JupyterLab's Run All does, so the book and JupyterLab evaluate the same expression at the same point.

It also records each expression's text per page (``env.bptt_numbers``), which the reader notebooks
(_ext/bptt_reader.py) write in place of the role.
"""
from __future__ import annotations

from typing import Any

import re

from myst_nb.core.variables import RetrievalError, VariableOutput, render_variable_outputs
from myst_nb.ext.eval import EvalRoleAny, eval_warning

LINES_PER_CELL = 10000   # myst-nb numbers notebook lines as (cell index + 1) * 10000 + line in the cell


class EvalAtPoint(EvalRoleAny):
    def run(self):
        renderer = self.document.get("nb_renderer")
        client = getattr(getattr(renderer, "renderer", None), "nb_client", None)
        cell = self.line // LINES_PER_CELL - 1
        if client is not None and cell >= 0 and hasattr(client, "_last_cell_executed"):
            client.code_cell_outputs(cell)       # runs every cell up to this (markdown) cell
        try:
            data = self._evaluate(renderer, client)
        except RetrievalError as exc:
            return [], [eval_warning(str(exc), self.document, self.line)]
        result = render_variable_outputs(data, self.document, self.line, self.source, inline=True)
        env = self.document.settings.env
        env.bptt_numbers.setdefault(env.docname, {})[self.text] = "".join(n.astext() for n in result)
        return result, []

    def _evaluate(self, renderer, client) -> list[VariableOutput]:
        """The expression's text/plain as display() publishes it. (Evaluated as a bare expression, as myst-nb
        does, IPython shows nothing when the last cell run ended with ';' -- its displayhook reads the
        history -- while JupyterLab's user_expressions are not affected.)"""
        if client is None or not hasattr(client, "_client"):
            raise RetrievalError("This document does not have a running kernel")
        if not re.match(renderer.renderer.nb_config.eval_name_regex, self.text):
            raise RetrievalError(f"The expression {self.text!r} is not valid according to the configured pattern")
        outputs = client._client.eval_expression(f"__import__('IPython').display.display({self.text})")
        for output in outputs:
            if output.get("output_type") == "error":
                raise RetrievalError(f"{output.get('ename', '')}: {output.get('evalue', '')}")
        if not outputs:
            raise RetrievalError(f"expression {self.text!r} does not return any outputs")
        return [VariableOutput(data=o.get("data", {}), metadata={**o.get("metadata", {}), "strip_text_quotes": True},
                               nb_renderer=renderer, vtype="eval", index=i) for i, o in enumerate(outputs)]


def _init(app: Any, env: Any, docnames: Any) -> None:
    if not hasattr(env, "bptt_numbers"):
        env.bptt_numbers = {}


def _purge(app: Any, env: Any, docname: str) -> None:
    getattr(env, "bptt_numbers", {}).pop(docname, None)


def setup(app: Any) -> dict[str, Any]:
    app.add_role("eval", EvalAtPoint(), override=True)
    app.connect("env-before-read-docs", _init)
    app.connect("env-purge-doc", _purge)
    return {"parallel_read_safe": False, "parallel_write_safe": True, "env_version": 1}
