"""Report pages and ``verify serve`` in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; scripts/test.sh installs it). Select with ``-m browser``; screenshots go to each test's
tmp directory."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from batch_support import cli_command, cli_env, ingest_store
from report_support import META, sample_report

from verify.report.html import IndexRow, render_html, render_index_html
from verify.testing_server import FakeOpenAIServer

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing: scripts/test.sh installs it (apt-get install chromium)")
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    page.requests = []  # type: ignore[attr-defined]
    page.on("request", lambda request: page.requests.append(request.url))  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
    yield page
    context.close()


def visible_detail(page) -> str:
    return page.evaluate(
        "Array.from(document.querySelectorAll('.claim-detail')).filter(e => e.offsetParent !== null)"
        ".map(e => e.dataset.claim).join(' ')"
    )


def test_report_page_shows_spans_labels_citations_and_runs_no_injected_script(page, tmp_path: Path):
    path = tmp_path / "report.html"
    path.write_text(render_html(sample_report(), META), encoding="utf-8")
    page.goto(path.as_uri())

    # highlighted spans, coloured and labelled by verdict
    marks = page.locator("mark.span")
    assert marks.count() == 5  # five sentences hold claims; the headline holds none
    assert page.locator("mark.span[data-claims='c002 c003']").count() == 1
    assert page.locator("mark.span.st-disputed").inner_text().startswith("Sweden joined in 2022")
    badges = page.locator("a.badge").all_inner_texts()
    assert [b.lower() for b in badges] == [
        "1 supported",
        "2 disputed",
        "3 unverifiable",
        "4 supported",
        "5 not checkable",
        "6 error",
    ]
    counts = {s: page.locator(f"[data-count={s}]").inner_text() for s in ("supported", "disputed", "error")}
    assert counts == {"supported": "2", "disputed": "1", "error": "1"}

    # the first claim is shown with its citation: the quote highlighted in its passage, the source linked
    assert visible_detail(page) == "c001"
    detail = page.locator("#claim-c001")
    assert "confidence high, 0.82" in detail.inner_text()
    assert detail.locator("mark.quote").inner_text() == "Finland became the 31st member of NATO on 4 April 2023."
    assert detail.locator(".passage").inner_text().startswith("Finland joins NATO.")
    link = detail.locator(".citation a")
    assert link.get_attribute("href") == "https://example.org/finland" and link.inner_text() == "Finland joins NATO"
    assert "Test desk" in detail.inner_text() and "2023-04-04" in detail.inner_text()

    # keyboard: next / previous move the focus and the shown claim
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.dataset.claim") == "c002"
    assert visible_detail(page) == "c002"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.dataset.claim") == "c004"
    page.keyboard.press("k")
    assert visible_detail(page) == "c003"
    assert "The model said supported" in page.locator("#claim-c003").inner_text()
    page.locator("#next-claim").click()
    assert visible_detail(page) == "c004"
    page.locator("#claim-c004 .citation a").wait_for()
    assert "flagged by the ingest scan" in page.locator("#claim-c004").inner_text()

    # hostile markup from the article and from a source: shown as text, never run, never linked
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("document.scripts.length") == 1  # the page's own
    assert page.evaluate("document.images.length") == 0
    assert "<script>window.__pwned = 1</script>" in page.locator("#article").inner_text()
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs and all(h.startswith(("#", "https://", "http://")) for h in hrefs)
    page.locator("a.badge[data-claim=c002]").click()  # a click selects too
    assert visible_detail(page) == "c002"
    sweden = page.locator("#claim-c002")
    assert "javascript:window.__pwned=3" in sweden.inner_text()  # shown as text
    assert sweden.locator(".citation a").count() == 0
    assert page.evaluate("window.__pwned") is None

    # failures and set-aside claims are listed
    lists = page.locator("section.lists").inner_text()
    assert "The expansion was a reckless provocation." in lists
    assert "TimeoutError: the model took too long" in lists
    assert "sentences 7-9: InvalidOutputError" in lists

    # no request leaves the page, no script error
    assert all(u.startswith(("file:", "data:", "about:")) for u in page.requests)
    assert page.errors == []
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000

    # print: every claim's details are on paper
    page.emulate_media(media="print")
    assert visible_detail(page).split() == ["c001", "c002", "c003", "c004", "c005", "c006"]


def test_batch_index_sorts_by_disputed_claims(page, tmp_path: Path):
    rows = [
        IndexRow(order=1, name="a.txt", status="done", complete=True, claims=3, checkable=3,
                 verdicts={"supported": 3}, report_html="reports/a.report.html"),
        IndexRow(order=2, name="b.txt", status="done", complete=True, claims=4, checkable=4,
                 verdicts={"disputed": 3, "supported": 1}, report_html="reports/b.report.html"),
        IndexRow(order=3, name="c<script>window.__pwned=1</script>.txt", status="failed",
                 error="input: InputError: empty"),
        IndexRow(order=4, name="d.txt", status="done", claims=2, checkable=2, verdicts={"disputed": 1}, failures=1,
                 report_html="reports/d.report.html"),
    ]  # fmt: skip
    path = tmp_path / "index.html"
    path.write_text(render_index_html(rows, model="fake-model", totals={"complete": 2}), encoding="utf-8")
    page.goto(path.as_uri())
    names = "() => Array.from(document.querySelectorAll('#articles tbody tr')).map(r => r.dataset.name)"
    assert page.evaluate(names)[0] == "a.txt"
    page.locator("#sort-disputed").click()
    assert page.evaluate(names)[:2] == ["b.txt", "d.txt"]
    page.locator("#sort-disputed").click()
    assert page.evaluate(names)[-1] == "b.txt"
    assert page.locator("a[href='reports/b.report.html']").count() == 1
    assert "input: InputError: empty" in page.locator("#articles").inner_text()
    assert page.evaluate("window.__pwned") is None
    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_verify_serve_checks_an_article_submitted_through_the_page(page, tmp_path: Path):
    store = ingest_store(tmp_path)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with FakeOpenAIServer(latency=0.05) as server:
        command = cli_command("serve", "--port", str(port), "--store", str(store))
        env = {**cli_env(server.url), "VERIFY_KIND_CLASSIFIER": "false"}
        proc = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "verify serve did not start"
                time.sleep(0.2)
            page.goto(base + "/")
            page.fill("#text", _article())
            page.fill("#title", "Alliance <img src=x onerror=window.__pwned=1>")
            page.fill("#outlet", "Test desk")
            page.fill("#date", "2024-05-01")
            page.click("#submit")
            try:
                page.wait_for_url("**/reports/**", timeout=60_000)
            except Exception:
                pytest.fail(f"no report page; the browser shows {page.url}: {page.locator('body').inner_text()}")
            report_id = page.url.split("/reports/")[1].split("?")[0]
            shown = [b.lower() for b in page.locator("a.badge").all_inner_texts()]
            report = httpx.get(f"{base}/reports/{report_id}").json()
            order = {c["id"]: n for n, c in enumerate(report["claims"], 1)}
            expected = {order[v["claim_id"]]: v["label"] for v in report["verdicts"]}
            assert expected and all(f"{n} {label}" in shown for n, label in expected.items())
            assert report["article"]["headline"] == "Alliance report"  # the textarea's CRLF lines read as lines
            assert page.locator("h1").inner_text() == "Alliance <img src=x onerror=window.__pwned=1>"
            assert page.evaluate("window.__pwned") is None
            assert all(u.startswith(base) for u in page.requests)
            page.screenshot(path=str(tmp_path / "serve-report.png"), full_page=True)
            assert server.stats.requests > 0
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _article() -> str:
    return (
        "Alliance report\n\nFinland became the 31st member of NATO on 4 April 2023. "
        "Sweden became the 32nd member of NATO on 7 March 2024. The expansion was a reckless provocation."
    )
