"""Typed contracts passed between pipeline stages.

Stages refer to each other's objects by id (claim ids, passage ids), never by text.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field


class Label(StrEnum):
    SUPPORTED = "supported"
    DISPUTED = "disputed"
    UNVERIFIABLE = "unverifiable"


LABELS: tuple[Label, ...] = (Label.SUPPORTED, Label.DISPUTED, Label.UNVERIFIABLE)


class ClaimKind(StrEnum):
    FACT = "fact"
    OPINION = "opinion"
    PREDICTION = "prediction"
    OTHER = "other"


def content_id(text: str, length: int = 16) -> str:
    """A stable id derived from text content."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


class Article(BaseModel):
    id: str
    text: str
    source: str | None = None
    date: str | None = Field(None, description="ISO date relative times were resolved against, if known")
    date_source: str | None = Field(None, description="'given', or the dateline the date was read from")
    headline: str | None = Field(None, description="The first line, when it is a headline (not extracted)")

    @classmethod
    def from_text(cls, text: str, source: str | None = None) -> Article:
        return cls(id=content_id(text, 12), text=text, source=source)


class Span(BaseModel):
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Claim(BaseModel):
    id: str
    text: str = Field(description="Atomic, self-contained claim")
    kind: ClaimKind
    span: Span = Field(description="Character span of the source sentence in the article")
    sentence: str = Field(description="The source sentence, article[span.start:span.end]")
    kind_reason: str | None = Field(None, description="Why code set the kind (e.g. a question), if it did")
    model_kind: ClaimKind | None = Field(None, description="The kind the extractor wrote")
    checkable_prob: float | None = Field(None, description="The kind classifier's P(checkable fact)")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def checkable(self) -> bool:
        return self.kind == ClaimKind.FACT


class EvidencePassage(BaseModel):
    id: str = Field(description="Content hash of the passage text")
    doc_id: str
    text: str
    title: str | None = None
    url: str | None = None
    publisher: str | None = None
    date: str | None = None
    source_path: str | None = None
    chunk_index: int = 0
    flags: list[str] = Field(
        default_factory=list, description="Ingest scan flags (verify/scan.py): text that looks aimed at a model"
    )
    original_text: str | None = Field(
        None, description="The text as the document had it, when the scan removed invisible control characters"
    )


class Citation(BaseModel):
    passage_id: str
    quote: str = Field(description="Verbatim substring of the passage text")
    start: int = Field(ge=0, description="Offset of the quote in the passage text")


class DroppedCitation(BaseModel):
    passage_id: str | None
    quote: str
    reason: str


class Verdict(BaseModel):
    claim_id: str
    label: Label
    rationale: str
    citations: list[Citation] = Field(default_factory=list)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    label_probs: dict[Label, float] | None = Field(default=None, description="After calibration")
    label_probs_raw: dict[Label, float] | None = Field(default=None, description="Before calibration")
    model_label: Label = Field(description="The label the model wrote before calibration and checks")
    downgraded_from: Label | None = None
    downgrade_reason: str | None = None
    dropped_citations: list[DroppedCitation] = Field(default_factory=list)
    retrieved_passage_ids: list[str] = Field(default_factory=list)
    raw_output: str | None = None


class ClaimFailure(BaseModel):
    """A claim that could not be judged. Never a label."""

    claim_id: str
    stage: str
    error_type: str
    message: str


class WindowFailure(BaseModel):
    """A window of sentences whose claims could not be extracted; the rest of the article goes on."""

    stage: str = "extract"
    first_sentence: int = Field(description="1-based number of the window's first target sentence")
    last_sentence: int
    error_type: str
    message: str

    @property
    def claim_id(self) -> str:
        return f"sentences:{self.first_sentence}-{self.last_sentence}"


class Usage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = Field(0, description="Prompt tokens served from the server's prefix cache")
    completion_tokens: int = 0
    model_seconds: float = 0.0

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.cached_tokens += other.cached_tokens
        self.completion_tokens += other.completion_tokens
        self.model_seconds += other.model_seconds


class RunInfo(BaseModel):
    verify_version: str
    model: str
    backend: str
    base_url: str | None = None
    embedding_model: str
    collection: str
    prompt_hashes: dict[str, str]
    calibration: str | None = None
    kind_combiner: str | None = None  # the fitted kind combiner file, when the kind step uses one
    timings: dict[str, float] = Field(default_factory=dict)
    usage: dict[str, Usage] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Report(BaseModel):
    article: Article
    claims: list[Claim]
    verdicts: list[Verdict]
    failures: list[ClaimFailure | WindowFailure] = Field(default_factory=list)
    passages: dict[str, EvidencePassage] = Field(
        default_factory=dict, description="Every passage retrieved for any claim, by passage id"
    )
    run: RunInfo

    @computed_field  # type: ignore[prop-decorator]
    @property
    def complete(self) -> bool:
        """True when every checkable claim got a verdict."""
        return not self.failures

    def verdict_for(self, claim_id: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.claim_id == claim_id), None)

    def claim(self, claim_id: str) -> Claim:
        return next(c for c in self.claims if c.id == claim_id)
