"""Batch runs in one process, against the fake OpenAI-compatible server and hash embeddings."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from batch_support import article_text, batch_config, final_files, ingest_store, journal_lines, run, write_jsonl
from conftest import PROMPTS_DIR

import verify.verifier
from verify.batch.cache import CachingChatBackend, ResponseCache
from verify.batch.inputs import collect_inputs, group_items, in_shard
from verify.batch.limits import LimitedChatBackend, RateLimiter, estimate_tokens
from verify.batch.merge import merge_runs
from verify.batch.results import JOURNAL, Journal, ResultRecord, read_journal
from verify.batch.rundir import RunInUseError, RunMismatchError, locked
from verify.batch.runner import BatchOptions, run_batch
from verify.batch.summary import estimate_cost
from verify.cli import main
from verify.config import ModelPrice, VerifyConfig
from verify.errors import AuthenticationError, BackendError, EndpointUnreachableError, InputError, StoreError
from verify.llm import ChatRequest, ChatResult
from verify.models import Usage
from verify.retrieval import HybridRetriever
from verify.testing import FakeChatModel, HashEmbedder, extraction_answer
from verify.testing_server import FakeOpenAIServer, FaultRates


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return ingest_store(tmp_path)


@pytest.fixture
def server():
    with FakeOpenAIServer() as srv:
        yield srv


# ----- inputs ----------------------------------------------------------------------------------
def test_inputs_from_files_directories_globs_and_jsonl(tmp_path: Path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.txt").write_text(article_text(1))
    (folder / "sub" / "two.md").write_text(article_text(2))
    (folder / "skip.pdf").write_text("not an article")
    (tmp_path / "three.txt").write_text(article_text(3))
    (tmp_path / "same-as-one.txt").write_text(article_text(1))
    (tmp_path / "empty.txt").write_text("  \n")
    jsonl = write_jsonl(tmp_path / "more.jsonl", 2, extra=[{"id": 7, "text": article_text(9), "title": "T", "x": 1}])

    inputs = collect_inputs(
        [
            str(folder),
            str(tmp_path / "th*.txt"),
            str(tmp_path / "same-as-one.txt"),
            str(tmp_path / "empty.txt"),
            str(jsonl),
        ],
        max_chars=10_000,
        date="2024-01-02",
    )
    names = [a.id for a in inputs]
    assert names == [
        str(folder / "one.txt"),
        str(folder / "sub" / "two.md"),
        str(tmp_path / "three.txt"),
        str(tmp_path / "same-as-one.txt"),
        str(tmp_path / "empty.txt"),
        "a000",
        "a001",
        "7",
    ]
    assert inputs[0].date == "2024-01-02" and inputs[5].date == "2024-05-01"  # the default fills gaps only
    assert inputs[5].meta() == {
        "id": "a000",
        "outlet": "Test desk",
        "date": "2024-05-01",
        "metadata": {"section": "world"},
    }
    assert inputs[7].title == "T" and inputs[7].metadata == {"x": 1}
    assert inputs[4].problem and "empty" in inputs[4].problem
    items = group_items(inputs)
    assert len(items) == 7  # one.txt and same-as-one.txt are one article
    assert items[0].names == [str(folder / "one.txt"), str(tmp_path / "same-as-one.txt")]


def test_inputs_refuse_two_articles_under_one_name_and_missing_files(tmp_path: Path):
    a = write_jsonl(tmp_path / "a.jsonl", 1)
    b = tmp_path / "b.jsonl"
    b.write_text(json.dumps({"id": "a000", "text": "Something else entirely happened today."}) + "\n")
    with pytest.raises(InputError, match="a000"):
        collect_inputs([str(a), str(b)], max_chars=10_000)
    with pytest.raises(InputError, match="not found"):
        collect_inputs([str(tmp_path / "missing.txt")], max_chars=10_000)
    with pytest.raises(InputError, match="matches"):
        collect_inputs([str(tmp_path / "nothing-*.txt")], max_chars=10_000)


def test_shards_partition_the_keys():
    keys = [f"{i:024x}" for i in range(1000, 1100)]
    shards = [{k for k in keys if in_shard(k, (s, 3))} for s in (1, 2, 3)]
    assert set().union(*shards) == set(keys)
    assert sum(len(s) for s in shards) == len(keys)
    assert all(shards)


# ----- journal ---------------------------------------------------------------------------------
def record(key: str) -> ResultRecord:
    return ResultRecord(key=key, names=[key], status="done", complete=True)


def test_journal_ignores_a_torn_last_line_and_cuts_it_before_appending(tmp_path: Path):
    with Journal(tmp_path) as journal:
        journal.append(record("k1"))
        journal.append(record("k2"))
    path = tmp_path / JOURNAL
    whole = path.read_bytes()
    path.write_bytes(whole + record("k3").model_dump_json().encode()[:25])  # a crash mid-write
    assert list(read_journal(tmp_path)) == ["k1", "k2"]
    with Journal(tmp_path) as journal:
        journal.append(record("k4"))
    assert list(read_journal(tmp_path)) == ["k1", "k2", "k4"]
    assert path.read_bytes().startswith(whole) and path.read_bytes().count(b"\n") == 3


# ----- runs ------------------------------------------------------------------------------------
def test_batch_writes_reports_index_summary_and_a_rerun_costs_nothing(tmp_path: Path, store: Path, server):
    config = batch_config(server.url, tmp_path)
    jsonl = write_jsonl(
        tmp_path / "a.jsonl", 6, extra=[{"id": "copy-of-a002", "text": article_text(2), "date": "2024-05-01"}]
    )
    outcome = run(config, [str(jsonl)], tmp_path / "run")
    assert outcome.fatal is None
    summary = outcome.summary
    assert (summary.articles.inputs, summary.articles.unique, summary.articles.complete) == (7, 6, 6)
    assert server.stats.by_kind == {"claims": 6, "verdict": 12}  # the copy was not checked again
    assert summary.usage.calls == 18 and summary.checkable == 12 and sum(summary.verdicts.values()) == 12

    index = [json.loads(line) for line in (tmp_path / "run" / "index.jsonl").read_text().splitlines()]
    assert [row["name"] for row in index] == ["a000", "a001", "a002", "a003", "a004", "a005", "copy-of-a002"]
    assert index[2]["key"] == index[6]["key"]
    assert index[0]["input"] == {
        "id": "a000",
        "outlet": "Test desk",
        "date": "2024-05-01",
        "metadata": {"section": "world"},
    }
    report = json.loads((tmp_path / "run" / index[6]["report"]).read_text())
    assert report["article"]["source"] == "copy-of-a002" and report["article"]["date"] == "2024-05-01"
    assert report["input"]["id"] == "copy-of-a002"
    assert "timings" not in report["run"] and "started_at" not in report["run"]
    assert len(journal_lines(tmp_path / "run")) == 6
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert "sk-test" not in (tmp_path / "run" / "manifest.json").read_text()
    assert set(manifest["prompt_hashes"]) == {"extract_claims", "classify_claim", "judge_label"}
    assert [e["name"] for e in manifest["inputs"]][:2] == ["a000", "a001"] and manifest["packages"]["verify"]

    first = final_files(tmp_path / "run")
    server.reset_stats()
    again = run(config, [str(jsonl)], tmp_path / "run")  # resume of a finished run: nothing to do
    assert server.stats.requests == 0 and again.stats["articles_skipped"] == 6
    assert final_files(tmp_path / "run") == first
    fresh = run(config, [str(jsonl)], tmp_path / "run2")  # a new run directory: every answer from the cache
    assert server.stats.requests == 0 and fresh.stats["cache_hits"] == 18
    assert final_files(tmp_path / "run2") == {**first, "manifest.json": first["manifest.json"]}
    run(config, [str(jsonl)], tmp_path / "run3", cache=False)
    assert server.stats.requests == 18


def test_a_changed_prompt_or_model_is_named_and_refused(tmp_path: Path, store: Path, server):
    jsonl = write_jsonl(tmp_path / "a.jsonl", 2)
    run(batch_config(server.url, tmp_path), [str(jsonl)], tmp_path / "run")
    prompts = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, prompts)
    judge = prompts / "judge_label.md"
    judge.write_text(judge.read_text() + "\nBe careful.\n")
    changed = batch_config(server.url, tmp_path, prompts_dir=prompts)
    with pytest.raises(RunMismatchError, match=r"prompt_hashes\.judge_label"):
        run(changed, [str(jsonl)], tmp_path / "run")
    with pytest.raises(RunMismatchError, match=r"\bmodel\b"):
        run(batch_config(server.url, tmp_path, model="other-model"), [str(jsonl)], tmp_path / "run")
    # settings that change speed, not results, are not a change of run
    assert run(batch_config(server.url, tmp_path, request_timeout=9, max_in_flight=3), [str(jsonl)], tmp_path / "run")
    outcome = run(changed, [str(jsonl)], tmp_path / "run", allow_changes=True)
    assert outcome.fatal is None


def test_200_articles_through_injected_faults_lose_and_duplicate_nothing(tmp_path: Path, store: Path):
    faults = FaultRates(
        rate_limit_retry_after=0.01,
        rate_limit=0.01,
        http_500=0.02,
        http_503=0.02,
        slow=0.01,
        hang=0.01,
        malformed=0.03,
        truncated=0.02,
        length=0.02,
        disconnect=0.02,
    )
    bad = [
        {"id": "empty", "text": "   "},
        {"id": "too-long", "text": "OVERSIZE " + article_text(500)},
        {"id": "dup", "text": article_text(3), "date": "2024-05-01"},
    ]
    jsonl = write_jsonl(tmp_path / "a.jsonl", 200, extra=bad)
    started = time.perf_counter()
    with FakeOpenAIServer(faults=faults, slow_seconds=1.5) as server:
        config = batch_config(server.url, tmp_path, request_timeout=1.0, max_retries=2, max_in_flight=12)
        outcome = run(config, [str(jsonl)], tmp_path / "run")
    elapsed = time.perf_counter() - started
    assert outcome.fatal is None
    assert set(server.stats.faults) == {f for f in FaultRates.__dataclass_fields__}, server.stats.faults
    assert server.stats.peak_in_flight <= 12

    lines = journal_lines(tmp_path / "run")
    keys = [line["key"] for line in lines]
    assert len(keys) == len(set(keys)) == 202  # 203 inputs; "dup" is a003 under another name
    summary = outcome.summary
    counts = summary.articles
    assert (counts.inputs, counts.unique, counts.pending) == (203, 202, 0)
    assert counts.done + counts.failed == len(lines)
    assert counts.failed == sum(line["status"] == "failed" for line in lines)
    assert counts.incomplete == sum(line["status"] == "done" and not line["complete"] for line in lines)
    inner = Counter(f["error_type"] for line in lines for f in line["failures"])
    outer = Counter(line["error"]["error_type"] for line in lines if line["error"])
    assert summary.failures_by_type == dict(inner + outer)
    assert outer == {"InputError": 1}  # no fault escapes its window or claim to fail a whole article
    assert inner["ContextLengthError"] == 1
    assert sum(summary.verdicts.values()) == sum(sum(line["verdicts"].values()) for line in lines)
    # every checkable claim is either judged or a recorded failure; every report on disk is in the index
    for line in lines:
        if line["status"] == "done":
            judged = sum(line["verdicts"].values())
            claim_failures = sum(1 for f in line["failures"] if f["stage"] == "judge")
            assert judged + claim_failures == line["checkable"]
    index = (tmp_path / "run" / "index.jsonl").read_text().splitlines()
    assert len(index) == 203
    reports = {json.loads(r)["report"] for r in index if "report" in json.loads(r)}
    assert reports == {f"reports/{p.name}" for p in (tmp_path / "run" / "reports").glob("*.report.json")}
    pages = {f"reports/{p.name}" for p in (tmp_path / "run" / "reports").glob("*.report.html")}
    assert pages == {r.removesuffix(".json") + ".html" for r in reports}
    assert elapsed < 300  # a guard against hangs (injected hangs must time out), not a speed target


def test_rejected_key_stops_the_run_and_marks_nothing_done(tmp_path: Path, store: Path, server):
    jsonl = write_jsonl(tmp_path / "a.jsonl", 8)
    server.fail_all = "auth"
    outcome = run(batch_config(server.url, tmp_path), [str(jsonl)], tmp_path / "run")
    assert isinstance(outcome.fatal, AuthenticationError)
    assert read_journal(tmp_path / "run") == {}
    assert outcome.summary.articles.pending == 8
    assert server.stats.requests <= 2 * 16  # stopped at once, not after trying every article


def test_exhausted_quota_stops_the_cli_with_exit_1_and_the_run_resumes(
    tmp_path: Path, store: Path, server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())
    monkeypatch.setenv("VERIFY_API_KEY", "sk-test-not-a-real-key-123456")
    monkeypatch.setenv("VERIFY_CALIBRATION", "off")
    (tmp_path / "verify.toml").write_text(
        f'kind_classifier = false\ncache_dir = "{tmp_path / "cache"}"\n'
        "[prices.fake-model]\nprompt = 1.0\ncached = 0.5\ncompletion = 2.0\n"
    )
    first = write_jsonl(tmp_path / "a.jsonl", 4)
    args = ["batch", "--run", str(tmp_path / "run"), "--base-url", server.url, "--model", "fake-model"]
    args += ["--store", str(store), "--no-progress"]
    assert main([*args, str(first)]) == 0
    more = write_jsonl(tmp_path / "b.jsonl", 9)
    server.fail_all = "quota"
    assert main([*args, "--allow-changes", str(more)]) == 1
    err = capsys.readouterr().err
    assert "quota" in err and "re-run the same command to resume" in err
    assert len(read_journal(tmp_path / "run")) == 4
    server.fail_all = None
    assert main([*args, "--allow-changes", str(more)]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["articles"]["complete"] == 9 and len(journal_lines(tmp_path / "run")) == 9
    assert summary["estimated_cost_usd"] > 0
    table = capsys.readouterr().err
    assert "est. cost" in table and "cache hits" in table and "cost this run  $" in table


def test_a_failed_article_is_recorded_and_the_cli_exits_3(
    tmp_path: Path, store: Path, server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.txt").write_text(article_text(i))
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02")
    code = main(
        [
            "batch",
            str(folder),
            "--run",
            str(tmp_path / "run"),
            "--base-url",
            server.url,
            "--model",
            "fake-model",
            "--store",
            str(store),
            "--cache-dir",
            str(tmp_path / "cache"),
        ]
    )
    assert code == 3
    assert "1 article(s) failed" in capsys.readouterr().err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["articles"]["complete"] == 3 and summary["articles"]["failed"] == 1
    assert summary["failed_articles"][0]["stage"] == "input" and "binary" in summary["failed_articles"][0]["message"]


# ----- concurrency -----------------------------------------------------------------------------
class Delayed:
    """A chat layer that delays requests whose prompt holds one of ``delays``' words."""

    def __init__(self, inner: FakeChatModel, delays: dict[str, float]) -> None:
        self.inner, self.delays, self.name = inner, delays, inner.name

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        text = " ".join(m["content"] for m in request.messages)
        await asyncio.sleep(sum(s for word, s in self.delays.items() if word in text))
        return await self.inner.acomplete(request)


