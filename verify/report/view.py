"""What an editor reads of a report, computed once for every output format (HTML page, Markdown).

The view keeps the report's text as it is; escaping belongs to each output format. Source URLs are
kept only when they are http(s).
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from ..models import ClaimFailure, Report, WindowFailure

# Every status a claim can have on the page, in the order of the legend.
STATUSES: tuple[str, ...] = ("supported", "disputed", "unverifiable", "not_checkable", "error")
STATUS_TEXT = {
    "supported": "Supported",
    "disputed": "Disputed",
    "unverifiable": "Unverifiable",
    "not_checkable": "Not checkable",
    "error": "Error",
}
STATUS_HELP = {
    "supported": "the cited evidence states it",
    "disputed": "the cited evidence contradicts it",
    "unverifiable": "the closest evidence does not settle it",
    "not_checkable": "opinion, prediction or other: listed, not judged",
    "error": "could not be judged",
}
# A sentence holding claims of several statuses is coloured by the first of these.
_PRIORITY = ("error", "disputed", "unverifiable", "supported", "not_checkable")


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL without spaces, control characters or ``<>"`\\``, else None."""
    if not url:
        return None
    url = url.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch in '<>"`\\' for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def confidence_words(confidence: float | None) -> str:
    """Words for a confidence, as README's "Limits" reads the measured figures."""
    if confidence is None:
        return "not given"
    if confidence < 0.5:
        return "low (a lead, not a finding)"
    if confidence < 0.7:
        return "moderate (about two in three right)"
    return "high"


class CitationView(BaseModel):
    passage_id: str
    quote: str
    before: str = Field(description="passage text before the quote")
    after: str = Field(description="passage text after the quote")
    title: str | None = None
    publisher: str | None = None
    date: str | None = None
    url: str | None = Field(None, description="the source URL, only when it is http(s)")
    unsafe_url: str | None = Field(None, description="a source URL that is not http(s): shown as text, never linked")
    doc_id: str | None = None
    flags: list[str] = Field(default_factory=list)


class ClaimView(BaseModel):
    id: str
    number: int
    text: str
    kind: str
    kind_reason: str | None = None
    checkable_prob: float | None = None
    sentence: str
    start: int
    end: int
    status: str
    confidence: float | None = None
    confidence_words: str = "not given"
    rationale: str | None = None
    model_label: str | None = None
    downgraded_from: str | None = None
    downgrade_reason: str | None = None
    citations: list[CitationView] = Field(default_factory=list)
    dropped_citations: list[str] = Field(default_factory=list)
    failure: str | None = None

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]


class Segment(BaseModel):
    """A stretch of the article text and the claims whose sentence covers it."""

    text: str
    claim_ids: list[str] = Field(default_factory=list)
    status: str | None = None
    ends: list[str] = Field(default_factory=list, description="claims whose sentence ends here (badge placement)")


class ReportView(BaseModel):
    title: str
    source: str | None = None
    headline: str | None = None
    outlet: str | None = None
    article_url: str | None = None
    article_date: str | None = None
    date_source: str | None = None
    segments: list[Segment]
    claims: list[ClaimView]
    counts: dict[str, int]
    complete: bool
    window_failures: list[str] = Field(default_factory=list)
    article_failures: list[str] = Field(default_factory=list, description="failures naming no claim of the report")
    warnings: list[str] = Field(default_factory=list)
    model: str
    backend: str
    collection: str
    embedding_model: str
    calibration: str | None = None
    prompt_hashes: dict[str, str] = Field(default_factory=dict)
    verify_version: str
    run_date: str | None = None

    @property
    def set_aside(self) -> list[ClaimView]:
        return [c for c in self.claims if c.status == "not_checkable"]

    @property
    def errors(self) -> list[ClaimView]:
        return [c for c in self.claims if c.status == "error"]

    def claim(self, claim_id: str) -> ClaimView:
        return next(c for c in self.claims if c.id == claim_id)


