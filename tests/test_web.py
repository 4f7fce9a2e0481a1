"""The ``verify serve`` app in process (FastAPI's test client) over one Verifier, against the fake
OpenAI-compatible server and hash embeddings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from batch_support import article_text, batch_config, ingest_store
from fastapi.testclient import TestClient

from verify.cli import main
from verify.report.claimreview import ReviewAuthor
from verify.testing import HashEmbedder
from verify.testing_server import FakeOpenAIServer
from verify.verifier import Verifier
from verify.web import create_app

TOKEN = "a-long-enough-test-token"


@pytest.fixture
def server():
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def verifier(tmp_path: Path, server: FakeOpenAIServer):
    ingest_store(tmp_path)
    with Verifier(batch_config(server.url, tmp_path), embedder=HashEmbedder()) as v:
        yield v


def client_for(verifier: Verifier, **options) -> TestClient:
    options.setdefault("allowed_hosts", None)
    return TestClient(create_app(verifier, **options))


def test_post_check_returns_the_report_and_keeps_it_under_its_id(verifier: Verifier):
    with client_for(verifier, author=ReviewAuthor(name="Test Desk", url="https://desk.example")) as client:
        response = client.post(
            "/check", json={"text": article_text(1), "outlet": "Test desk", "url": "https://news.example/a"}
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["verdicts"] and report["claims"]
        report_id = response.headers["X-Report-Id"]
        assert response.headers["Location"] == f"/reports/{report_id}"
        again = client.get(f"/reports/{report_id}")
        assert again.json()["verdicts"] == report["verdicts"]
        page = client.get(f"/reports/{report_id}?format=html")
        assert page.headers["content-type"].startswith("text/html")
        assert "Test desk" in page.text and 'class="badge' in page.text
        markdown = client.get(f"/reports/{report_id}?format=markdown")
        assert markdown.text.startswith("## Fact-check draft")
        reviews = client.get(f"/reports/{report_id}?format=claimreview").json()
        assert len(reviews) == len(report["verdicts"])
        assert reviews[0]["author"]["name"] == "Test Desk"
        assert reviews[0]["itemReviewed"]["url"] == "https://news.example/a"


def test_errors_are_json_errors_and_leave_no_report(verifier: Verifier, server: FakeOpenAIServer):
    with client_for(verifier) as client:
        empty = client.post("/check", json={"text": "   "})
        assert empty.status_code == 400
        assert empty.json()["error"]["type"] == "InputError"
        bad_date = client.post("/check", json={"text": article_text(2), "date": "May 2024"})
        assert bad_date.status_code == 400 and "ISO date" in bad_date.json()["error"]["message"]
        unknown = client.post("/check", json={"text": article_text(2), "colour": "red"})
        assert unknown.status_code == 422 and unknown.json()["error"]["type"] == "InvalidRequest"
        too_long = client.post("/check", json={"text": "x " * 40_000})
        assert too_long.status_code == 400 and "max_article_chars" in too_long.json()["error"]["message"]
        assert client.get("/reports/nope").status_code == 404
        server.fail_all = "auth"
        failed = client.post("/check", json={"text": article_text(3)})
        assert failed.status_code == 503
        assert failed.json()["error"]["type"] == "AuthenticationError"
        assert "X-Report-Id" not in failed.headers
        assert not client.app.state.serve.reports  # nothing kept: no half report
        html = client.post("/check", json={"text": article_text(3)}, headers={"Accept": "text/html"})
        assert html.status_code == 503 and "could not be checked" in html.text


def test_the_form_starts_a_check_and_its_page_leads_to_the_report(verifier: Verifier):
    with client_for(verifier) as client:
        response = client.post(
            "/submit", data={"text": article_text(4), "title": "Alliance <b>report</b>"}, follow_redirects=False
        )
        assert response.status_code == 303
        job = response.headers["location"]
        deadline = time.monotonic() + 30
        while client.get(job + "?format=json").json()["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.get(job + "?format=json").json()["status"] == "done"
        page = client.get(job)  # follows the redirect to the report page
        assert page.status_code == 200 and "Alliance &lt;b&gt;report&lt;/b&gt;" in page.text
        upload = client.post(
            "/submit", files={"file": ("a.txt", b"\x89PNG\x00\x00", "text/plain")}, follow_redirects=False
        )
        assert upload.status_code == 400 and "binary" in upload.text
        empty = client.post("/submit", data={"text": ""}, follow_redirects=False)
        assert empty.status_code == 400 and "empty" in empty.text


def test_an_access_token_is_required_when_set(verifier: Verifier):
    with client_for(verifier, token=TOKEN) as client:
        assert client.get("/").status_code == 401
        assert client.post("/check", json={"text": article_text(5)}).status_code == 401
        wrong = client.get("/", headers={"Authorization": "Bearer wrong-token-wrong-token"})
        assert wrong.status_code == 401
        assert client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert client.get("/healthz", headers={"X-Verify-Token": TOKEN}).status_code == 200
        opened = client.get(f"/?token={TOKEN}", follow_redirects=False)
        assert opened.status_code == 303 and "token" not in opened.headers["location"]
        assert client.get("/").status_code == 200  # the cookie carries it from now on


def test_only_loopback_host_names_and_same_origin_posts_are_served(verifier: Verifier):
    with client_for(verifier, allowed_hosts=("127.0.0.1", "localhost")) as client:
        assert client.get("/healthz").status_code == 403  # Host: testserver (a rebinding name)
        assert client.get("http://127.0.0.1/healthz").status_code == 200
        cross = client.post(
            "http://127.0.0.1/submit", data={"text": article_text(6)}, headers={"Origin": "https://evil.example"}
        )
        assert cross.status_code == 403


def test_serve_refuses_another_host_without_a_token(capsys: pytest.CaptureFixture[str]):
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "access token" in capsys.readouterr().err
    assert main(["serve", "--host", "0.0.0.0", "--token", "short"]) == 2
    assert "16 characters" in capsys.readouterr().err


def test_serve_stops_before_listening_without_a_collection(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["serve", "--store", str(tmp_path / "none"), "--port", "1"]) == 2
    assert "verify ingest" in capsys.readouterr().err
