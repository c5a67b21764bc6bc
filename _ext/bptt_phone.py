"""Sphinx extension of the book: figures drawn for the phone.

``bptt.present.plotting.use_book_style()`` stores, next to each notebook figure's PNG, a phone rendering
(panels stacked, at most 5 in wide, in the output metadata under ``plotting.PHONE_KEY``) and the smallest
text of each image as a fraction of its width (``TEXT_KEY`` / ``PHONE_TEXT_KEY``). myst-nb keeps only an
image's width and height from that metadata, so this extension wraps its image renderer: the phone PNG is
written next to the figure's, and the page shows

    <picture><source media="(max-width: 640px)" srcset="…/_images/phone-<hash>.png"><img …></picture>

The ``img`` keeps its alt text (_ext/bptt_figures.py) and carries a ``bptt-text-N`` class (the desktop
image's smallest text), the ``<picture>`` a ``data-phone-text`` attribute (the phone image's), from which
the browser tests compute the size of the text the reader sees. The wrapper of myst-nb's image renderer
is the one private hook: re-check it when the myst-nb pin changes."""
from __future__ import annotations

import hashlib
import re
import shutil
from binascii import a2b_base64
from pathlib import Path
from typing import Any

from docutils import nodes

from bptt.present import plotting


class phone_picture(nodes.General, nodes.Element):
    """Wraps an image node that has a phone rendering (attribute ``phone``: the PNG's path)."""


def _wrap_render_image() -> None:
    from myst_nb.core.render import NbElementRenderer
    original = NbElementRenderer.render_image
    if getattr(original, "_bptt_phone", False):
        return

    def render_image(self: Any, data: Any) -> list[nodes.Element]:
        result = original(self, data)
        meta = data.output_metadata.get(data.mime_type, {}) if data.output_metadata else {}
        image = result[0] if result and isinstance(result[0], nodes.image) else None
        if image is None:
            return result
        if plotting.TEXT_KEY in meta:
            image["classes"].append(plotting.text_class(float(meta[plotting.TEXT_KEY])))
        if plotting.PHONE_KEY in meta and self.config.output_folder:
            png = a2b_base64(meta[plotting.PHONE_KEY])
            name = f"phone-{hashlib.sha256(png).hexdigest()[:32]}.png"
            path = self.write_file([name], png, overwrite=False, exists_ok=True)
            del path  # the URI is not needed: the HTML writer copies the file itself
            image["bptt_phone"] = str(Path(self.config.output_folder) / name)
            image["bptt_phone_text"] = float(meta.get(plotting.PHONE_TEXT_KEY, 0.0))
        return result

    render_image._bptt_phone = True  # type: ignore[attr-defined]
    NbElementRenderer.render_image = render_image


def wrap_images(app: Any, doctree: nodes.document, docname: str) -> None:
    for image in list(doctree.findall(nodes.image)):
        if image.get("bptt_phone") and not isinstance(image.parent, phone_picture):
            wrapper = phone_picture(phone=image["bptt_phone"], phone_text=image.get("bptt_phone_text", 0.0))
            image.replace_self(wrapper)
            wrapper += image


def visit_phone_picture(self: Any, node: phone_picture) -> None:
    node["body_start"] = len(self.body)


def depart_phone_picture(self: Any, node: phone_picture) -> None:
    """Wrap the ``<img>`` the image node wrote in the <picture> (inside the link to the full-size image
    that Sphinx may put around it: <picture> must hold the <img> itself)."""
    source = Path(node["phone"])
    target = Path(self.builder.outdir) / self.builder.imagedir / source.name
    if source.exists() and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    src = f"{self.builder.imgpath}/{source.name}"
    text = plotting.text_class(float(node["phone_text"])).removeprefix("bptt-text-")
    opening = (f'<picture class="bptt-picture" data-phone-text="{text}">'
               f'<source media="{plotting.PHONE_MEDIA}" srcset="{src}">')
    start = node["body_start"]
    written = "".join(self.body[start:])
    del self.body[start:]
    self.body.append(re.sub(r"(<img\b[^>]*>)", lambda m: opening + m.group(1) + "</picture>", written, count=1))


def _skip(self: Any, node: phone_picture) -> None:
    pass


def setup(app: Any) -> dict[str, Any]:
    _wrap_render_image()
    app.add_node(phone_picture, html=(visit_phone_picture, depart_phone_picture),
                 latex=(_skip, _skip), text=(_skip, _skip), man=(_skip, _skip), texinfo=(_skip, _skip))
    app.connect("doctree-resolved", wrap_images, priority=800)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
