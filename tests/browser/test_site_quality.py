"""Every page legible on a laptop and on a phone (issue 12), checked in Chromium at 1280 px and 390 px:
figures and widget frames fill the text column and are stored sharp for HiDPI screens, nothing scrolls
sideways on a phone, every control shows its current value, no developer output, typeset captions, alt
text on every image, figures on a light card in dark mode, no code cut off at the column's edge, and
axe-core (vendored, tests/browser/vendor) finds no serious or critical violation.

Each page is opened once per viewport and measured; the tests assert on the measurements."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from book_site import book_pages, frame_widget_pages, live_widget_pages

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WIDGET_TIMEOUT_MS = 30_000
SHARPNESS = 1.5      # stored pixels per displayed CSS pixel, at least
FILL = 0.90          # displayed width / text column width, at least
# developer output that must not reach a reader
DEVELOPER_OUTPUT = re.compile(r"\b\d+ frames,|\bKB embedded\b|Not yet|replace the placeholder"
                              r"|Traceback \(most recent call last\)")
# untypeset caption text: dollar signs, raw labels, TeX commands, ASCII spellings of Greek letters
RAW_CAPTION = re.compile(r"\$|\beq-[a-z0-9-]+|\\[a-zA-Z]+|\b(rho|sigma_max|sigma|tau|gamma|xi|pi|delta)\b|\bW\^n\b")

MEASURE_JS = """() => {
  const art = document.querySelector('article.bd-article') || document.querySelector('main');
  const cs = getComputedStyle(art);
  const artRect = art.getBoundingClientRect();
  const colLeft = artRect.left + parseFloat(cs.paddingLeft);
  const colWidth = art.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const vw = document.documentElement.clientWidth;
  const visible = el => { const r = el.getBoundingClientRect(); return el.offsetParent !== null && r.width > 0 && r.height > 0; };
  const box = el => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, width: r.width}; };
  const figures = Array.from(art.querySelectorAll('.cell_output img, figure img, img.widget-image'))
    .filter(visible).map(img => ({
      src: (img.currentSrc || img.src).slice(-40), cls: img.className.slice(0, 40),
      widget: img.classList.contains('widget-image'),
      shown: img.getBoundingClientRect().width, natural: img.naturalWidth}));
  const images = Array.from(document.querySelectorAll('main img')).filter(visible)
    .map(img => ({src: (img.currentSrc || img.src).slice(-40), alt: img.getAttribute('alt')}));
  const controls = [];
  art.querySelectorAll('.widget-slider, .widget-toggle-buttons, .widget-dropdown, .bptt-answer input, .bptt-answer button')
    .forEach(el => {
      if (!visible(el)) return;
      const label = el.querySelector(':scope > .widget-label');
      let value = null, valueBox = null;
      if (el.classList.contains('widget-slider')) { const r = el.querySelector('.widget-readout'); value = r && r.textContent.trim(); valueBox = r && visible(r) ? box(r) : null; }
      else if (el.classList.contains('widget-toggle-buttons')) { const a = el.querySelector('button.mod-active'); value = a && a.textContent.trim(); valueBox = a && visible(a) ? box(a) : null; }
      else if (el.classList.contains('widget-dropdown')) { const s = el.querySelector('select'); value = s && s.options[s.selectedIndex] && s.options[s.selectedIndex].text; valueBox = s && visible(s) ? box(s) : null; }
      else { value = el.tagName; valueBox = box(el); }
      const buttons = Array.from(el.querySelectorAll('button')).filter(visible).map(box);
      controls.push({kind: el.className.split(' ').filter(c => c.startsWith('widget-') || c === '').join(' ') || el.tagName,
                     label: label ? label.textContent.trim() : (el.tagName === 'INPUT' ? (el.labels[0] || {}).textContent : 'button'),
                     value, valueBox, buttons});
    });
  const captions = Array.from(art.querySelectorAll('figcaption, .caption-text')).map(c => c.innerText.trim());
  const shownCode = Array.from(art.querySelectorAll('.cell_input')).filter(visible).map(c => c.innerText);
  const cutCode = Array.from(art.querySelectorAll('.cell_input pre, div.highlight pre')).filter(visible)
    .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
    .map(pre => (pre.innerText.split('\\n').find(l => l.length > 88) || pre.innerText.slice(0, 60)).slice(0, 100));
  return {vw, colLeft, colWidth, scrollWidth: document.documentElement.scrollWidth,
          figures, images, controls, captions, cutCode, shownCode, text: art.innerText,
          stderr: art.querySelectorAll('.output.stderr, .output.traceback').length};
}"""


# in the theme's dark mode, every figure and frame widget sits on a light card
DARK_JS = """() => {
  document.documentElement.dataset.theme = 'dark';
  const cards = Array.from(document.querySelectorAll('.cell_output img:not(.widget-image), .bptt-frame-widget'))
    .filter(el => el.offsetParent !== null)
    .map(el => ({what: (el.className || el.tagName).slice(0, 40), bg: getComputedStyle(el).backgroundColor}));
  document.documentElement.dataset.theme = 'light';
  return cards;
}"""


def _page_rel(page) -> str:
    """The page's path below the site root, e.g. "book/01_forward.html"."""
    path = page.url.split("?")[0].split("#")[0]
    return path[path.index("/book/") + 1:] if "/book/" in path else path.rsplit("/", 1)[-1]


