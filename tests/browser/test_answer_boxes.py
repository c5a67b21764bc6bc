"""Exercise answer boxes (book_assets/book.js) in Chromium: the same rules and messages as bptt's checks.

1. Parity, on a blank page that loads book.js: for every exercise's box and many typed answers (the value to
   3 significant digits, 3 % off, integers written as decimals, a wrong shape, steps in another order, a ragged
   list, text that is not a number), the verdict the box prints is, character for character, the repr of
   bptt's check of the same answer given in Python.
2. The built book: every box of every chapter accepts its expected value written to 3 significant digits (what a
   reader copies from a printed value), rejects one 3 % off with "not yet" and the hint only (never the size of
   the error or the answer), and labels the input with an example of the right shape.
"""
from __future__ import annotations

import ast
import json
from typing import Any, Iterator

import numpy as np
import pytest

from book_site import ROOT, chapter_pages
from bptt.present import checks

BOOK_JS = ROOT / "book_assets" / "book.js"

# JavaScript: build a box from its HTML (as the page's MutationObserver does), type each answer, return the verdicts
TYPE_ANSWERS_JS = """async ([html, answers]) => {
  const host = document.createElement("div");
  host.innerHTML = html;
  document.body.appendChild(host);
  await new Promise((r) => setTimeout(r, 0));            // the observer builds the box
  const div = host.querySelector(".bptt-answer");
  const input = div.querySelector("input"), button = div.querySelector("button");
  const out = [];
  for (const a of answers) {
    input.value = a;
    button.click();
    out.push(div.querySelector(".bptt-verdict").textContent);
  }
  const label = div.querySelector("label").textContent;
  host.remove();
  return { verdicts: out, label };
}"""


def _sig3(v: float) -> str:
    return f"{v:.3g}"


def _text(value: Any, fmt=_sig3) -> str:
    return "[" + ", ".join(_text(v, fmt) for v in value) + "]" if isinstance(value, list) else fmt(value)


def _typed_answers(box: dict[str, Any]) -> list[str]:
    """Answers to try on a box: right ones written as a reader would, and wrong ones of every kind."""
    e = box["expected"]
    if box["rule"] == "close":
        off = lambda v: repr(v * 1.03 if v else 0.03)  # noqa: E731
        return [_text(e), _text(e, repr), _text(e, off), "[" + _text(e) + "]", "abc", "[[1], [1, 2]]",
                _text(e, lambda v: "nan"), "np.array(" + _text(e) + ")"]
    if box["rule"] == "steps":
        return [_text(e[::-1], str), _text(e + [e[0]], str), _text([v + 1 for v in e], str),
                _text([float(v) for v in e], repr), str(e[0])]
    if box.get("kind") == "bool":
        return [_text(e, str), _text([not v for v in e], str), _text([int(v) for v in e], str), "[True]"]
    answers = [_text(a, str) for a in box["accept"]] + [_text(e, lambda v: repr(float(v))), _text(e, lambda v: str(v + 1))]
    if isinstance(e, list) and len(e) == 2:
        answers.append("(" + ", ".join(map(str, e)) + ")")
    return answers + ["[" + _text(e, str) + "]", "-"]


def _python_answer(text: str) -> Any:
    """The typed text as a Python value (nan, inf and np.array as a notebook reads them), or the text itself."""
    try:
        return eval(text, {"__builtins__": {}, "nan": float("nan"), "inf": float("inf"), "np": np})  # our own texts
    except (NameError, SyntaxError, TypeError):
        return text                    # a string: not numbers, for Python as for the box


@pytest.fixture(scope="module")
def blank_page(browser, tmp_path_factory) -> Iterator[Any]:
    site = tmp_path_factory.mktemp("boxes")
    (site / "book.js").write_bytes(BOOK_JS.read_bytes())
    (site / "index.html").write_text("<!doctype html><meta charset='utf-8'><title>boxes</title><body>"
                                     "<script src='book.js'></script></body>", encoding="utf-8")
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((site / "index.html").as_uri(), wait_until="load")
    yield page
    context.close()
    assert not errors, errors


