"""Screenshot a built page and its first widget before and after moving the widget's first control.

Usage: python scripts/screenshot.py _build/html/book/01_forward.html OUT_PREFIX [--widget N] [--control N]
       [--presses N] [--full]
Writes OUT_PREFIX-page.png (the viewport, or the full page with --full), OUT_PREFIX-before.png and
OUT_PREFIX-after.png (the widget, before and after moving one of its controls). Uses Debian's Chromium with the network off, like tests/browser.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))
from book_site import CHROMIUM, CHROMIUM_ARGS, move_control, widget_controls  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("out")
    ap.add_argument("--widget", type=int, default=0, help="which widget on the page (0 = first)")
    ap.add_argument("--full", action="store_true", help="screenshot the full page, not the viewport")
    ap.add_argument("--control", type=int, default=0, help="which control of the widget to move (0 = top)")
    ap.add_argument("--presses", type=int, default=1, help="how many steps to move the control")
    args = ap.parse_args()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.goto(Path(args.page).resolve().as_uri())
        page.wait_for_selector(".widget-subarea img.widget-image", timeout=30_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=f"{args.out}-page.png", full_page=args.full)
        box = page.locator(".widget-subarea").filter(has=page.locator("img.widget-image")).nth(args.widget)
        box.scroll_into_view_if_needed()
        box.screenshot(path=f"{args.out}-before.png")
        kind, control = widget_controls(box)[args.control]
        for _ in range(args.presses):
            move_control(page, kind, control)
        page.wait_for_timeout(500)
        box.screenshot(path=f"{args.out}-after.png")
        browser.close()
    print(f"wrote {args.out}-page.png, {args.out}-before.png, {args.out}-after.png")


if __name__ == "__main__":
    main()