def test_concurrent_checks_on_one_verifier_keep_their_own_timings(config: VerifyConfig, small_corpus: Path):
    def extract(request: ChatRequest) -> dict:
        sentence = [line for line in request.messages[-1]["content"].splitlines() if line.startswith("TARGET ")][-1]
        number, text = sentence.removeprefix("TARGET ").split(": ", 1)
        return extraction_answer([{"sentence": int(number), "claim": text.rstrip("."), "kind": "opinion"}])

    chat = FakeChatModel().enqueue(extract, extract)
    delayed = Delayed(chat, {"Sweden": 0.5, "Finland": 0.25})
    verifier = verify.verifier.Verifier(config, chat=delayed, embedder=HashEmbedder())
    verifier.ingest([small_corpus])

    async def both():
        return await asyncio.gather(
            verifier.acheck("Sweden became the 32nd member of NATO on 7 March 2024."),
            verifier.acheck("Finland became the 31st member of NATO on 4 April 2023."),
        )

    slow, fast = asyncio.run(both())
    # shared timings would add one check's extraction time to the other's
    # (ordering, not upper bounds: a loaded machine stretches both)
    assert slow.run.timings["extract"] >= 0.5 and fast.run.timings["extract"] >= 0.25
    assert slow.run.timings["extract"] - fast.run.timings["extract"] >= 0.15
    assert slow.run.timings["total"] > fast.run.timings["total"]