BOXED = [name for name in checks.exercises() if checks.answer_box(name) is not None]


def test_every_exercise_with_a_short_answer_has_a_box():
    """A number, a pair or a short list is typed into a box; only functions to write need a live notebook."""
    assert {"loss-3", "chain-2", "cost-2", "trunc-1", "deep-2", "lstm-3", "pytorch-3"} <= set(BOXED)
    needs_python = set(checks.exercises()) - set(BOXED)
    assert needs_python == {"chain-1", "chain-3", "cost-3", "online-4"}, needs_python


@pytest.mark.parametrize("name", BOXED)
def test_box_verdicts_are_bptt_checks_verdicts(blank_page, name):
    verdict = checks.check(name, None)
    box = verdict.box
    answers = _typed_answers(box)
    got = blank_page.evaluate(TYPE_ANSWERS_JS, [verdict._repr_html_(), answers])
    assert len(got["verdicts"]) == len(answers) >= 4
    for text, shown in zip(answers, got["verdicts"]):
        assert shown == repr(checks.check(name, _python_answer(text))), f"{name}: typed {text!r}"
    assert box["label"] in got["label"]


def _sig3_of(box: dict[str, Any]) -> str:
    if box["rule"] == "close":
        return _text(box["expected"])
    return _text(box["expected"], str)


def _three_percent_off(box: dict[str, Any]) -> str:
    if box["rule"] == "close":
        return _text(box["expected"], lambda v: _sig3(v * 1.03 if v else 0.03))
    if box.get("kind") == "bool":
        return _text([not v for v in box["expected"]], str)
    bump = lambda v: str(max(int(round(v * 1.03)), v + 1))  # noqa: E731
    return _text(box["expected"], bump)


def _label_example_has_the_right_shape(box: dict[str, Any], label: str) -> bool:
    if "e.g." not in label:
        return False
    example = label.split("e.g.", 1)[1].strip()
    if "…" in example or box["rule"] == "steps" or not box["shape"]:
        return True
    parsed = ast.literal_eval(example.split(" or ")[0])
    return list(np.shape(parsed)) == box["shape"]


@pytest.mark.parametrize("rel", chapter_pages())
def test_book_boxes_accept_3_significant_digits_and_reject_3_percent_off(browser, html_root, rel):
    page_file = html_root / rel
    if not page_file.exists():
        pytest.skip(f"{rel} is not in this build")
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    try:
        page.goto(page_file.as_uri(), wait_until="load")
        boxes = page.locator(".bptt-answer[data-box]")
        for i in range(boxes.count()):
            div = boxes.nth(i)
            box, name, hint = json.loads(div.get_attribute("data-box")), div.get_attribute("data-exercise"), \
                div.get_attribute("data-hint")
            field, verdict = div.locator("input"), div.locator(".bptt-verdict")
            label = div.locator("label").inner_text()
            assert _label_example_has_the_right_shape(box, label), f"{rel} {name}: label {label!r}"
            field.fill(_three_percent_off(box))
            div.get_by_role("button", name="Check").click()
            verb = "are" if box["rule"] == "steps" else "is"
            assert verdict.inner_text() == f"✗ Not yet ({name}): the {box['what']} {verb} not right yet. Hint: {hint}", \
                f"{rel} {name}: {verdict.inner_text()}"
            field.fill(_sig3_of(box))
            field.press("Enter")
            assert verdict.inner_text().startswith(f"✓ Correct ({name})"), f"{rel} {name}: {verdict.inner_text()}"
            note = div.locator(".bptt-howto").inner_text()
            assert len(note.split()) <= 15, f"{rel} {name}: the note under the box runs {len(note.split())} words"
    finally:
        context.close()
