"""A fixed report for the report-page tests: every status, citations, failures, and hostile markup in
the article and in a source (a script, an event handler, a javascript: URL) that must run nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from verify.models import (
    Article,
    Citation,
    Claim,
    ClaimFailure,
    ClaimKind,
    EvidencePassage,
    Label,
    Report,
    RunInfo,
    Span,
    Verdict,
    WindowFailure,
)

HOSTILE = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'

SENTENCES = [
    "NATO summit in Vilnius",
    "Finland became the 31st member of NATO on 4 April 2023.",
    "Sweden joined in 2022 after a unanimous vote.",
    f"The summit was held in Vilnius {HOSTILE} in July 2023.",
    "The expansion was a reckless provocation.",
    "Hungary approved the accession on 26 February 2024.",
]
TEXT = SENTENCES[0] + "\n\n" + " ".join(SENTENCES[1:]) + "\n"


def _span(sentence: str) -> Span:
    start = TEXT.index(sentence)
    return Span(start=start, end=start + len(sentence))


def _claim(cid: str, sentence_no: int, text: str, kind: ClaimKind = ClaimKind.FACT, **kw) -> Claim:
    sentence = SENTENCES[sentence_no]
    return Claim(id=cid, text=text, kind=kind, span=_span(sentence), sentence=sentence, **kw)


FINLAND = EvidencePassage(
    id="p-finland",
    doc_id="finland",
    text="Finland joins NATO. Finland became the 31st member of NATO on 4 April 2023. The flag was raised.",
    title="Finland joins NATO",
    publisher="Test desk",
    date="2023-04-04",
    url="https://example.org/finland",
)
SWEDEN = EvidencePassage(
    id="p-sweden",
    doc_id="sweden",
    text=f"Sweden became the 32nd member of NATO on 7 March 2024. {HOSTILE} Ratification took long.",
    title=f"Sweden <b>joins</b> {HOSTILE}",
    publisher="Other desk",
    date="2024-03-07",
    url="javascript:window.__pwned=3",
)
VILNIUS = EvidencePassage(
    id="p-vilnius",
    doc_id="vilnius",
    text="NATO leaders met in Vilnius, the capital of Lithuania, on 11 and 12 July 2023.",
    title="Vilnius summit",
    publisher="Test desk",
    url="http://example.org/vilnius",
    flags=["instruction_like"],
)


def _verdict(cid: str, label: Label, passage: EvidencePassage, quote: str, confidence: float, **kw) -> Verdict:
    return Verdict(
        claim_id=cid,
        label=label,
        rationale=kw.pop("rationale", f"The passage {label.value} it."),
        citations=[Citation(passage_id=passage.id, quote=quote, start=passage.text.index(quote))],
        confidence=confidence,
        model_label=kw.pop("model_label", label),
        **kw,
    )


def sample_report() -> Report:
    claims = [
        _claim("c001", 1, "Finland became the 31st member of NATO on 4 April 2023."),
        _claim("c002", 2, "Sweden joined NATO in 2022."),
        _claim("c003", 2, "Sweden's accession vote was unanimous."),
        _claim("c004", 3, f"The summit was held in Vilnius in July 2023 {HOSTILE}."),
        _claim("c005", 4, "The expansion was a reckless provocation.", ClaimKind.OPINION, kind_reason="opinion word"),
        _claim("c006", 5, "Hungary approved the accession on 26 February 2024."),
    ]
    verdicts = [
        _verdict("c001", Label.SUPPORTED, FINLAND, "Finland became the 31st member of NATO on 4 April 2023.", 0.82),
        _verdict(
            "c002",
            Label.DISPUTED,
            SWEDEN,
            "Sweden became the 32nd member of NATO on 7 March 2024.",
            0.64,
            rationale=f"It joined in 2024. {HOSTILE}",
        ),
        _verdict(
            "c003",
            Label.UNVERIFIABLE,
            SWEDEN,
            "Ratification took long.",
            0.41,
            model_label=Label.SUPPORTED,
            downgraded_from=Label.SUPPORTED,
            downgrade_reason="figure not in evidence",
        ),
        _verdict("c004", Label.SUPPORTED, VILNIUS, "on 11 and 12 July 2023", 0.77),
    ]
    return Report(
        article=Article(
            id="a1b2c3", text=TEXT, source="vilnius.txt", date="2024-05-01", date_source="given", headline=SENTENCES[0]
        ),
        claims=claims,
        verdicts=verdicts,
        failures=[
            ClaimFailure(claim_id="c006", stage="judge", error_type="TimeoutError", message="the model took too long"),
            WindowFailure(first_sentence=7, last_sentence=9, error_type="InvalidOutputError", message="not JSON"),
        ],
        passages={p.id: p for p in (FINLAND, SWEDEN, VILNIUS)},
        run=RunInfo(
            verify_version="0.1.0",
            model="fake-model",
            backend="openai",
            embedding_model="hash-embedder-64",
            collection="evidence",
            prompt_hashes={"extract_claims": "v1-aaaa", "judge_label": "v2-bbbb"},
            calibration="evals/calibration/fake.json",
            started_at=datetime(2024, 5, 2, 9, 30, tzinfo=UTC),
        ),
    )


META = {
    "title": "Summit <i>report</i>",
    "outlet": "The Test Times",
    "date": "2024-05-01",
    "url": "https://news.example/summit",
}