def test_one_bound_on_requests_in_flight():
    class Probe:
        name = "probe"
        now = peak = 0

        async def acomplete(self, request: ChatRequest) -> ChatResult:
            Probe.now += 1
            Probe.peak = max(Probe.peak, Probe.now)
            await asyncio.sleep(0.01)
            Probe.now -= 1
            return ChatResult("{}", Usage(calls=1))

    limited = LimitedChatBackend(Probe(), max_in_flight=3)
    request = ChatRequest(messages=[{"role": "user", "content": "x"}], schema={}, schema_name="x")

    async def many():
        await asyncio.gather(*(limited.acomplete(request) for _ in range(30)))

    asyncio.run(many())
    assert Probe.peak == 3 and limited.stats.sent == 30 and limited.stats.peak_in_flight == 3


def test_requests_per_minute_limit_spaces_requests():
    limiter = RateLimiter(1200)  # 20 per second, a burst of 20

    async def take(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            await limiter.acquire()
        return time.perf_counter() - started

    assert asyncio.run(take(20)) < 0.2
    assert 0.4 < asyncio.run(take(10)) < 1.0


def test_a_second_process_on_one_run_directory_gets_a_clear_error(tmp_path: Path, store: Path, server):
    jsonl = write_jsonl(tmp_path / "a.jsonl", 2)
    with locked(tmp_path / "run"), pytest.raises(RunInUseError, match="in use by another verify process"):
        run(batch_config(server.url, tmp_path), [str(jsonl)], tmp_path / "run")
    assert server.stats.requests == 0
    assert run(batch_config(server.url, tmp_path), [str(jsonl)], tmp_path / "run").fatal is None  # lock released


def test_a_damaged_journal_line_before_the_end_is_an_error_not_skipped(tmp_path: Path):
    with Journal(tmp_path) as journal:
        journal.append(record("k1"))
    path = tmp_path / JOURNAL
    path.write_bytes(b'{"key": "broken"}\n' + path.read_bytes())
    with pytest.raises(StoreError, match="line 1"):
        read_journal(tmp_path)


def test_the_same_file_given_twice_is_one_input(tmp_path: Path):
    (tmp_path / "one.txt").write_text(article_text(1))
    inputs = collect_inputs([str(tmp_path / "one.txt"), str(tmp_path), str(tmp_path / "*.txt")], max_chars=10_000)
    assert [a.id for a in inputs] == [str(tmp_path / "one.txt")]


def test_retry_failed_redoes_incomplete_articles_and_the_last_record_counts(tmp_path: Path, store: Path, server):
    jsonl = write_jsonl(tmp_path / "a.jsonl", 3, extra=[{"id": "refused", "text": "OVERSIZE " + article_text(7)}])
    first = run(batch_config(server.url, tmp_path), [str(jsonl)], tmp_path / "run")
    assert (first.summary.articles.complete, first.summary.articles.incomplete) == (3, 1)
    server.reset_stats()
    again = run(batch_config(server.url, tmp_path), [str(jsonl)], tmp_path / "run", retry_failed=True)
    assert server.stats.by_kind == {"claims": 1}  # only the incomplete article, and its refusal is not cached
    assert again.summary.articles == first.summary.articles
    assert len(journal_lines(tmp_path / "run")) == 5
    assert len((tmp_path / "run" / "index.jsonl").read_text().splitlines()) == 4


def test_progress_bar_on_request(tmp_path: Path, store: Path, server, capsys: pytest.CaptureFixture[str]):
    jsonl = write_jsonl(tmp_path / "a.jsonl", 3)
    outcome = run(batch_config(server.url, tmp_path), [str(jsonl)], tmp_path / "run", progress=None)
    assert outcome.summary.articles.complete == 3
    assert capsys.readouterr().err == ""  # not a terminal: no bar
    run(batch_config(server.url, tmp_path), [str(jsonl)], tmp_path / "run2", progress=True)
    err = capsys.readouterr().err
    assert "articles" in err and "3/3" in err and "claims=6" in err


def test_tokens_per_minute_limit_charges_the_estimate():
    class Instant:
        name = "instant"

        async def acomplete(self, request: ChatRequest) -> ChatResult:
            return ChatResult("{}", Usage(calls=1))

    request = ChatRequest(messages=[{"role": "user", "content": "x" * 400}], schema={}, schema_name="x", max_tokens=100)
    assert estimate_tokens(request) == 200
    limited = LimitedChatBackend(Instant(), max_in_flight=4, tokens_per_minute=60_000)  # 1,000/s, burst 10,000

    async def many(n: int) -> float:
        started = time.perf_counter()
        await asyncio.gather(*(limited.acomplete(request) for _ in range(n)))
        return time.perf_counter() - started

    assert asyncio.run(many(50)) < 0.3  # 10,000 tokens: the burst
    assert 0.8 < asyncio.run(many(5)) < 1.5  # 1,000 more at 1,000 a second


def test_one_verifier_serves_two_runs_and_is_left_as_it_was(tmp_path: Path, store: Path, server):
    config = batch_config(server.url, tmp_path)
    inputs = collect_inputs([str(write_jsonl(tmp_path / "a.jsonl", 2))], max_chars=10_000)
    with verify.verifier.Verifier(config, embedder=HashEmbedder()) as verifier:
        backend = verifier.chat
        first = run_batch(verifier, inputs, BatchOptions(run_dir=tmp_path / "r1", progress=False))
        assert verifier.chat is backend
        second = run_batch(verifier, inputs, BatchOptions(run_dir=tmp_path / "r2", progress=False))
        assert verifier.chat is backend
    assert first.stats["cache_misses"] == 6 and second.stats["cache_hits"] == 6 and server.stats.requests == 6


def test_an_article_failing_in_retrieval_is_recorded_with_its_stage_and_the_batch_goes_on(
    tmp_path: Path, store: Path, server, monkeypatch: pytest.MonkeyPatch
):
    original = HybridRetriever.retrieve

    def retrieve(self, query: str):
        if "vote of 151" in query:  # article a001
            raise RuntimeError("index damaged")
        return original(self, query)

    monkeypatch.setattr(HybridRetriever, "retrieve", retrieve)
    outcome = run(batch_config(server.url, tmp_path), [str(write_jsonl(tmp_path / "a.jsonl", 4))], tmp_path / "run")
    assert outcome.fatal is None
    assert (outcome.summary.articles.complete, outcome.summary.articles.failed) == (3, 1)
    failed = outcome.summary.failed_articles[0]
    assert (failed.names, failed.stage, failed.error_type) == (["a001"], "retrieve", "RuntimeError")
    assert outcome.summary.failures_by_stage == {"retrieve": 1}
    index = [json.loads(line) for line in (tmp_path / "run" / "index.jsonl").read_text().splitlines()]
    assert index[1]["status"] == "failed" and "report" not in index[1]
    assert not (tmp_path / "run" / "reports" / "a001.report.json").exists()


def test_merge_refuses_shards_made_with_another_model(tmp_path: Path, store: Path, server):
    jsonl = str(write_jsonl(tmp_path / "a.jsonl", 4))
    run(batch_config(server.url, tmp_path), [jsonl], tmp_path / "s1", shard=(1, 2))
    run(batch_config(server.url, tmp_path, model="other-model"), [jsonl], tmp_path / "s2", shard=(2, 2))
    with pytest.raises(RunMismatchError, match=r"s2 differs .* in .*\bmodel\b"):
        merge_runs(tmp_path / "merged", [tmp_path / "s1", tmp_path / "s2"], {})
    assert not (tmp_path / "merged" / "results.jsonl").exists()
    mixed = merge_runs(tmp_path / "merged", [tmp_path / "s1", tmp_path / "s2"], {}, allow_changes=True)
    assert mixed.articles.done == 4
    run(batch_config(server.url, tmp_path), [str(write_jsonl(tmp_path / "b.jsonl", 5))], tmp_path / "s3")
    with pytest.raises(RunMismatchError, match="other inputs"):
        merge_runs(tmp_path / "merged", [tmp_path / "s1", tmp_path / "s3"], {}, allow_changes=True)


def test_cost_estimate_prices_fresh_cached_and_completion_tokens():
    usage = Usage(prompt_tokens=3_000_000, cached_tokens=1_000_000, completion_tokens=500_000)
    price = ModelPrice(prompt=1.0, cached=0.25, completion=4.0)
    assert estimate_cost(usage, price) == 2.0 + 0.25 + 2.0
    assert estimate_cost(usage, ModelPrice(prompt=1.0, completion=0.0)) == 3.0  # cached at the prompt price
    assert estimate_cost(usage, None) is None


def test_an_answer_cut_by_the_token_limit_splits_the_window_and_fails_only_its_claim(
    tmp_path: Path, store: Path, server
):
    text = (
        "Finland became the 31st member of NATO on 4 April 2023. "
        "Sweden became a LONGWINDED member of NATO in March 2024. "
        "NATO leaders met in Vilnius in July 2023."
    )
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps({"id": "cut", "text": text}) + "\n")
    outcome = run(batch_config(server.url, tmp_path), [str(jsonl)], tmp_path / "run")
    report = json.loads((tmp_path / "run" / "reports" / "cut.report.json").read_text())
    assert len(report["claims"]) == 3  # the 3-sentence window was cut, split, and its halves answered
    assert server.stats.by_kind["claims"] >= 3
    assert [(f["stage"], f["error_type"]) for f in report["failures"]] == [("judge", "TruncatedOutputError")]
    assert len(report["verdicts"]) == 2
    assert (outcome.summary.articles.incomplete, outcome.summary.articles.failed) == (1, 0)


