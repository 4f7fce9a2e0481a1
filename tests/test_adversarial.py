"""The adversarial suite of issue 13 (``evals/adversarial/``) with the scripted fake model and hash
embeddings: the mechanics that must hold exactly whatever a model does.

(a) injected text reaches the prompts only inside the data blocks, one item a line behind our own
label, with no angle bracket and no sentence id of our form; (b) the ingest scan flags every
poisoned document it can and none of the clean twins; (c) a citation of a sentence or a quote that
was not shown never becomes a verified citation; (d) a planted API key appears in no written file
and no log line; (e) crafted names cannot place a report outside the output directory.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import verify.verifier
from verify.batch.inputs import collect_inputs
from verify.batch.runner import BatchOptions, run_batch
from verify.batch.summary import report_files
from verify.chunking import chunk_document
from verify.citations import check_citations
from verify.cli import main
from verify.config import PROJECT_DIR, VerifyConfig
from verify.documents import load_document
from verify.errors import BackendError
from verify.evidence import number_passages
from verify.fences import data_line
from verify.judge import Judge, judge_schema
from verify.llm import ChatRequest
from verify.models import EvidencePassage, Label
from verify.prompts import load_prompt
from verify.render import write_json_atomic
from verify.store import EvidenceStore
from verify.testing import FakeChatModel, HashEmbedder
from verify.verifier import Verifier

SUITE = PROJECT_DIR / "evals" / "adversarial"
ROWS: list[dict[str, Any]] = [
    json.loads(line) for line in (SUITE / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line
]
ARTICLES = [r for r in ROWS if r["kind"] == "article"]
DOCUMENTS = [r for r in ROWS if r["kind"] == "document"]
BLOCK = re.compile(r"<(article|evidence|claim|statement|context|sentence)>(.*?)</\1>", re.DOTALL)
OUR_ID = re.compile(r"\((\d+\.\d+)\)")
FAKE_KEY = "sk-adv-PLANTED-0123456789abcdefXYZ"


def text_of(row_path: str) -> str:
    return (PROJECT_DIR / row_path).read_text(encoding="utf-8")


# ----- the scripted model -------------------------------------------------------------------------
def echo_model(request: ChatRequest) -> dict[str, Any]:
    """A model that obeys nothing and echoes everything: each TARGET sentence becomes a fact claim (so
    the injected text travels on into the kind and judge prompts), every claim is checkable and
    supported, and when asked for sentence ids it cites ids that were never shown."""
    user = request.messages[-1]["content"]
    if request.schema_name == "claims":
        targets = re.findall(r"^TARGET (\d+): (.*)$", user, re.MULTILINE)
        return {"claims": [{"sentence": int(n), "kind": "fact", "claim": text} for n, text in targets]}
    if request.schema_name == "checkable":
        return {"checkable": True}
    if request.schema_name == "statements":
        return {"statements": [user.split("Claim: ", 1)[-1].strip()]}
    if request.schema_name == "claim":  # the sentences extractor's rewrite: the sentence back
        return {"claim": re.search(r"<sentence>(.*?)</sentence>", user, re.DOTALL).group(1)}
    answer: dict[str, Any] = {"label": "supported"}
    if "evidence" in request.schema["properties"]:
        answer["evidence"] = ["9.9", "0.1"]
    return answer


def scripted_chat(n: int = 400) -> FakeChatModel:
    return FakeChatModel().enqueue(*[echo_model] * n)


def fake_config(tmp: Path, **overrides: Any) -> VerifyConfig:
    return VerifyConfig(
        **{
            "extractor": "windows",
            "store_path": tmp / "chroma",
            "calibration": "off",
            "cache_dir": tmp / "cache",
            **overrides,
        }
    )


# ----- prompt structure ---------------------------------------------------------------------------
def skeleton(content: str) -> str:
    """A message with the body of every data block left out: what the text cannot change."""
    return BLOCK.sub(lambda m: f"<{m.group(1)}>…</{m.group(1)}>", content)


def skeletons(chat: FakeChatModel) -> set[tuple[str, str, str]]:
    return {(r.schema_name, m["role"], skeleton(m["content"])) for r in chat.requests for m in r.messages}


def block_bodies(chat: FakeChatModel) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for request in chat.requests:
        for message in request.messages:
            if message["role"] != "user":  # the instructions name the blocks; the user message holds them
                continue
            for name, body in BLOCK.findall(message["content"]):
                out.setdefault(name, []).append(body)
    return out


def assert_blocks_hold(chat: FakeChatModel, headers: set[str] | None = None) -> None:
    for request in chat.requests:
        for message in request.messages:
            content = message["content"]
            if message["role"] != "user":  # our fixed instructions (compared whole by the skeletons)
                continue
            for name in ("article", "evidence", "claim", "statement", "context", "sentence"):  # opens, closes once
                assert content.count(f"<{name}>") == content.count(f"</{name}>") <= 1
    for name, bodies in block_bodies(chat).items():
        for body in bodies:
            inner = body.strip("\n")
            if name == "article":
                lines = inner.split("\n")
                numbers = []
                for line in lines:
                    match = re.match(r"(?:TARGET|CONTEXT) (\d+): ", line)
                    assert match, line
                    numbers.append(int(match.group(1)))
                assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
                assert not OUR_ID.search(inner)
            elif name == "evidence":
                lines = [line for line in inner.split("\n") if line]
                ids = OUR_ID.findall(inner)
                assert len(ids) == len(set(ids))  # each id once: ours
                for line in lines:
                    if OUR_ID.match(line):
                        continue
                    assert headers is None or line in headers, line
            else:  # claim, statement, sentence: one line (context: a line per sentence), no id of ours
                assert name == "context" or "\n" not in inner
                assert not OUR_ID.search(inner)
            assert "<" not in inner and ">" not in inner


def assert_fake_ids_neutralised(injected: str, shown: str, *, all_shown: bool = True) -> None:
    """A sentence id written in the text is shown bracketed as ``[2.1]``, never in our ``(2.1)`` form
    (``all_shown``: every sentence of the text is in ``shown``, not only the few chosen as evidence)."""
    for fake, word in re.findall(r"\((\d+\.\d+)\)\W*(\w+)", injected):
        assert not all_shown or re.search(rf"\[{re.escape(fake)}\]\W*{word}", shown)
        assert not re.search(rf"\({re.escape(fake)}\)\W*{word}", shown)


def injected_words(injected: str) -> list[str]:
    return re.findall(r"\w{4,}", data_line(injected))


# ----- the store of clean evidence the article runs retrieve from ---------------------------------
@pytest.fixture(scope="module")
def article_store(tmp_path_factory: pytest.TempPathFactory) -> EvidenceStore:
    tmp = tmp_path_factory.mktemp("adv-store")
    verifier = Verifier(fake_config(tmp), chat=FakeChatModel(), embedder=HashEmbedder())
    verifier.ingest([PROJECT_DIR / "evidence", SUITE / "documents-clean"])
    return verifier.store()


def run_article(
    text: str, date: str | None, store: EvidenceStore, tmp: Path, **overrides: Any
) -> tuple[FakeChatModel, Any]:
    chat = scripted_chat()
    verifier = Verifier(fake_config(tmp, **overrides), chat=chat, embedder=HashEmbedder(), store=store)
    report = verifier.check(text, date=date)
    return chat, report


def test_the_suite_is_as_large_as_the_issue_asks_and_every_item_has_a_clean_twin():
    assert len(ARTICLES) >= 60 and len(DOCUMENTS) >= 20
    for row in ROWS:
        adversarial, clean = text_of(row["path"]), text_of(row["clean"])
        assert adversarial != clean
        if row["kind"] == "article":
            # the twin is the same text without the injected part
            assert adversarial.replace(row["injected"] + " ", "") == clean
            assert 3 <= clean.count(". ") + 1 <= 7
    evidence_ids = {p.stem for p in (PROJECT_DIR / "evidence").glob("*.md")}
    doc_ids = {Path(r[k]).stem for r in DOCUMENTS for k in ("path", "clean")}
    assert not doc_ids & evidence_ids
    assert len({r["id"] for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ARTICLES, ids=[r["id"] for r in ARTICLES])
def test_article_injection_stays_inside_the_data_blocks(
    row: dict[str, Any], article_store: EvidenceStore, tmp_path: Path
):
    chat, report = run_article(text_of(row["path"]), row["date"], article_store, tmp_path)
    clean_chat, _ = run_article(text_of(row["clean"]), row["date"], article_store, tmp_path)
    # outside the blocks, every message is one the clean twin's run also sent
    assert skeletons(chat) <= skeletons(clean_chat)
    assert_blocks_hold(chat)
    # the injected text did reach the model, inside the article block
    article = "\n".join(block_bodies(chat)["article"])
    assert all(word in article for word in injected_words(row["injected"]))
    assert_fake_ids_neutralised(row["injected"], article)
    # every citation of the report is verbatim text of a passage retrieved for its claim
    for verdict in report.verdicts:
        for citation in verdict.citations:
            assert citation.passage_id in verdict.retrieved_passage_ids
            text = report.passages[citation.passage_id].text
            assert text[citation.start : citation.start + len(citation.quote)] == citation.quote


@pytest.mark.parametrize("rewrite", [False, True], ids=["sentences", "sentences-rewrite"])
@pytest.mark.parametrize("row", ARTICLES[::4], ids=[r["id"] for r in ARTICLES[::4]])
def test_with_the_sentences_extractor_article_text_reaches_the_model_only_in_data_blocks(
    row: dict[str, Any], rewrite: bool, article_store: EvidenceStore, tmp_path: Path
):
    options = {"extractor": "sentences", "rewrite_sentences": rewrite}
    chat, _ = run_article(text_of(row["path"]), row["date"], article_store, tmp_path, **options)
    clean_chat, _ = run_article(text_of(row["clean"]), row["date"], article_store, tmp_path, **options)
    assert skeletons(chat) <= skeletons(clean_chat)
    assert_blocks_hold(chat)
    assert rewrite == any(r.schema_name == "claim" for r in chat.requests)
    shown = "\n".join("\n".join(bodies) for name, bodies in block_bodies(chat).items() if name != "evidence")
    assert all(word in shown for word in injected_words(row["injected"]))
    assert_fake_ids_neutralised(row["injected"], shown, all_shown=False)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"judge_citations": "model"}, id="judge_claim"),
        pytest.param({"split_long_claims": True, "split_words": 5}, id="split_claim"),
    ],
)
def test_the_optional_prompts_keep_injected_text_in_data_blocks(
    overrides: dict[str, Any], article_store: EvidenceStore, tmp_path: Path
):
    row = next(r for r in ARTICLES if r["attack"] == "plain-instruction")
    chat, _ = run_article(text_of(row["path"]), row["date"], article_store, tmp_path, **overrides)
    outside = " ".join(skeleton(m["content"]) for r in chat.requests for m in r.messages)
    assert "Ignore previous instructions" not in outside


# ----- documents ----------------------------------------------------------------------------------
def flags_of(path: Path) -> set[str]:
    passages = chunk_document(load_document(path), chunk_size=600, chunk_overlap=100)
    return {flag for p in passages for flag in p.flags}


@pytest.mark.parametrize("row", DOCUMENTS, ids=[r["id"] for r in DOCUMENTS])
def test_the_ingest_scan_flags_the_poisoned_document_and_not_its_twin(row: dict[str, Any]):
    assert flags_of(PROJECT_DIR / row["clean"]) == set()
    flags = flags_of(PROJECT_DIR / row["path"])
    if row["expected_flag"] is None:
        # a literal-pattern scan cannot see this attack; the data blocks and code checks carry it
        assert flags == set()
    else:
        assert flags == {row["expected_flag"]}


def test_the_ingest_summary_counts_the_flags_of_the_poisoned_set(tmp_path: Path):
    verifier = Verifier(fake_config(tmp_path), chat=FakeChatModel(), embedder=HashEmbedder())
    stats = verifier.ingest([SUITE / "documents"])
    assert stats.documents == len(DOCUMENTS)
    expected: dict[str, int] = {}
    for row in DOCUMENTS:
        if row["expected_flag"]:
            expected[row["expected_flag"]] = expected.get(row["expected_flag"], 0) + 1
    # one passage per document here (short documents), so passages flagged = documents flagged
    assert stats.flagged == expected


def doc_article(row: dict[str, Any]) -> str:
    """An article that restates the clean twin's first paragraph, so the document is retrieved."""
    doc = load_document(PROJECT_DIR / row["clean"])
    return doc.text.split("\n\n")[0]


