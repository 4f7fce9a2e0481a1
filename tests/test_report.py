"""Report outputs without a browser: the HTML is escaped and self-contained, the Markdown summary,
ClaimReview drafts checked against schema.org, and the files ``verify check``, ``verify export`` and
batch runs write."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from batch_support import article_text, batch_config, ingest_store, run, write_jsonl
from report_support import HOSTILE, META, sample_report

import verify.verifier
from verify.cli import main
from verify.errors import ConfigError
from verify.report import ReviewAuthor, build_view, claim_reviews, render_html, render_markdown, safe_url
from verify.report.markdown import md_escape
from verify.testing import HashEmbedder
from verify.testing_server import FakeOpenAIServer

# The schema.org properties a ClaimReview export may use, per type (schema.org vocabulary), and the
# fields fact-check publishers require of a ClaimReview (claimReviewed, reviewRating with a scale or
# alternateName, author, itemReviewed, datePublished).
SCHEMA_PROPERTIES = {
    "ClaimReview": {
        "@context", "@type", "claimReviewed", "reviewRating", "itemReviewed", "author", "datePublished",
        "reviewBody", "citation", "creativeWorkStatus", "identifier", "url",
    },
    "Rating": {"@type", "ratingValue", "bestRating", "worstRating", "alternateName", "ratingExplanation"},
    "CreativeWork": {"@type", "headline", "name", "url", "publisher", "datePublished", "author"},
    "Organization": {"@type", "name", "url"},
}  # fmt: skip
REQUIRED = ("claimReviewed", "reviewRating", "itemReviewed", "author", "datePublished")


def check_schema(node: object) -> None:
    if isinstance(node, list):
        for item in node:
            check_schema(item)
    elif isinstance(node, dict):
        kind = node.get("@type")
        assert kind in SCHEMA_PROPERTIES, node
        assert set(node) <= SCHEMA_PROPERTIES[kind], set(node) - SCHEMA_PROPERTIES[kind]
        for value in node.values():
            check_schema(value)


def test_html_escapes_everything_from_the_article_and_the_sources():
    html = render_html(sample_report(), META)
    body = html.split("<body>", 1)[1]
    assert "window.__pwned" in body
    assert "<script>window" not in body and "<img" not in body and 'onerror="' not in body
    assert 'href="javascript:' not in body and "<b>joins" not in body
    assert body.count("<script>") == 1  # the page's own, pinned by hash in the CSP
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html.split("<body>")[0])  # no external asset
    assert "@media print" in html


def test_the_view_has_every_status_and_safe_links_only():
    view = build_view(sample_report(), META)
    assert [c.status for c in view.claims] == [
        "supported", "disputed", "unverifiable", "supported", "not_checkable", "error",
    ]  # fmt: skip
    assert view.counts == {"supported": 2, "disputed": 1, "unverifiable": 1, "not_checkable": 1, "error": 1}
    assert "".join(s.text for s in view.segments) == sample_report().article.text
    shared = [s for s in view.segments if s.claim_ids == ["c002", "c003"]]
    assert len(shared) == 1 and shared[0].status == "disputed" and shared[0].ends == ["c002", "c003"]
    assert view.claim("c002").citations[0].url is None
    assert view.claim("c002").citations[0].unsafe_url == "javascript:window.__pwned=3"
    assert view.claim("c001").confidence_words == "high"
    assert view.claim("c003").confidence_words.startswith("low")
    assert view.title == META["title"] and view.article_url == META["url"]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.org/a?b=1#c", True),
        ("http://example.org", True),
        ("HTTPS://EXAMPLE.ORG", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//example.org", False),
        ("https://exa mple.org", False),
        ('https://example.org/"onmouseover=x', False),
        ("vbscript:x", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_url_allows_http_and_https_only(url, ok):
    assert (safe_url(url) is not None) is ok


def test_markdown_summary_escapes_and_lists_everything():
    text = render_markdown(sample_report(), META)
    assert text.startswith("## Fact-check draft: Summit \\<i\\>report\\</i\\>")
    assert "2 supported · 1 disputed · 1 unverifiable · 1 not checkable · 1 error" in text
    assert "**DISPUTED**, confidence 0.64" in text
    assert re.findall(r"(?<!\\)<(?!https?://)", text) == []  # every "<" escaped, but for autolinks
    assert md_escape(HOSTILE) in text
    assert "<https://example.org/finland>" in text and "javascript:" not in text.replace("javascript:window", "")
    assert "### Set aside (not checkable)" in text and "### Errors" in text
    assert "draft, not a finding" in text
    assert md_escape("[a](javascript:x) *b*") == "\\[a\\]\\(javascript:x\\) \\*b\\*"


def test_claimreview_drafts_carry_the_required_schema_org_fields():
    author = ReviewAuthor(name="Test Desk", url="https://desk.example")
    reviews = claim_reviews(sample_report(), author, META, published=date(2024, 5, 3))
    assert [r["claimReviewed"] for r in reviews] == [c.text for c in sample_report().claims[:4]]  # judged only
    check_schema(reviews)
    for review in reviews:
        assert review["@context"] == "https://schema.org" and review["@type"] == "ClaimReview"
        assert all(review.get(field) for field in REQUIRED)
        assert review["creativeWorkStatus"] == "Draft" and review["reviewBody"].startswith("DRAFT for human review")
        rating = review["reviewRating"]
        assert rating["worstRating"] <= rating["ratingValue"] <= rating["bestRating"]
        assert review["datePublished"] == "2024-05-03"
        assert review["author"] == {"@type": "Organization", "name": "Test Desk", "url": "https://desk.example"}
        assert review["itemReviewed"] == {
            "@type": "CreativeWork",
            "headline": META["title"],
            "url": META["url"],
            "publisher": {"@type": "Organization", "name": META["outlet"]},
            "datePublished": "2024-05-01",
        }
    scale = {r["reviewRating"]["alternateName"]: r["reviewRating"]["ratingValue"] for r in reviews}
    assert scale == {"supported": 3, "disputed": 1, "unverifiable": 2}
    assert "url" not in reviews[1]["citation"][0]  # the javascript: source URL is dropped
    with pytest.raises(ConfigError, match="claimreview_author"):
        ReviewAuthor.from_config(None, None)


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``verify`` in process against the fake server, hash embeddings and an ingested store."""
    store = ingest_store(tmp_path)
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())
    with FakeOpenAIServer() as server:
        for name, value in {
            "VERIFY_BASE_URL": server.url,
            "VERIFY_MODEL": "fake-model",
            "VERIFY_API_KEY": "sk-test-not-a-real-key-123456",
            "VERIFY_CALIBRATION": "off",
            "VERIFY_KIND_CLASSIFIER": "false",
            "VERIFY_STORE": str(store),
        }.items():
            monkeypatch.setenv(name, value)
        yield server