def _settle(page) -> None:
    """Load every image (also lazy ones), render the widgets, typeset the math."""
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
    rel = _page_rel(page)
    if rel in frame_widget_pages():
        # a frame widget holds desktop and phone frames, one tree shown: wait for a visible frame
        page.locator(".widget-subarea img.widget-image").filter(visible=True).first.wait_for(timeout=WIDGET_TIMEOUT_MS)
    if rel in live_widget_pages():
        page.wait_for_selector(".bptt-live[data-ms]", timeout=WIDGET_TIMEOUT_MS)
    if page.locator(".math").count():
        page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
        page.wait_for_function("() => !document.querySelector('.MathJax_Processing')", timeout=20_000)
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=20_000)
    page.wait_for_timeout(800)


_MEASURED: dict[tuple[str, str], dict[str, Any]] = {}


@pytest.fixture
def measured(browser, html_root):
    def _get(rel: str, viewport: str) -> dict[str, Any]:
        key = (rel, viewport)
        if key not in _MEASURED:
            context = browser.new_context(viewport=VIEWPORTS[viewport])
            page = context.new_page()
            try:
                page.goto((html_root / rel).as_uri(), wait_until="load")
                try:
                    _settle(page)
                except Exception as exc:  # measured once: every check of this page reports it
                    _MEASURED[key] = {"error": f"{rel} at {viewport} did not finish loading: {exc}".splitlines()[0]}
                    pytest.fail(_MEASURED[key]["error"])
                data = page.evaluate(MEASURE_JS)
                data["darkCards"] = page.evaluate(DARK_JS)
                page.add_script_tag(path=str(AXE))
                data["axe"] = page.evaluate("""async () => {
                  const r = await axe.run(document, {resultTypes: ['violations']});
                  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
                }""")
            finally:
                context.close()
            _MEASURED[key] = data
        if "error" in _MEASURED[key]:
            pytest.fail(_MEASURED[key]["error"])
        return _MEASURED[key]
    return _get


PAGES = book_pages()
BOTH = [(p, v) for p in PAGES for v in VIEWPORTS]
ids = [f"{p.split('/')[-1].removesuffix('.html')}-{v}" for p, v in BOTH]


@pytest.mark.parametrize("rel,viewport", BOTH, ids=ids)
def test_figures_fill_the_column_and_are_sharp(measured, rel, viewport):
    m = measured(rel, viewport)
    bad = []
    for f in m["figures"]:
        what = f"{'widget frame' if f['widget'] else 'figure'} …{f['src']}"
        if f["shown"] < FILL * m["colWidth"]:
            bad.append(f"{what}: shown {f['shown']:.0f} px wide in a {m['colWidth']:.0f} px column (< {FILL:.0%})")
        if f["natural"] < SHARPNESS * f["shown"]:
            bad.append(f"{what}: stored {f['natural']} px for {f['shown']:.0f} px shown (< {SHARPNESS}x)")
    assert not bad, f"{rel} at {viewport}:\n" + "\n".join(bad)


@pytest.mark.parametrize("rel", PAGES)
def test_no_horizontal_scroll_on_a_phone(measured, rel):
    m = measured(rel, "phone")
    assert m["scrollWidth"] <= m["vw"] + 1, f"{rel}: the page is {m['scrollWidth']} px wide in a {m['vw']} px window"


@pytest.mark.parametrize("rel,viewport", BOTH, ids=ids)
def test_every_control_is_labelled_and_shows_its_value(measured, rel, viewport):
    m = measured(rel, viewport)
    right = min(m["vw"], m["colLeft"] + m["colWidth"]) + 2
    bad = []
    for c in m["controls"]:
        name = f"{c['kind']} '{c['label']}'"
        if not c["label"]:
            bad.append(f"{name}: no label")
        if not c["value"] or c["valueBox"] is None:
            bad.append(f"{name}: its current value is not visible")
        elif c["valueBox"]["left"] < -1 or c["valueBox"]["right"] > right:
            bad.append(f"{name}: its value '{c['value']}' sits at x = {c['valueBox']['left']:.0f}..{c['valueBox']['right']:.0f}, "
                       f"outside the column (right edge {right:.0f})")
        off = [b for b in c["buttons"] if b["left"] < -1 or b["right"] > right]
        if off:
            bad.append(f"{name}: {len(off)} of its buttons lie outside the column")
    assert not bad, f"{rel} at {viewport}:\n" + "\n".join(bad)