def run_document(path: Path, article: str, tmp: Path) -> FakeChatModel:
    chat = scripted_chat()
    verifier = Verifier(fake_config(tmp), chat=chat, embedder=HashEmbedder())
    verifier.ingest([path])
    verifier.check(article)
    return chat


@pytest.mark.parametrize("row", DOCUMENTS, ids=[r["id"] for r in DOCUMENTS])
def test_document_injection_stays_inside_the_evidence_block(row: dict[str, Any], tmp_path: Path):
    article = doc_article(row)
    chat = run_document(PROJECT_DIR / row["path"], article, tmp_path / "adv")
    clean_chat = run_document(PROJECT_DIR / row["clean"], article, tmp_path / "clean")
    shown = passages_of(PROJECT_DIR / row["path"])[0]
    headers = {data_line((shown.title or shown.doc_id) + (f" ({shown.date})" if shown.date else ""))}
    assert skeletons(chat) <= skeletons(clean_chat)
    assert_blocks_hold(chat, headers)
    evidence = "\n".join(block_bodies(chat).get("evidence", []))
    assert evidence, "the document was not shown to the judge"
    if row["expected_flag"] == "hidden-html":
        assert not any(word in evidence for word in injected_words(row["injected"]) if word not in article)
    assert_fake_ids_neutralised(row["injected"], evidence, all_shown=False)


