"""The HTML preview in a real browser (Debian's chromium driven by Playwright): what a person sees.

Skipped, with the reason, only when /usr/bin/chromium or the playwright package is missing.
The site is served from a local http.server on 127.0.0.1 in a thread.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest
from test_preview_helpers import EXAMPLE, EXAMPLE_PROSPECTS, HOSTILE, seqc

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - CI installs it
    sync_playwright = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install playwright)"),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Two preview sites (the example's prospects, and hostile ones) served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("sites")
    for name, prospects in (("example", EXAMPLE_PROSPECTS), ("hostile", HOSTILE)):
        r = seqc("preview", EXAMPLE, "--prospects", prospects, "--format", "html", "-o", str(root / name))
        assert r.code == 0, r.err
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.problems = []  # console errors (a CSP violation is one) and dialogs
    p.on("console", lambda m: m.type == "error" and p.problems.append(f"console: {m.text}"))
    p.on("pageerror", lambda e: p.problems.append(f"pageerror: {e}"))

    def on_dialog(d):
        p.problems.append(f"dialog: {d.message}")
        d.dismiss()

    p.on("dialog", on_dialog)
    yield p
    context.close()


def visible_rows(page) -> int:
    return page.locator("#prospects tbody tr:visible").count()


def test_index_lists_and_filters_prospects(site, page):
    page.goto(f"{site}/example/index.html")
    assert page.title() == "Preview · q1_outbound"
    assert visible_rows(page) == 65
    assert page.locator("#shown").inner_text() == "65"
    page.fill("#q", "wisła")
    assert visible_rows(page) == 1
    assert page.locator("#shown").inner_text() == "1"
    assert "Łukasz Nowak" in page.locator("#prospects tbody tr:visible").inner_text()
    page.fill("#q", "")
    page.select_option("#seq", "enterprise")
    enterprise = visible_rows(page)
    assert 0 < enterprise < 65
    assert all(t == "enterprise" for t in page.locator("#prospects tbody tr:visible td:nth-child(4)").all_inner_texts())
    assert page.problems == []


def test_prospect_page_timeline_and_emails(site, page, tmp_path: Path):
    page.goto(f"{site}/example/index.html")
    page.click("text=Łukasz Nowak")
    page.wait_for_load_state()
    assert page.locator("h1.name").inner_text() == "Łukasz Nowak"
    lanes = page.locator(".timeline svg text.lane").all_text_contents()
    assert lanes == ["email", "linkedin", "call"]
    cards = page.locator("article.touch")
    assert cards.count() == 9  # 7 main-track touches and the 2 of the `hot` path
    assert page.locator(".timeline svg a").count() == 9
    value = page.locator("article.touch", has_text="value").first
    assert "opened(opener) and not clicked(opener)" in value.inner_text()
    assert "conditional" in value.inner_text()
    first_mail = page.locator(".mail").first
    assert "Quick question about Wisła Freight Systems" in first_mail.locator(".subject").inner_text()
    assert first_mail.locator(".body a").first.get_attribute("href") == "https://relaymark.example/ramp-calculator"
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=False)
    assert (tmp_path / "preview.png").stat().st_size > 10_000
    page.click("text=← All prospects")
    page.wait_for_load_state()
    assert page.url.endswith("/example/index.html")
    assert page.problems == []


def test_hostile_data_is_shown_literally_and_never_runs(site, page):
    page.goto(f"{site}/hostile/index.html")
    text = page.locator("#prospects").inner_text()
    assert "<script>alert(1)</script>" in text  # shown as text
    assert "O'Brien & Sons, \"Ltd\"" in text
    assert page.locator("script").count() == 1  # only the site's own filter script
    for link in page.locator("#prospects tbody a").all():
        link.click()
        page.wait_for_load_state()
        body = page.locator("body").inner_text()
        assert "alert(1)" not in body or "<" in body  # any alert text is the literal markup
        hrefs = [a.get_attribute("href") for a in page.locator("a").all()]
        assert all(h.startswith(("http://", "https://", "mailto:", "#", "../index.html")) for h in hrefs), hrefs
        assert page.locator("img, iframe, object, embed").count() == 0
        page.go_back()
        page.wait_for_load_state()
    carl = page.locator("#prospects tbody tr", has_text="carl@acme.example")
    assert '"><svg onload=alert(1)>' in carl.inner_text()
    assert page.problems == []  # no dialog, no script error, no CSP violation