def test_a_dropped_connection_in_extraction_fails_that_window_and_the_run_goes_on(tmp_path: Path, store: Path, server):
    unplugged = {"id": "drop", "text": article_text(90).replace("Sweden joined", "UNPLUGGED Sweden joined")}
    jsonl = write_jsonl(tmp_path / "a.jsonl", 3, extra=[unplugged])
    config = batch_config(server.url, tmp_path, max_retries=1)
    outcome = run(config, [str(jsonl)], tmp_path / "run", articles_in_flight=1)
    assert outcome.fatal is None
    assert server.stats.faults["disconnect"] == 2  # the request and the client's one retry
    counts = outcome.summary.articles
    assert (counts.complete, counts.incomplete, counts.failed, counts.pending) == (3, 1, 0, 0)
    report = json.loads((tmp_path / "run" / "reports" / "drop.report.json").read_text())
    assert [(f["stage"], f["error_type"]) for f in report["failures"]] == [("extract", "ConnectionLostError")]
    assert outcome.summary.failures_by_type == {"ConnectionLostError": 1}
    assert "UNPLUGGED" not in json.dumps(report["claims"])  # nothing invented for the lost window


def test_an_endpoint_that_goes_away_stops_the_run_and_the_same_command_resumes(tmp_path: Path, store: Path):
    jsonl = str(write_jsonl(tmp_path / "a.jsonl", 6))
    server = FakeOpenAIServer().start()
    port = int(server.url.rsplit(":", 1)[1].split("/")[0])
    config = batch_config(server.url, tmp_path, max_retries=0)
    first = run(config, [str(write_jsonl(tmp_path / "first.jsonl", 2))], tmp_path / "warm")
    assert first.fatal is None
    server.stop()
    stopped = run(config, [jsonl], tmp_path / "run")
    assert isinstance(stopped.fatal, EndpointUnreachableError)
    # only articles whose every answer was already cached (the two of the warm run) may finish
    # before the stop; nothing that needed the endpoint is marked done
    done = read_journal(tmp_path / "run")
    warm = set(read_journal(tmp_path / "warm"))
    assert set(done) <= warm and stopped.summary.articles.pending == 6 - len(done)
    with FakeOpenAIServer(port=port):
        resumed = run(config, [jsonl], tmp_path / "run")
    assert resumed.fatal is None and resumed.summary.articles.complete == 6


