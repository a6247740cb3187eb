"""Regenerate docs/img/preview.png: a prospect page of the example's HTML preview, in headless chromium.

    .venv/bin/python docs/img/screenshot.py

Needs Debian's chromium (/usr/bin/chromium) and `pip install playwright` (no browser download).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    import os

    from playwright.sync_api import sync_playwright

    from compiler.cli_preview import preview_command

    os.chdir(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        code = preview_command("examples/outbound", "examples/outbound/prospects.csv", fmt="html", out_dir=str(site))
        assert code == 0
        page_file = next((site / "p").glob("lukasz-nowak-*.html"))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 1400}, device_scale_factor=1)
            page.goto(page_file.as_uri())
            out = ROOT / "docs" / "img" / "preview.png"
            page.screenshot(path=str(out), full_page=False)
            browser.close()
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