@pytest.mark.parametrize("rel", PAGES)
def test_no_developer_output(measured, rel):
    m = measured(rel, "desktop")
    found = sorted({x.group(0) for x in DEVELOPER_OUTPUT.finditer(m["text"])})
    assert not found, f"{rel}: developer output on the page: {found}"
    assert m["stderr"] == 0, f"{rel}: {m['stderr']} stderr / traceback outputs on the page"


@pytest.mark.parametrize("rel", PAGES)
def test_captions_are_typeset(measured, rel):
    m = measured(rel, "desktop")
    bad = [f"{c[:90]!r}: {sorted({x.group(0) for x in RAW_CAPTION.finditer(c)})}" for c in m["captions"]
           if RAW_CAPTION.search(c)]
    assert not bad, f"{rel}: captions with untypeset text:\n" + "\n".join(bad)


@pytest.mark.parametrize("rel", PAGES)
def test_every_image_has_alt_text(measured, rel):
    m = measured(rel, "desktop")
    bad = [f"…{i['src']}: alt={i['alt']!r}" for i in m["images"]
           if not i["alt"] or not i["alt"].strip() or re.search(r"_images/|\.(png|svg|jpe?g)$", i["alt"])]
    assert not bad, f"{rel}: images without alt text that says what they show:\n" + "\n".join(bad)


@pytest.mark.parametrize("rel,viewport", BOTH, ids=ids)
def test_axe_finds_no_serious_violation(measured, rel, viewport):
    violations = measured(rel, viewport)["axe"]
    assert not violations, f"{rel} at {viewport}: axe-core: " + "; ".join(
        f"{v['impact']} {v['id']} ({v['help']}) at {v['nodes']}" for v in violations)


@pytest.mark.parametrize("rel", PAGES)
def test_shown_code_is_not_cut_off(measured, rel):
    cut = measured(rel, "desktop")["cutCode"]
    assert not cut, f"{rel}: code cells wider than the column (wrap at 88 characters): {cut}"


@pytest.mark.parametrize("rel", PAGES)
def test_figures_sit_on_a_light_card_in_dark_mode(measured, rel):
    dark = [c for c in measured(rel, "desktop")["darkCards"] if c["bg"] not in ("rgb(255, 255, 255)",)]
    assert not dark, f"{rel}: figures or widgets without a light card in dark mode: {dark}"


ANSWER_JS = """(div) => {
  const box = JSON.parse(div.dataset.box);
  const text = v => Array.isArray(v) ? '[' + v.map(text).join(', ') + ']' : String(v);
  const wrong = v => Array.isArray(v) ? v.map(wrong) : v * 1.5 + 1;
  return {right: text(box.expected), wrong: text(wrong(box.expected)), name: div.dataset.exercise};
}"""


@pytest.mark.parametrize("rel", [p for p in PAGES if Path(p).name[:2].isdigit()])
def test_answer_boxes_check_answers_in_the_browser(browser, html_root, rel):
    """Every exercise of the static page either has an answer box that accepts the right answer and
    rejects a wrong one (as the Python check would), or says how to run it; no verdict shows before an answer."""
    context = browser.new_context(viewport=VIEWPORTS["phone"])
    page = context.new_page()
    try:
        page.goto((html_root / rel).as_uri(), wait_until="load")
        boxes = page.locator(".bptt-answer")
        assert boxes.count(), f"{rel}: no exercise answer boxes (check(name, None) in the exercise cells)"
        for i in range(boxes.count()):
            div = boxes.nth(i)
            div.scroll_into_view_if_needed()
            if div.get_attribute("data-box") is None:
                assert "live notebook" in div.inner_text(), f"{rel}: exercise {i + 1} says not how to run it"
                continue
            answers = div.evaluate(ANSWER_JS)
            field, verdict = div.locator("input"), div.locator(".bptt-verdict")
            assert field.is_visible() and verdict.inner_text() == ""
            field.fill(answers["wrong"])
            div.get_by_role("button", name="Check").click()
            assert verdict.inner_text().startswith(f"✗ Not yet ({answers['name']})"), verdict.inner_text()
            field.fill(answers["right"])
            field.press("Enter")
            assert verdict.inner_text().startswith(f"✓ Correct ({answers['name']})"), verdict.inner_text()
    finally:
        context.close()


PLOTTING_CODE = re.compile(r"frame_widget\(|plt\.subplots\(|plt\.figure\(|\.savefig\(")


@pytest.mark.parametrize("rel", PAGES)
def test_plotting_code_is_collapsed(measured, rel):
    """Plotting and widget-building cells are tagged hide-input: the page reads as prose, math, figures
    and the code that teaches."""
    shown = [c.strip().splitlines()[0][:70] for c in measured(rel, "desktop")["shownCode"] if PLOTTING_CODE.search(c)]
    assert not shown, f"{rel}: {len(shown)} plotting cells shown (tag them hide-input): {shown}"