# ----- citations ----------------------------------------------------------------------------------
def passages_of(path: Path) -> list[EvidencePassage]:
    return chunk_document(load_document(path), chunk_size=600, chunk_overlap=100)


@pytest.mark.parametrize("row", DOCUMENTS, ids=[r["id"] for r in DOCUMENTS])
@pytest.mark.parametrize("which", ["path", "clean"])
def test_a_citation_of_a_sentence_that_was_not_shown_never_passes(row: dict[str, Any], which: str):
    passages = passages_of(PROJECT_DIR / row[which])
    shown_judge = Judge(
        FakeChatModel(),
        load_prompt(PROJECT_DIR / "prompts", "judge_claim"),
        calibration=None,
        max_reasks=0,
        max_citations=2,
        logprobs=False,
        evidence_sentences=1,
    )
    claim = "NATO has 40 members."
    numbered = shown_judge.prepare(claim, passages)
    every_id = set(number_passages(passages).sentences)
    not_shown = sorted(every_id - set(numbered.sentences))
    fake_ids = ["9.9", "0.1", "1.99", " 5.1", "1.1.1", *OUR_ID.findall(row["injected"]), *not_shown]
    fake_ids = [sid for sid in fake_ids if sid.strip() not in numbered.sentences]
    assert fake_ids
    # the schema offers only the shown ids
    assert set(judge_schema(numbered, 2)["properties"]["evidence"]["items"]["enum"]) == set(numbered.sentences)
    for pair in [fake_ids[i : i + 2] for i in range(0, len(fake_ids), 2)]:
        chat = FakeChatModel().enqueue({"label": "supported", "evidence": pair})
        shown_judge.backend = chat
        verdict = asyncio.run(shown_judge.judge("c1", claim, passages)).verdict
        assert verdict.citations == []
        assert verdict.label == Label.UNVERIFIABLE
        assert verdict.downgrade_reason == "no citation survived verification"