def test_check_out_writes_the_page_beside_the_json_and_export_writes_the_rest(
    fake_cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    article = tmp_path / "alliance.txt"
    article.write_text(article_text(3) + f" {HOSTILE}", encoding="utf-8")
    assert main(["check", str(article), "--out", str(tmp_path / "out")]) == 0
    json_path, page = tmp_path / "out" / "alliance.report.json", tmp_path / "out" / "alliance.report.html"
    report = json.loads(json_path.read_text())
    html = page.read_text()
    assert 'class="badge' in html and "<img" not in html.split("<body>")[1]
    assert len(re.findall(r'<a class="badge', html)) == len(report["claims"])

    assert main(["export", str(json_path), "--format", "markdown"]) == 0
    assert (tmp_path / "out" / "alliance.report.md").read_text().startswith("## Fact-check draft")
    capsys.readouterr()
    assert main(["export", str(json_path), "--format", "claimreview"]) == 2
    assert "claimreview_author" in capsys.readouterr().err
    (tmp_path / "verify.toml").write_text('claimreview_author = "Test Desk"\n', encoding="utf-8")
    assert main(["export", str(json_path), "--format", "claimreview", "--out", str(tmp_path / "x")]) == 0
    reviews = json.loads((tmp_path / "x" / "alliance.report.claimreview-draft.json").read_text())
    assert len(reviews) == len(report["verdicts"]) and reviews[0]["author"]["name"] == "Test Desk"
    check_schema(reviews)
    assert main(["export", str(tmp_path / "missing.json")]) == 2
    (tmp_path / "junk.json").write_text("{}")
    assert main(["export", str(tmp_path / "junk.json")]) == 2
    assert "not a verify report" in capsys.readouterr().err


def test_a_batch_run_writes_a_page_per_report_and_an_index_page(tmp_path: Path):
    store_tmp = tmp_path
    ingest_store(store_tmp)
    feed = write_jsonl(tmp_path / "feed.jsonl", 3, extra=[{"id": "empty", "text": " "}])
    with FakeOpenAIServer() as server:
        outcome = run(batch_config(server.url, tmp_path), [str(feed)], tmp_path / "run")
    assert outcome.summary.articles.done == 3
    index = (tmp_path / "run" / "index.html").read_text()
    lines = [json.loads(line) for line in (tmp_path / "run" / "index.jsonl").read_text().splitlines()]
    for line in lines:
        if "report" in line:
            page = line["report"].removesuffix(".json") + ".html"
            assert f'href="{page}"' in index
            html = (tmp_path / "run" / page).read_text()
            assert "Test desk" in html and "checked</dt>" not in html  # no run timestamp in a batch page
    assert 'data-name="empty"' in index and "InputError" in index
