"""Render a report JSON as its HTML page and save a screenshot of it (for the README).

    python scripts/screenshot_report.py out/a2-vilnius-summit.report.json docs/report.png [--claim c004]

Uses Debian's chromium (/usr/bin/chromium) through Playwright, as the browser tests do; the page is
written beside the PNG (``.html``) and opened from disk, so nothing is fetched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verify.report.cli import load_report  # noqa: E402
from verify.report.html import render_html  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a <name>.report.json file")
    parser.add_argument("png", type=Path, help="where to save the screenshot")
    parser.add_argument("--claim", help="the claim to show selected (default: the first disputed, else the first)")
    parser.add_argument("--width", type=int, default=1366)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--full-page", action="store_true", help="the whole page, not one screen")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    report, meta = load_report(args.report)
    claim = args.claim or next(
        (v.claim_id for v in report.verdicts if v.label == "disputed"), report.claims[0].id if report.claims else ""
    )
    page_path = args.png.with_suffix(".html")
    page_path.parent.mkdir(parents=True, exist_ok=True)
    page_path.write_text(render_html(report, meta), encoding="utf-8")

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(page_path.resolve().as_uri() + (f"#claim-{claim}" if claim else ""))
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(args.png), full_page=args.full_page)
        browser.close()
    print(f"wrote {args.png} (page: {page_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
