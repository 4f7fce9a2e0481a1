"""Batch runs as separate processes: killed with SIGKILL and resumed, and split into shards."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from batch_support import cli_command, cli_env, final_files, ingest_store, journal_lines, write_jsonl

import verify.verifier
from verify.cli import main
from verify.testing import HashEmbedder
from verify.testing_server import FakeOpenAIServer, FaultRates

ARTICLES = 40
# transport faults only: the openai client retries them, so they never show in the outputs
TRANSIENT = FaultRates(rate_limit_retry_after=0.01, http_500=0.03, http_503=0.03)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = ingest_store(tmp_path)
    jsonl = write_jsonl(tmp_path / "articles.jsonl", ARTICLES)
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())
    (tmp_path / "verify.toml").write_text("kind_classifier = false\n")
    with FakeOpenAIServer(faults=TRANSIENT, latency=0.03) as server:
        env = cli_env(server.url)
        for key in ("VERIFY_BASE_URL", "VERIFY_MODEL", "VERIFY_API_KEY", "VERIFY_CALIBRATION"):
            monkeypatch.setenv(key, env[key])

        def args(run: str, *more: str) -> list[str]:
            cache = tmp_path / f"cache-{run}"
            head = ["batch", str(jsonl), "--run", str(tmp_path / run), "--store", str(store)]
            return [*head, "--cache-dir", str(cache), "--no-progress", *more]

        yield tmp_path, server, env, args


def wait_for_lines(path: Path, at_least: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= at_least:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"{path} did not reach {at_least} lines")


def test_sigkill_then_resume_writes_the_same_bytes_and_a_rerun_makes_no_calls(setup):
    tmp, server, env, args = setup
    assert main(args("whole")) == 0
    whole = final_files(tmp / "whole")

    proc = subprocess.Popen(
        cli_command(*args("killed", "--max-in-flight", "4")),
        env=env,
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    wait_for_lines(tmp / "killed" / "results.jsonl", 10, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    done_before = len(journal_lines(tmp / "killed"))
    assert 10 <= done_before < ARTICLES
    assert not (tmp / "killed" / "summary.json").exists()

    server.reset_stats()
    assert main(args("killed")) == 0
    assert 0 < server.stats.by_kind["claims"] <= ARTICLES - done_before + 4  # only the unfinished work
    keys = [line["key"] for line in journal_lines(tmp / "killed")]
    assert len(keys) == len(set(keys)) == ARTICLES
    assert final_files(tmp / "killed") == whole

    server.reset_stats()
    assert main(args("killed")) == 0
    assert server.stats.requests == 0
    assert final_files(tmp / "killed") == whole


def test_two_shards_in_two_processes_merge_into_the_single_run(setup):
    tmp, _server, env, args = setup
    assert main(args("whole")) == 0
    procs = [
        subprocess.Popen(
            cli_command(*args(f"shard{k}", "--shard", f"{k}/2")),
            env=env,
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for k in (1, 2)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    sizes = [len(journal_lines(tmp / f"shard{k}")) for k in (1, 2)]
    assert sum(sizes) == ARTICLES and min(sizes) > 0
    assert main(["runs", "merge", str(tmp / "merged"), str(tmp / "shard1"), str(tmp / "shard2")]) == 0
    assert final_files(tmp / "merged") == final_files(tmp / "whole")
    assert main(["runs", "merge", str(tmp / "merged"), str(tmp / "shard2")]) == 0  # again: nothing doubled
    assert len(journal_lines(tmp / "merged")) == ARTICLES