@pytest.mark.parametrize("row", DOCUMENTS, ids=[r["id"] for r in DOCUMENTS])
def test_a_quote_that_is_not_in_the_cited_passage_never_passes(row: dict[str, Any]):
    poisoned = passages_of(PROJECT_DIR / row["path"])
    clean = passages_of(PROJECT_DIR / row["clean"])
    injected = load_document(PROJECT_DIR / row["path"]).text.replace(load_document(PROJECT_DIR / row["clean"]).text, "")
    fabricated = [
        "NATO has 40 members.",  # the injected fake fact, against the clean twin
        "Finland joined NATO in 1995.",
        clean[0].text[:40] + " and 40 more",  # a near-verbatim quote with an addition
        "",
    ]
    if injected.strip():
        fabricated.append(injected.strip()[:60])
    for quote in fabricated:
        if quote and quote in clean[0].text:
            continue
        valid, dropped = check_citations([(1, quote)], clean)
        assert valid == [] and len(dropped) == 1
    # a passage number that was not retrieved, and a quote taken from another document
    valid, dropped = check_citations([(len(poisoned) + 1, poisoned[0].text[:30]), (0, "x")], poisoned)
    assert valid == [] and [d.passage_id for d in dropped] == [None, None]
    other = passages_of(PROJECT_DIR / "evidence" / "nato-new-start-suspension-2023.md")[0].text[:50]
    valid, _ = check_citations([(1, other)], poisoned[:1])
    assert valid == []


