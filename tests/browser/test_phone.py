"""Figures drawn for the phone (issue 18, item 9), checked in Chromium at 390 px and 1280 px.

Every stored figure and widget frame records its smallest text as a fraction of its width (class
``bptt-text-N``, N in 1/10000ths; the phone rendering of a static figure in its <picture>'s
``data-phone-text``), written by bptt.present.plotting, which knows the font sizes it drew. The browser
multiplies the fraction of the image it actually shows (``currentSrc``) by the width it shows it at: that
is the size of the smallest text the reader sees. At 390 px it must be >= 9 px (the phone rendering is
the one served there, and only there). Display equations wider than the column scroll in their own box
and show it; tables scroll in their box; widgets reserve their space while they load."""
from __future__ import annotations

import pytest

from book_site import book_pages, frame_widget_pages, live_widget_pages, serve_directory
from test_site_quality import VIEWPORTS, _settle

MIN_TEXT = 9.0   # CSS px at 390 px (bptt.plotting.PHONE_MIN_TEXT_PX)

TEXT_JS = """() => {
  const art = document.querySelector('article.bd-article') || document.querySelector('main');
  const visible = el => { const r = el.getBoundingClientRect(); return el.offsetParent !== null && r.width > 0 && r.height > 0; };
  const fraction = img => {
    const pic = img.closest('picture.bptt-picture');
    if (pic && (img.currentSrc || '').includes('/phone-')) return parseInt(pic.dataset.phoneText, 10) / 1e4;
    const cls = Array.from(img.classList).find(c => /^bptt-text-\\d+$/.test(c));
    return cls ? parseInt(cls.slice(10), 10) / 1e4 : null;
  };
  return Array.from(art.querySelectorAll('.cell_output img, figure img, img.widget-image')).filter(visible)
    .map(img => ({src: (img.currentSrc || img.src).split('/').pop().slice(0, 40), widget: img.classList.contains('widget-image'),
                  picture: !!img.closest('picture.bptt-picture'), phone: (img.currentSrc || '').includes('/phone-'),
                  fraction: fraction(img), shown: img.getBoundingClientRect().width}));
}"""

OVERFLOW_JS = """() => {
  const art = document.querySelector('article.bd-article');
  const vw = document.documentElement.clientWidth;
  // a display equation scrolls in its div or in MathJax's container (the theme gives it overflow-x: auto)
  const maths = Array.from(art.querySelectorAll('div.math, div.math > mjx-container[display=true]'))
    .filter(m => m.offsetParent !== null && getComputedStyle(m).overflowX !== 'visible')
    .map(m => ({id: (m.closest('div.math').id || m.textContent).slice(0, 40), over: m.scrollWidth > m.clientWidth + 1,
                marked: m.classList.contains('bptt-scrolls'), focusable: m.tabIndex >= 0,
                shadow: m.scrollLeft > 1 || (getComputedStyle(m).maskImage || getComputedStyle(m).webkitMaskImage || '').includes('gradient'),
                right: m.getBoundingClientRect().right, vw}));
  const tables = Array.from(art.querySelectorAll('table')).filter(t => t.offsetParent !== null).map(t => {
    const box = t.closest('.pst-scrollable-table-container') || t.parentElement;
    return {what: (t.querySelector('th, td') || t).textContent.trim().slice(0, 30), wide: t.scrollWidth > box.clientWidth + 1,
            overflow: getComputedStyle(box).overflowX, marked: box.classList.contains('bptt-scrolls')
              && (getComputedStyle(box).maskImage || getComputedStyle(box).webkitMaskImage || '').includes('gradient'),
            right: box.getBoundingClientRect().right, vw};
  });
  return {maths, tables};
}"""

PAGES = book_pages()
_SEEN: dict[tuple[str, str], dict] = {}


@pytest.fixture
def looked(browser, html_root):
    def _get(rel: str, viewport: str) -> dict:
        if (rel, viewport) not in _SEEN:
            context = browser.new_context(viewport=VIEWPORTS[viewport])
            page = context.new_page()
            try:
                page.goto((html_root / rel).as_uri(), wait_until="load")
                _settle(page)
                page.wait_for_timeout(600)   # phone.js marks scrolling equations once MathJax is done
                _SEEN[(rel, viewport)] = {"images": page.evaluate(TEXT_JS), **page.evaluate(OVERFLOW_JS)}
            finally:
                context.close()
        return _SEEN[(rel, viewport)]
    return _get


@pytest.mark.parametrize("rel", PAGES)
def test_figure_text_is_legible_on_a_phone(looked, rel):
    """The smallest text of every figure and frame, at the size the reader sees it at 390 px."""
    bad = []
    for img in looked(rel, "phone")["images"]:
        what = f"{'frame' if img['widget'] else 'figure'} {img['src']}"
        if img["fraction"] is None:
            bad.append(f"{what}: carries no bptt-text class (drawn without plotting.use_book_style?)")
            continue
        px = img["fraction"] * img["shown"]
        if px < MIN_TEXT - 0.05:
            bad.append(f"{what}: smallest text {px:.1f} px (< {MIN_TEXT:g} px) shown {img['shown']:.0f} px wide")
    assert not bad, f"{rel} at 390 px:\n" + "\n".join(bad)


@pytest.mark.parametrize("rel", PAGES)
def test_phone_rendering_is_served_only_on_a_phone(looked, rel):
    phone = [i for i in looked(rel, "phone")["images"] if i["picture"] and not i["phone"]]
    desktop = [i for i in looked(rel, "desktop")["images"] if i["phone"]]
    assert not phone, f"{rel}: the desktop image is shown at 390 px: {[i['src'] for i in phone]}"
    assert not desktop, f"{rel}: the phone image is shown at 1280 px: {[i['src'] for i in desktop]}"