def build_view(report: Report, meta: dict[str, Any] | None = None, *, run_date: bool = True) -> ReportView:
    """``meta``: the input's metadata (title, outlet, date, url) when a batch had them; ``run_date``
    False leaves the run's timestamp out (batch outputs hold none)."""
    meta = meta or {}
    failures = {f.claim_id: f for f in report.failures if isinstance(f, ClaimFailure)}
    claims = [_claim_view(report, i, claim.id, failures) for i, claim in enumerate(report.claims, 1)]
    known = {c.id for c in report.claims}
    article = report.article
    return ReportView(
        title=str(meta.get("title") or article.headline or article.source or f"Article {article.id}"),
        source=article.source,
        headline=article.headline,
        outlet=_text(meta.get("outlet")),
        article_url=safe_url(_text(meta.get("url"))),
        article_date=article.date or _text(meta.get("date")),
        date_source=article.date_source,
        segments=_segments(article.text, claims),
        claims=claims,
        counts={s: Counter(c.status for c in claims).get(s, 0) for s in STATUSES},
        complete=report.complete,
        window_failures=[
            f"sentences {f.first_sentence}-{f.last_sentence}: {f.error_type}: {f.message}"
            for f in report.failures
            if isinstance(f, WindowFailure)
        ],
        article_failures=[
            f"{f.claim_id} ({f.stage}): {f.error_type}: {f.message}"
            for f in report.failures
            if isinstance(f, ClaimFailure) and f.claim_id not in known
        ],
        warnings=list(report.run.warnings),
        model=report.run.model,
        backend=report.run.backend,
        collection=report.run.collection,
        embedding_model=report.run.embedding_model,
        calibration=report.run.calibration,
        prompt_hashes=dict(report.run.prompt_hashes),
        verify_version=report.run.verify_version,
        run_date=report.run.started_at.strftime("%Y-%m-%d %H:%M UTC") if run_date else None,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _claim_view(report: Report, number: int, claim_id: str, failures: dict[str, ClaimFailure]) -> ClaimView:
    claim = report.claim(claim_id)
    verdict = report.verdict_for(claim_id)
    view = ClaimView(
        id=claim.id,
        number=number,
        text=claim.text,
        kind=claim.kind.value,
        kind_reason=claim.kind_reason,
        checkable_prob=claim.checkable_prob,
        sentence=claim.sentence,
        start=claim.span.start,
        end=claim.span.end,
        status="not_checkable",
    )
    if not claim.checkable:
        return view
    if verdict is None:
        failure = failures.get(claim.id)
        view.status = "error"
        view.failure = f"{failure.error_type}: {failure.message}" if failure else "no verdict"
        return view
    view.status = verdict.label.value
    view.confidence = verdict.confidence
    view.confidence_words = confidence_words(verdict.confidence)
    view.rationale = verdict.rationale or None
    view.model_label = verdict.model_label.value
    view.downgraded_from = verdict.downgraded_from.value if verdict.downgraded_from else None
    view.downgrade_reason = verdict.downgrade_reason
    view.dropped_citations = [f"{d.quote!r}: {d.reason}" for d in verdict.dropped_citations]
    for cite in verdict.citations:
        passage = report.passages.get(cite.passage_id)
        text = passage.text if passage is not None else ""
        end = cite.start + len(cite.quote)
        found = text[cite.start : end] == cite.quote
        url = passage.url if passage is not None else None
        view.citations.append(
            CitationView(
                passage_id=cite.passage_id,
                quote=cite.quote,
                before=text[: cite.start] if found else "",
                after=text[end:] if found else "",
                title=passage.title if passage else None,
                publisher=passage.publisher if passage else None,
                date=passage.date if passage else None,
                url=safe_url(url),
                unsafe_url=url if url and safe_url(url) is None else None,
                doc_id=passage.doc_id if passage else None,
                flags=list(passage.flags) if passage else [],
            )
        )
    return view


def _segments(text: str, claims: list[ClaimView]) -> list[Segment]:
    """The article cut at every claim sentence's start and end; each piece knows its claims."""
    spans = [(max(0, min(c.start, len(text))), max(0, min(c.end, len(text))), c) for c in claims]
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    segments = []
    for a, b in itertools.pairwise(cuts):
        covering = [c for s, e, c in spans if s <= a and e >= b and s < e]
        statuses = {c.status for c in covering}
        status = next((s for s in _PRIORITY if s in statuses), None)
        segments.append(
            Segment(
                text=text[a:b],
                claim_ids=[c.id for c in covering],
                status=status,
                ends=[c.id for s, e, c in spans if e == b and s < e],
            )
        )
    return segments
