"""The whole pipeline with a fake chat model, hash embeddings and a real Chroma store in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from verify.config import VerifyConfig
from verify.errors import AuthenticationError, BackendError, CollectionMissingError, InputError
from verify.llm import ChatRequest
from verify.models import ClaimKind, Label, Report
from verify.testing import FakeChatModel, HashEmbedder, extraction_answer
from verify.verifier import Verifier

ARTICLE = (
    "Nordic states join NATO\n\n"
    "Finland became the 31st member of NATO on 4 April 2023. "
    "Sweden became the 32nd member of NATO on 7 March 2024. "
    "This expansion was a reckless and dangerous provocation."
)
EXTRACTION = extraction_answer(
    [
        {"sentence": 2, "claim": "Finland became the 31st member of NATO on 4 April 2023", "kind": "fact"},
        {"sentence": 3, "claim": "Sweden became the 32nd member of NATO on 7 March 2024", "kind": "fact"},
        {"sentence": 4, "claim": "The NATO expansion was a reckless provocation", "kind": "opinion"},
    ]
)


def cite_first_sentence(request: ChatRequest) -> dict:
    """A judge answer: "supported", citing the first sentence id the request offers when the schema
    asks the model to cite (by default code chooses the cited sentence and the model writes the label)."""
    if "evidence" not in request.schema["properties"]:
        return {"label": "supported"}
    first_id = request.schema["properties"]["evidence"]["items"]["enum"][0]
    return {"label": "supported", "evidence": [first_id], "rationale": "The passage states it."}


def for_claim(word: str, special, otherwise=cite_first_sentence):
    """A judge answer that does ``special`` for the claim mentioning ``word`` (judge calls may run
    concurrently, so answers are routed by claim, not by queue order)."""

    def answer(request: ChatRequest):
        claim_line = request.messages[1]["content"].splitlines()[-1]  # the original prompt, also on re-asks
        chosen = special if word in claim_line else otherwise
        return chosen(request) if callable(chosen) else chosen

    return answer


def verdict_requests(chat: FakeChatModel) -> list[ChatRequest]:
    return [r for r in chat.requests if r.schema_name == "verdict"]


@pytest.fixture
def ingested(verifier: Verifier, small_corpus: Path) -> Verifier:
    verifier.ingest([small_corpus])
    return verifier


def test_check_judges_each_fact_claim_once_and_lists_opinions(ingested: Verifier, chat: FakeChatModel):
    chat.enqueue(EXTRACTION, cite_first_sentence, cite_first_sentence)
    report = ingested.check(ARTICLE)
    assert chat.pending == 0
    assert [r.schema_name for r in chat.requests] == ["claims", "verdict", "verdict"]
    assert len(verdict_requests(chat)) == 2
    assert [(c.id, c.kind) for c in report.claims] == [
        ("c001", ClaimKind.FACT),
        ("c002", ClaimKind.FACT),
        ("c003", ClaimKind.OPINION),
    ]
    assert [v.claim_id for v in report.verdicts] == ["c001", "c002"]
    assert report.verdict_for("c003") is None
    assert report.complete is True
    assert report.failures == []


def test_each_judge_request_carries_its_own_claim(ingested: Verifier, chat: FakeChatModel):
    chat.enqueue(EXTRACTION, cite_first_sentence, cite_first_sentence)
    ingested.check(ARTICLE)
    users = [r.messages[-1]["content"] for r in verdict_requests(chat)]
    assert "<claim>Finland became the 31st member of NATO on 4 April 2023</claim>" in users[0]
    assert "<claim>Sweden became the 32nd member of NATO on 7 March 2024</claim>" in users[1]


def test_report_contains_every_cited_and_retrieved_passage(ingested: Verifier, chat: FakeChatModel):
    chat.enqueue(EXTRACTION, cite_first_sentence, cite_first_sentence)
    report = ingested.check(ARTICLE)
    cited = {c.passage_id for v in report.verdicts for c in v.citations}
    assert len(cited) >= 1
    assert cited <= set(report.passages)
    retrieved = {pid for v in report.verdicts for pid in v.retrieved_passage_ids}
    assert retrieved == set(report.passages)
    for v in report.verdicts:
        assert v.label == Label.SUPPORTED
        assert 1 <= len(v.retrieved_passage_ids) <= ingested.config.top_k
        for c in v.citations:
            assert c.quote in report.passages[c.passage_id].text


def test_report_run_info_records_prompts_usage_and_store(ingested: Verifier, chat: FakeChatModel):
    chat.enqueue(EXTRACTION, cite_first_sentence, cite_first_sentence)
    report = ingested.check(ARTICLE, source="article.txt")
    run = report.run
    assert set(run.prompt_hashes) == {"extract_claims", "classify_claim", "judge_label"}
    assert run.prompt_hashes["judge_label"] == ingested.judge_prompt.sha256[:12]
    assert set(run.usage) == {"extract", "judge"}
    assert run.usage["extract"].calls == 1
    assert run.usage["judge"].calls == 2
    assert run.usage["judge"].prompt_tokens > 0
    assert run.embedding_model == HashEmbedder.name
    assert run.calibration is None
    assert report.article.text == ARTICLE
    assert report.article.source == "article.txt"


def test_report_round_trips_through_json(ingested: Verifier, chat: FakeChatModel):
    chat.enqueue(EXTRACTION, cite_first_sentence, cite_first_sentence)
    report = ingested.check(ARTICLE)
    again = Report.model_validate_json(report.model_dump_json())
    assert again.verdicts == report.verdicts
    assert again.complete is True


def test_judge_backend_error_becomes_a_claim_failure(ingested: Verifier, chat: FakeChatModel):
    fail_sweden = for_claim("Sweden", BackendError("the model endpoint answered 500"))
    chat.enqueue(EXTRACTION, fail_sweden, fail_sweden)
    report = ingested.check(ARTICLE)
    assert report.complete is False
    assert len(report.failures) == 1
    failure = report.failures[0]
    assert (failure.claim_id, failure.stage, failure.error_type) == ("c002", "judge", "BackendError")
    assert "500" in failure.message
    assert report.verdict_for("c002") is None
    assert [v.claim_id for v in report.verdicts] == ["c001"]


def test_invalid_judge_output_after_reasks_becomes_a_claim_failure(ingested: Verifier, chat: FakeChatModel):
    garble_sweden = for_claim("Sweden", "nonsense, not JSON")
    chat.enqueue(EXTRACTION, *[garble_sweden] * 3)  # Finland: 1 call; Sweden: 1 call + 1 re-ask
    report = ingested.check(ARTICLE)
    assert chat.pending == 0
    assert [(f.claim_id, f.error_type) for f in report.failures] == [("c002", "InvalidOutputError")]
    assert [v.claim_id for v in report.verdicts] == ["c001"]


def test_authentication_error_propagates(ingested: Verifier, chat: FakeChatModel):
    reject = AuthenticationError("the endpoint rejected the API key (401)")
    chat.enqueue(EXTRACTION, reject, reject)
    with pytest.raises(AuthenticationError):
        ingested.check(ARTICLE)


def test_failed_extraction_window_is_reported_as_a_failure(ingested: Verifier, chat: FakeChatModel):
    bad = extraction_answer([{"sentence": 99, "claim": "Something else entirely", "kind": "fact"}])
    chat.enqueue(bad, bad)
    report = ingested.check(ARTICLE)
    assert report.claims == []
    assert report.complete is False
    assert [f.stage for f in report.failures] == ["extract"]
    assert verdict_requests(chat) == []


def test_dropped_claims_are_reported_as_warnings(ingested: Verifier, chat: FakeChatModel):
    extraction = extraction_answer([{"sentence": 2, "claim": "Penguins live at the South Pole", "kind": "fact"}])
    chat.enqueue(extraction)
    report = ingested.check(ARTICLE)
    assert report.claims == []
    dropped = [w for w in report.run.warnings if "not grounded" in w]
    assert len(dropped) == 1 and "Penguins" in dropped[0]
    assert any("no article date was known" in w for w in report.run.warnings)
    assert report.complete is True


def test_check_on_empty_text_raises_input_error(verifier: Verifier, chat: FakeChatModel):
    for text in ("", "   \n\t "):
        with pytest.raises(InputError, match="empty"):
            verifier.check(text)
    assert chat.requests == []


def test_check_on_text_over_the_limit_raises_input_error(tmp_path: Path, chat: FakeChatModel):
    config = VerifyConfig(
        extractor="windows",
        kind_classifier=False,
        store_path=tmp_path / "chroma",
        calibration="off",
        max_article_chars=100,
    )
    verifier = Verifier(config, chat=chat, embedder=HashEmbedder())
    with pytest.raises(InputError, match="limit"):
        verifier.check("word " * 21)
    assert chat.requests == []


def test_check_before_ingest_points_to_verify_ingest(verifier: Verifier, chat: FakeChatModel):
    with pytest.raises(CollectionMissingError, match="verify ingest"):
        verifier.check(ARTICLE)
    assert chat.requests == []


def test_check_file_reads_the_article_and_records_its_source(ingested: Verifier, chat: FakeChatModel, tmp_path: Path):
    path = tmp_path / "article.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    chat.enqueue(EXTRACTION, cite_first_sentence, cite_first_sentence)
    report = ingested.check_file(path)
    assert report.article.source == str(path)
    assert len(report.verdicts) == 2


def test_run_usage_counts_the_calls_spent_on_a_failed_claim(ingested: Verifier, chat: FakeChatModel):
    garble_sweden = for_claim("Sweden", "nonsense, not JSON")
    chat.enqueue(EXTRACTION, *[garble_sweden] * 3)  # Finland: 1 call; Sweden: 1 call + 1 re-ask
    report = ingested.check(ARTICLE)
    assert len(chat.requests) == 4
    assert report.run.usage["judge"].calls == 3


def test_run_usage_counts_the_calls_spent_on_a_failed_extraction_window(ingested: Verifier, chat: FakeChatModel):
    bad = extraction_answer([{"sentence": 99, "claim": "Something else entirely", "kind": "fact"}])
    chat.enqueue(bad, bad)
    report = ingested.check(ARTICLE)
    assert len(chat.requests) == 2
    assert report.run.usage["extract"].calls == 2


def test_report_warns_when_no_calibration_matches(tmp_path):
    from verify import Verifier, VerifyConfig
    from verify.testing import FakeChatModel, HashEmbedder

    config = VerifyConfig(
        extractor="windows",
        kind_classifier=False,
        store_path=tmp_path / "chroma",
        calibration="auto",
        calibration_dir=tmp_path / "none",
    )
    verifier = Verifier(config, chat=FakeChatModel(), embedder=HashEmbedder())
    assert verifier.calibration is None
    assert "no label calibration" in verifier._calibration_warning()[0]
    off = Verifier(config.model_copy(update={"calibration": "off"}), chat=FakeChatModel(), embedder=HashEmbedder())
    assert off._calibration_warning() == []


def test_a_given_date_reaches_the_prompt_and_the_report(ingested: Verifier, chat: FakeChatModel):
    chat.enqueue(EXTRACTION, cite_first_sentence, cite_first_sentence)
    report = ingested.check(ARTICLE, date="2024-03-08")
    assert (report.article.date, report.article.date_source) == ("2024-03-08", "given")
    assert report.article.headline == "Nordic states join NATO"
    assert chat.requests[0].messages[-1]["content"].startswith("Article date: 8 March 2024 (Friday).")
    assert not any("no article date" in w for w in report.run.warnings)


def test_a_bad_date_is_an_input_error(ingested: Verifier, chat: FakeChatModel):
    with pytest.raises(InputError, match="ISO date"):
        ingested.check(ARTICLE, date="8 March")
    assert chat.requests == []


def test_a_failed_extraction_window_is_a_typed_failure_and_the_article_goes_on(ingested: Verifier, chat: FakeChatModel):
    config = ingested.config.model_copy(update={"window_sentences": 2, "context_sentences": 1})
    verifier = Verifier(config, chat=chat, embedder=ingested.embedder, store=ingested.store())
    opinion_only = extraction_answer([{"sentence": 4, "claim": "This expansion was a provocation", "kind": "opinion"}])
    chat.enqueue(BackendError("the model endpoint timed out"), opinion_only)
    report = verifier.check(ARTICLE)
    assert report.complete is False
    assert [(type(f).__name__, f.first_sentence, f.last_sentence, f.error_type) for f in report.failures] == [
        ("WindowFailure", 2, 3, "BackendError")
    ]
    assert [(c.kind, c.sentence) for c in report.claims] == [  # the window of sentence 4 still ran
        (ClaimKind.OPINION, "This expansion was a reckless and dangerous provocation.")
    ]
    assert Report.model_validate_json(report.model_dump_json()).failures == report.failures