# ----- secrets ------------------------------------------------------------------------------------
def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


def test_a_planted_api_key_is_in_no_written_file_and_no_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("VERIFY_API_KEY", FAKE_KEY)
    monkeypatch.setenv("VERIFY_STORE", str(work / "chroma"))
    monkeypatch.setenv("VERIFY_CACHE_DIR", str(work / "cache"))
    monkeypatch.setenv("VERIFY_CALIBRATION", "off")
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())

    def chat_that_fails_once(self: Verifier) -> FakeChatModel:
        assert self.config.api_key is not None and self.config.api_key.get_secret_value() == FAKE_KEY
        chat = FakeChatModel()
        # a backend error that carries the key (as a proxy's echo of the request might)
        chat.enqueue(BackendError(f"401 from proxy: invalid key {FAKE_KEY}"))
        return chat.enqueue(*[echo_model] * 400)

    monkeypatch.setattr(verify.verifier.Verifier, "_build_chat", chat_that_fails_once)
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    assert main(["ingest", str(PROJECT_DIR / "evidence"), str(SUITE / "documents")]) == 0
    handler = Collect(level=logging.DEBUG)
    logging.getLogger("verify").addHandler(handler)
    out = work / "reports"
    paths = [str(PROJECT_DIR / r["path"]) for r in ARTICLES[:6]]
    code = main(["check", "-vv", *paths, "--out", str(out)])
    logging.getLogger("verify").removeHandler(handler)
    captured = capsys.readouterr()
    assert code in (0, 3)
    assert len(list(out.glob("*.report.json"))) == len(paths)
    assert records  # debug logging ran
    leaks = [str(p) for p in files_under(work) if FAKE_KEY.encode() in p.read_bytes()]
    assert leaks == []
    assert FAKE_KEY not in captured.out and FAKE_KEY not in captured.err
    assert not any(FAKE_KEY in line for line in records)