@pytest.mark.parametrize("rel", PAGES)
def test_wide_equations_and_tables_scroll_in_their_box_and_show_it(looked, rel):
    m = looked(rel, "phone")
    bad = [f"equation {e['id']}: overflows unmarked (class {e['marked']}, focusable {e['focusable']}, faded edge {e['shadow']})"
           for e in m["maths"] if e["over"] and not (e["marked"] and e["focusable"] and e["shadow"])]
    bad += [f"equation {e['id']}: its box ends at {e['right']:.0f} px in a {e['vw']} px window"
            for e in m["maths"] if e["right"] > e["vw"] + 1]
    bad += [f"table '{t['what']}': box ends at {t['right']:.0f} px in a {t['vw']} px window" for t in m["tables"]
            if t["right"] > t["vw"] + 1]
    bad += [f"table '{t['what']}': wider than its box but the box does not scroll ({t['overflow']}) or fade its cut edge"
            for t in m["tables"] if t["wide"] and (t["overflow"] not in ("auto", "scroll") or not t["marked"])]
    assert not bad, f"{rel} at 390 px:\n" + "\n".join(bad)


@pytest.mark.parametrize("rel", sorted(set(frame_widget_pages()) | set(live_widget_pages())))
def test_widgets_reserve_their_space_while_loading(browser, html_root, rel):
    """With the widget library held back, every widget's output already takes (most of) its height."""
    with serve_directory(html_root) as base:
        context = browser.new_context(viewport=VIEWPORTS["phone"])
        page = context.new_page()
        try:
            page.route("**/embed-amd.js", lambda route: route.abort())
            page.goto(f"{base}/{rel}", wait_until="load")
            page.wait_for_timeout(300)
            reserved = page.evaluate("""() => Array.from(document.querySelectorAll(
                'script[type="application/vnd.jupyter.widget-view+json"]')).map(s => s.parentElement.getBoundingClientRect().height)""")
        finally:
            context.close()
    assert reserved and all(h >= 150 for h in reserved), f"{rel}: widget outputs reserve {reserved} px while loading"


CODE_JS = """() => {
  const ctx = document.createElement('canvas').getContext('2d');
  const pres = Array.from(document.querySelectorAll('article .cell_input pre')).filter(p => p.checkVisibility() && p.getBoundingClientRect().height > 0);
  const bad = [];
  pres.forEach(pre => {
    if (pre.innerText.replace(/\\n+$/, '') !== pre.textContent.replace(/\\n+$/, '')) bad.push('copied text changes: ' + pre.textContent.slice(0, 40));
    const lines = pre.querySelectorAll('.bptt-code-line');
    if (!lines.length && pre.textContent.trim()) { bad.push('lines not wrapped in spans: ' + pre.textContent.slice(0, 40)); return; }
    ctx.font = getComputedStyle(pre).font;
    const ch = ctx.measureText('0').width;
    lines.forEach(span => {
      const range = document.createRange(); range.selectNodeContents(span);
      const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
      if (rects.length < 2) return;
      const top = Math.min(...rects.map(r => r.top));
      const later = rects.filter(r => r.top > top + 2);
      if (!later.length) return;
      const indent = span.textContent.match(/^ */)[0].length;
      const start = span.getBoundingClientRect().left + indent * ch;    // where the line's code starts
      const cont = Math.min(...later.map(r => r.left));                 // where its wrapped part starts
      if (cont < start + ch) bad.push(`wrapped line starts at ${(cont - start).toFixed(0)} px from its indent: ` + span.textContent.trim().slice(0, 40));
    });
  });
  return bad;
}"""


@pytest.mark.parametrize("rel", [p for p in PAGES if p.split("/")[-1][:2].isdigit()])
def test_wrapped_code_keeps_its_indentation_on_a_phone(browser, html_root, rel):
    """At 390 px long code lines wrap; the wrapped part starts deeper than the line's own indent, and the
    text a reader copies is unchanged."""
    context = browser.new_context(viewport=VIEWPORTS["phone"])
    page = context.new_page()
    try:
        page.goto((html_root / rel).as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        bad = page.evaluate(CODE_JS)
    finally:
        context.close()
    assert not bad, f"{rel} at 390 px:\n" + "\n".join(bad[:10])


@pytest.mark.parametrize("rel", frame_widget_pages())
def test_phone_frames_follow_the_controls(browser, html_root, rel):
    """At 390 px a frame widget shows its phone frames, and moving each control switches them."""
    from book_site import move_control, widget_controls
    context = browser.new_context(viewport=VIEWPORTS["phone"])
    page = context.new_page()
    try:
        page.goto((html_root / rel).as_uri(), wait_until="load")
        shown = page.locator(".bptt-frame-widget img.widget-image").filter(visible=True)
        shown.first.wait_for(timeout=30_000)
        box = page.locator(".bptt-frame-widget").first
        frame = lambda: box.locator("img.widget-image").filter(visible=True).first.get_attribute("class")
        if box.locator(".bptt-phone-frames").count():
            assert box.locator(".bptt-phone-frames img.widget-image").filter(visible=True).count() == 1
            assert box.locator(".bptt-desktop-frames img.widget-image").filter(visible=True).count() == 0
        for kind, control in widget_controls(box):
            before = frame()
            move_control(page, kind, control)
            page.wait_for_timeout(300)
            assert frame() != before, f"{rel}: moving the {kind} did not switch the phone frame"
    finally:
        context.close()