def test_identical_requests_in_flight_at_once_are_sent_once(tmp_path: Path):
    class Slow:
        name = "slow"
        calls = 0

        async def acomplete(self, request: ChatRequest) -> ChatResult:
            Slow.calls += 1
            await asyncio.sleep(0.05)
            if "fail" in request.messages[0]["content"] and Slow.calls == 1:
                raise BackendError("the model endpoint answered 500")
            return ChatResult('{"label": "supported"}', Usage(calls=1))

    caching = CachingChatBackend(Slow(), ResponseCache(tmp_path), endpoint="e", temperature=0.0)

    def request(text: str) -> ChatRequest:
        return ChatRequest(messages=[{"role": "user", "content": text}], schema={}, schema_name="verdict")

    async def same(text: str, n: int) -> list:
        return await asyncio.gather(*(caching.acomplete(request(text)) for _ in range(n)), return_exceptions=True)

    assert all(r.text == '{"label": "supported"}' for r in asyncio.run(same("a claim", 5)))
    assert Slow.calls == 1 and (caching.stats.misses, caching.stats.hits) == (1, 4)
    Slow.calls = 0
    results = asyncio.run(same("fail once", 3))  # the first sender fails; the waiters each send their own
    assert isinstance(results[0], BackendError) and all(isinstance(r, ChatResult) for r in results[1:])
    assert Slow.calls >= 2


def test_a_bad_jsonl_file_is_refused_with_its_line(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "text": "Fine text here."}) + "\n" + json.dumps({"id": "y"}) + "\n")
    with pytest.raises(InputError, match=r"bad\.jsonl:2: text"):
        collect_inputs([str(bad)], max_chars=10_000)
    bad.write_bytes(b'{"id": "x", "text": "caf\xe9"}\n')
    with pytest.raises(InputError, match="not valid UTF-8"):
        collect_inputs([str(bad)], max_chars=10_000)
    bad.write_text("[1, 2]\n")
    with pytest.raises(InputError, match="JSON object"):
        collect_inputs([str(bad)], max_chars=10_000)