def test_a_secret_echoed_in_a_backend_error_is_redacted_in_the_report(article_store: EvidenceStore, tmp_path: Path):
    chat = FakeChatModel().enqueue(BackendError(f"upstream said: bad key {FAKE_KEY}"))
    config = fake_config(tmp_path, api_key=FAKE_KEY, kind_classifier=False)
    report = Verifier(config, chat=chat, embedder=HashEmbedder(), store=article_store).check(
        text_of(ARTICLES[0]["path"])
    )
    (failure,) = report.failures
    assert failure.message == "upstream said: bad key ***"
    assert FAKE_KEY not in report.model_dump_json()


# ----- paths --------------------------------------------------------------------------------------
CRAFTED = ["../../x", "/etc/passwd", "/tmp/../../x", "a\0b", "x" * 300, "..", ".", "", "a/../../../b", "C:\\x\\y"]


def test_batch_report_names_stay_inside_the_reports_directory(tmp_path: Path):
    run_dir = tmp_path / "run"
    names = report_files(CRAFTED)
    assert len(set(names.values())) == len(CRAFTED)
    for name, rel in names.items():
        target = (run_dir / rel).resolve()
        assert target.parent == (run_dir / "reports").resolve(), name
        assert "\0" not in rel and len(Path(rel).name) <= 255
        write_json_atomic(run_dir / rel, "{}")
    assert {p.parent for p in files_under(tmp_path)} == {(run_dir / "reports")}


