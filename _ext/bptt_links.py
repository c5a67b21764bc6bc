"""Sphinx extension of the book: ``[text](page.md#label)`` links to an explicit ``(label)=`` target on another page.

The chapters link other pages with plain markdown links (scripts/convert_chapters.py), which both myst-parser
and jupyterlab-myst read. myst-parser 3 resolves the ``#anchor`` of such a link only against heading slugs
and warns ("local id not found") for a ``(label)=`` target, although the link it writes is right. This
resolves those links to the label (its page and id) before myst-parser's resolver (priority 9) sees them;
an anchor that is no label of that page is left to myst-parser, which warns.
"""
from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.nodes import make_refnode


class LabelAnchors(SphinxPostTransform):
    default_priority = 8

    def run(self, **kwargs: Any) -> None:
        std = self.env.get_domain("std")
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node.get("reftype") != "myst" or node.get("refdomain") != "doc" or not node.get("reftargetid"):
                continue
            docname, labelid = std.anonlabels.get(node["reftargetid"], (None, None))
            if docname is None or docname != node["reftarget"]:
                continue
            if node.get("refexplicit"):
                inner = nodes.inline(node.astext(), "", classes=["std", "std-ref"])
                inner.extend(node[0].children)
            else:
                title = std.labels.get(node["reftargetid"], ("", "", node["reftargetid"]))[2]
                inner = nodes.inline(title, title, classes=["std", "std-ref"])
            fromdoc = node.get("refdoc", self.env.docname)
            node.replace_self(make_refnode(self.app.builder, fromdoc, docname, labelid, inner))


def setup(app: Any) -> dict[str, Any]:
    app.add_post_transform(LabelAnchors)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
