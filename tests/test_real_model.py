"""Tests on the real components: the packaged MiniLM embedder, a persistent Chroma store and the
embedded Qwen2.5-Coder-1.5B model served by llama.cpp. Slow (minutes); inputs are kept short."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest

from verify import Verifier, VerifyConfig
from verify.embedded import ASSETS, ensure_model_file
from verify.embeddings import MiniLMEmbedder
from verify.evals.datasets import load_generic
from verify.evals.metrics import accuracy, macro_f1
from verify.models import Label

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = ROOT / "evidence"
DEMO_DOCS = [
    "nato-finland-accession-2023.md",
    "nato-sweden-hungary-vote-accession-2024.md",
    "nato-enlargement-rounds-1949-2024.md",
    "hist-allied-force-1999.md",
]


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.mark.real_embeddings
def test_minilm_vectors_are_unit_length_and_semantic(embedder: MiniLMEmbedder) -> None:
    a, b, c = embedder.embed(
        [
            "Finland joined NATO in April 2023.",
            "In April 2023 Finland became a member of the North Atlantic alliance.",
            "The grain corridor allowed ships to leave Odesa.",
        ]
    )
    assert len(a) == embedder.dimension == 384
    assert math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-4)
    cos = lambda u, v: sum(x * y for x, y in zip(u, v, strict=True))  # noqa: E731
    assert cos(a, b) > cos(a, c) + 0.2


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> Verifier:
    store = tmp_path_factory.mktemp("store") / "chroma"
    config = VerifyConfig(store_path=store, calibration="auto")
    v = Verifier(config, embedder=embedder)
    stats = v.ingest([EVIDENCE / name for name in DEMO_DOCS])
    assert stats.documents == len(DEMO_DOCS) and stats.added == stats.passages > 0
    yield v
    v.close()


@pytest.mark.real_embeddings
def test_real_store_retrieves_the_relevant_document(verifier: Verifier) -> None:
    again = verifier.ingest([EVIDENCE / name for name in DEMO_DOCS])
    assert again.added == 0 and again.skipped_existing == again.passages
    hits = verifier.retriever().retrieve("On what date did Finland become NATO's 31st member?")
    assert hits[0].passage.doc_id == "nato-finland-accession-2023"
    assert len({h.passage.id for h in hits}) == len(hits) == verifier.config.top_k


@pytest.mark.real_model
def test_packaged_model_assembles_with_verified_hash(tmp_path: Path) -> None:
    asset = ASSETS["qwen2.5-coder-1.5b"]
    path = ensure_model_file(asset, Path(VerifyConfig().cache_dir) / "models")
    assert path.stat().st_size == asset.size
    assert path.with_suffix(".sha256").read_text().strip() == asset.sha256


@pytest.mark.real_model
def test_real_model_checks_a_short_article_end_to_end(verifier: Verifier) -> None:
    article = (
        "Finland joined NATO on 4 April 2023 as the alliance's 31st member. "
        "Sweden became the 32nd member in 2022. "
        "This reckless expansion will surely end in disaster for Europe."
    )
    report = verifier.check(article)
    assert report.claims, "the model extracted no claims"
    for claim in report.claims:
        assert article[claim.span.start : claim.span.end] == claim.sentence
    checkable = [c for c in report.claims if c.checkable]
    assert checkable, "no checkable claim found in an article of plain facts"
    judged = {v.claim_id for v in report.verdicts} | {f.claim_id for f in report.failures}
    assert judged == {c.id for c in checkable}
    assert not any(v.claim_id in {c.id for c in report.claims if not c.checkable} for v in report.verdicts)
    # exactly one judge call per checkable claim, unless a re-ask was needed
    assert report.run.usage["judge"].calls >= len(checkable)
    for verdict in report.verdicts:
        assert verdict.label in Label
        for cite in verdict.citations:
            assert cite.passage_id in verdict.retrieved_passage_ids
            passage = report.passages[cite.passage_id]
            assert passage.text[cite.start : cite.start + len(cite.quote)] == cite.quote
        if verdict.label != Label.UNVERIFIABLE:
            assert verdict.citations, "a supported/disputed verdict must keep a verified citation"
    assert report.run.prompt_hashes[verifier.judge_prompt.name] == verifier.judge_prompt.version


@pytest.mark.real_model
def test_real_model_sets_aside_a_question_and_a_prediction_and_reads_the_dateline(verifier: Verifier) -> None:
    question = "Will Kiev ever be invited to join the alliance?"
    prediction = "Sweden will be kept waiting at the door for years to come."
    article = (
        "Vilnius: another summit of promises\n\n"
        "MOSCOW, 6 December 2023 — Finland joined NATO on 4 April 2023 as its 31st member. "
        f"{question} {prediction} "
        "Last week NATO foreign ministers met in Brussels."
    )
    report = verifier.check(article)
    assert report.article.date == "2023-12-06" and report.article.headline == "Vilnius: another summit of promises"
    by_sentence: dict[str, list] = {}
    for claim in report.claims:
        by_sentence.setdefault(claim.sentence, []).append(claim)
    judged = {v.claim_id for v in report.verdicts}
    for sentence in (question, prediction):
        assert all(not c.checkable and c.id not in judged for c in by_sentence.get(sentence, [])), sentence
    assert not any(c.sentence.startswith("Vilnius: another summit") for c in report.claims)
    assert any(c.checkable for c in report.claims), "the plain fact about Finland was not kept as a fact"


@pytest.mark.real_model
def test_real_judge_scores_above_the_recorded_threshold_on_the_ci_slice(verifier: Verifier) -> None:
    slice_spec = json.loads((ROOT / "evals" / "ci_slice.json").read_text())
    threshold = json.loads((ROOT / "evals" / "ci_threshold.json").read_text())
    items = {it.id: it for it in load_generic(ROOT / slice_spec["dataset"])}
    chosen = [items[i] for i in slice_spec["ids"]]
    judge = verifier.make_judge()

    async def run() -> list[Label | None]:
        gate = asyncio.Semaphore(verifier.config.concurrency)

        async def one(item):  # type: ignore[no-untyped-def]
            async with gate:
                return (await judge.judge(item.id, item.claim, item.passages)).verdict.label

        return list(await asyncio.gather(*(one(item) for item in chosen)))

    preds = asyncio.run(run())
    gold = [it.label for it in chosen]
    acc, f1 = accuracy(gold, preds), macro_f1(gold, preds)
    print(f"CI slice: accuracy {acc:.3f}, macro-F1 {f1:.3f} on {len(gold)} items")
    assert acc >= threshold["min_accuracy"]
    assert f1 >= threshold["min_macro_f1"]


@pytest.mark.real_model
def test_real_judge_does_not_support_a_claim_whose_name_or_date_is_in_no_evidence(verifier: Verifier) -> None:
    finland = verifier.passages_of(EVIDENCE / "nato-finland-accession-2023.md")
    judge = verifier.make_judge()
    planted = [
        "Finland became NATO's 31st member on 4 April 2021.",  # a date no evidence states
        "Norway became NATO's 31st member on 4 April 2023.",  # an actor no evidence names
    ]

    async def run() -> list[Label]:
        return [(await judge.judge(f"p{i}", claim, finland)).verdict.label for i, claim in enumerate(planted)]

    labels = asyncio.run(run())
    assert Label.SUPPORTED not in labels, labels


@pytest.mark.real_model
def test_wrong_api_key_is_rejected_with_a_clear_error() -> None:
    from verify.embedded import EmbeddedServer
    from verify.errors import AuthenticationError
    from verify.llm import ChatRequest, OpenAIChatBackend

    path = ensure_model_file(ASSETS["qwen2.5-coder-1.5b"], Path(VerifyConfig().cache_dir) / "models")
    server = EmbeddedServer(path, n_ctx=2048, api_key="the-right-key")
    try:
        backend = OpenAIChatBackend(model="m", base_url=server.base_url, api_key="a-wrong-key", max_retries=0)
        request = ChatRequest(
            messages=[{"role": "user", "content": "hi"}],
            schema={"type": "object"},
            schema_name="x",
            max_tokens=4,
        )
        with pytest.raises(AuthenticationError, match="rejected the API key"):
            asyncio.run(backend.acomplete(request))
    finally:
        server.close()