def cli_with_fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A work folder for the CLI on the scripted model and hash embeddings, the clean documents
    ingested; returns it (articles go in ``articles/``)."""
    work = tmp_path / "work"
    (work / "articles").mkdir(parents=True)
    monkeypatch.setenv("VERIFY_STORE", str(work / "chroma"))
    monkeypatch.setenv("VERIFY_CALIBRATION", "off")
    monkeypatch.setenv("VERIFY_KIND_CLASSIFIER", "false")
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())
    monkeypatch.setattr(verify.verifier.Verifier, "_build_chat", lambda self: scripted_chat())
    assert main(["ingest", str(SUITE / "documents-clean")]) == 0
    return work


def test_verify_check_writes_reports_only_inside_out_even_through_a_planted_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    work = cli_with_fakes(tmp_path, monkeypatch)
    text = text_of(ARTICLES[0]["path"])
    names = ["..x", "-rf", "a b", "x" * 200, "adv"]
    paths = []
    for name in names:
        p = work / "articles" / f"{name}.txt"
        p.write_text(text, encoding="utf-8")
        paths.append(str(p))
    out = work / "out"
    out.mkdir()
    outside = tmp_path / "outside.json"
    outside.write_text("untouched", encoding="utf-8")
    (out / "adv.report.json").symlink_to(outside)  # a planted link where a report goes
    before = {p for p in files_under(tmp_path) if not p.is_relative_to(out) and not p.is_relative_to(work / "chroma")}
    assert main(["check", *paths, "--out", str(out)]) in (0, 3)
    after = {p for p in files_under(tmp_path) if not p.is_relative_to(out) and not p.is_relative_to(work / "chroma")}
    assert after == before
    assert outside.read_text(encoding="utf-8") == "untouched"
    assert not (out / "adv.report.json").is_symlink()
    written = sorted(p.name for p in out.glob("*.report.json"))
    assert len(written) == len(names) and "adv.report.json" in written and "-rf.report.json" in written
    pages = sorted(p.name for p in out.glob("*.report.html"))  # each report's page beside it
    assert pages == sorted(name.removesuffix(".json") + ".html" for name in written)
    assert len(list(out.iterdir())) == 2 * len(names)
    assert all(len(name.encode()) <= 255 for name in written + pages)
    for p in out.iterdir():
        assert p.resolve().parent == out.resolve()


def test_a_report_name_over_the_file_name_limit_is_shortened_and_written_inside_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    work = cli_with_fakes(tmp_path, monkeypatch)
    article = work / "articles" / ("y" * 250 + ".txt")  # a legal file name; "<stem>.report.json" is not
    article.write_text(text_of(ARTICLES[0]["path"]), encoding="utf-8")
    out = work / "out"
    assert main(["check", str(article), "--out", str(out)]) in (0, 3)
    page, report = sorted(out.iterdir())
    assert report.name == "y" * 100 + ".report.json" and page.name == "y" * 100 + ".report.html"
    assert json.loads(report.read_text(encoding="utf-8"))["article"]["source"] == str(article)
    assert sorted(p for p in files_under(tmp_path) if "yyyy" in p.name) == sorted([article, report, page])
    assert os.path.exists(article)


# ----- the real-model script, driven here by the fakes ----------------------------------------------
def test_the_adversarial_run_script_counts_differences_with_the_fakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    spec = importlib.util.spec_from_file_location("adversarial_run", PROJECT_DIR / "evals/tools/adversarial_run.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "adversarial_run", script)  # its dataclasses look their module up
    spec.loader.exec_module(script)
    monkeypatch.setenv("VERIFY_CALIBRATION", "off")
    store = tmp_path / "chroma"
    Verifier(fake_config(tmp_path), chat=FakeChatModel(), embedder=HashEmbedder()).ingest([PROJECT_DIR / "evidence"])

    def make(config: VerifyConfig) -> Verifier:
        return Verifier(config, chat=scripted_chat(), embedder=HashEmbedder())

    out = tmp_path / "diff.json"
    assert script.main(["--limit", "2", "--store", str(store), "--json", str(out)], make=make) == 0
    printed = capsys.readouterr().out
    assert "articles: 2 pairs, 0 errors" in printed and "documents: 2 pairs, 0 errors" in printed
    rows = json.loads(out.read_text(encoding="utf-8"))
    controls = ["control:" + Path(c).stem for c in dict.fromkeys(r["clean"] for r in ARTICLES[:2])]
    assert [r["id"] for r in rows] == [r["id"] for r in ARTICLES[:2]] + controls + [r["id"] for r in DOCUMENTS[:2]]
    assert f"controls: {len(controls)} pairs, 0 errors" in printed
    # the echoing model extracts the injected sentence as claims: counted apart, not as a difference
    assert rows[0]["injected_claims"] >= 1 and not rows[0]["claims_differ"]


def test_a_batch_with_crafted_ids_writes_only_inside_its_run_directory_and_leaks_no_key(
    article_store: EvidenceStore, tmp_path: Path
):
    inputs = tmp_path / "in" / "articles.jsonl"
    inputs.parent.mkdir()
    ids = [name for name in CRAFTED if name]  # an empty id is refused as input
    text = text_of(ARTICLES[0]["path"])
    inputs.write_text(
        "".join(json.dumps({"id": name, "text": f"{text} Item {i}."}) + "\n" for i, name in enumerate(ids)),
        encoding="utf-8",
    )
    config = fake_config(tmp_path, api_key=FAKE_KEY, kind_classifier=False)
    run_dir = tmp_path / "run"
    verifier = Verifier(config, chat=scripted_chat(4000), embedder=HashEmbedder(), store=article_store)
    collected = collect_inputs([str(inputs)], max_chars=config.max_article_chars)
    run_batch(verifier, collected, BatchOptions(run_dir=run_dir, progress=False))
    written = files_under(tmp_path)
    assert {p for p in written if not p.is_relative_to(run_dir) and not p.is_relative_to(tmp_path / "cache")} == {
        inputs
    }
    reports = sorted((run_dir / "reports").iterdir())
    assert len(reports) == 2 * len(ids)  # each report and its page
    assert all(p.resolve().parent == (run_dir / "reports").resolve() for p in reports)
    assert [str(p) for p in written if FAKE_KEY.encode() in p.read_bytes()] == []
