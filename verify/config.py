"""One configuration object for every entry point.

Precedence, lowest to highest: defaults, a TOML file (``--config`` or ``VERIFY_CONFIG``, else
``./verify.toml`` if present), environment variables (``VERIFY_*``, plus ``OPENAI_API_KEY``), then
explicit overrides from the CLI or the caller.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator

from .errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def default_cache_dir() -> Path:
    env = os.environ.get("VERIFY_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "verify"


class ModelPrice(BaseModel):
    """USD per million tokens, for the cost estimate of a batch run."""

    model_config = {"frozen": True, "extra": "forbid"}

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)
    cached: float | None = Field(None, ge=0, description="Cached prompt tokens (default: the prompt price)")


class VerifyConfig(BaseModel):
    """Everything a :class:`verify.Verifier` needs. Immutable once built."""

    model_config = {"frozen": True, "extra": "forbid"}

    # Chat model
    backend: Literal["embedded", "openai"] = Field(
        "embedded", description="embedded: packaged GGUF via xllamacpp; openai: any OpenAI-compatible API"
    )
    embedded_model: Literal["qwen2.5-coder-1.5b", "qwen2.5-0.5b"] = "qwen2.5-coder-1.5b"
    base_url: str | None = Field(None, description="OpenAI-compatible base URL (backend=openai)")
    api_key: SecretStr | None = None
    model: str | None = Field(None, description="Model name sent to the endpoint (backend=openai)")
    temperature: float = 0.0
    request_timeout: float = Field(300.0, gt=0, description="Seconds per HTTP request")
    max_retries: int = Field(2, ge=0, description="Transport retries, done by the openai client")
    max_reasks: int = Field(1, ge=0, description="Re-asks after invalid model output (tenacity)")
    logprobs: bool = Field(True, description="Ask for label probabilities (needs endpoint support)")
    calibration: str = Field(
        "auto",
        description="'auto' (the combiner, else the label priors, fitted in evals/calibration for this model and "
        "judge prompt), 'off', or a path to a combiner or priors JSON file",
    )
    n_threads: int | None = Field(None, description="Embedded model CPU threads (default: all cores)")
    n_ctx: int = Field(4096, ge=2048, description="Context tokens per concurrent request")
    cache_dir: Path = Field(default_factory=default_cache_dir)

    # Evidence store
    store_path: Path = Path(".verify/chroma")
    chroma_url: str | None = Field(None, description="http://host:port of a shared Chroma server")
    collection: str = "evidence"
    embedding_model: Literal["all-MiniLM-L6-v2"] = "all-MiniLM-L6-v2"
    chunk_size: int = Field(600, ge=200)
    chunk_overlap: int = Field(100, ge=0)

    # Retrieval and judging
    top_k: int = Field(4, ge=1, le=20)
    dense_candidates: int = Field(20, ge=1)
    lexical_candidates: int = Field(20, ge=1)
    near_duplicate_jaccard: float = Field(0.8, gt=0, le=1)
    max_citations: int = Field(2, ge=1)
    figure_check: bool = Field(
        True, description="Downgrade 'supported' to 'unverifiable' when a figure of the claim is in no passage"
    )
    name_check: bool = Field(
        True, description="Downgrade 'supported' when a name or month of the claim is in no cited sentence"
    )
    evidence_sentences: int = Field(
        4, ge=0, description="Evidence sentences shown to the judge per claim, best first (0: every sentence)"
    )
    judge_citations: Literal["model", "code"] = Field(
        "code",
        description="model: the judge names the deciding sentence ids; code: the judge writes only the label "
        "(prompt judge_label) and the cited sentence is the shown sentence closest to the claim",
    )
    judge_rationale: bool = Field(False, description="Ask the judge for a one-sentence rationale (slower)")
    min_support_prob: float = Field(
        0.60,
        ge=0.0,
        le=1.0,
        description="A 'supported' verdict whose (calibrated) probability is below this becomes 'unverifiable' "
        "(0.60: the highest out-of-fold macro-F1 with false support <= 0.08 on the development part, "
        "evals/RESULTS.md section 12; 0 turns it off)",
    )
    continue_answers: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Read the kind step's answer (and the judge's label, with judge_continue) from one token of "
        "a continued answer (the assistant message starts with the JSON before the value) instead of a "
        "schema-constrained answer; needs a server that continues a final assistant message (llama.cpp does, "
        "the OpenAI API does not). auto: on for the embedded model",
    )
    judge_continue: bool = Field(
        False,
        description="Also read the judge's label from a continued answer; measured no faster and less accurate "
        "than the schema answer the combiner was fitted on (evals/RESULTS.md section 12)",
    )
    concurrency: int = Field(2, ge=1, le=16, description="Model calls in flight at once (and embedded server slots)")

    # Extraction
    extractor: Literal["windows", "sentences"] = Field(
        "sentences",
        description="windows: the model lists the claims of each window of sentences; sentences: each sentence is "
        "a claim as written, and the kind step decides what is checkable (see rewrite_sentences; evals/RESULTS.md "
        "section 13)",
    )
    rewrite_sentences: bool = Field(
        False,
        description="With extractor = sentences: rewrite each fact sentence that leans on its context to stand "
        "alone (one call each; measured: no gain on the development articles at three times the time)",
    )
    neutral_sentences: bool = Field(
        False,
        description="With extractor = sentences: rewrite every fact sentence as the plain fact it states, without "
        "loaded words or opinion clauses, names and dates resolved (prompt neutral_sentence, one call each; "
        "takes the place of rewrite_sentences; evals/RESULTS.md section 14)",
    )
    resolve_dates: bool = Field(
        True,
        description="With extractor = sentences and a known article date: each unambiguous relative time in a "
        "claim ('yesterday', 'last month', 'two years ago') is followed by the date it means, in code "
        "(verify.dates.resolve_relative; evals/RESULTS.md section 16)",
    )
    resolve_referents: bool = Field(
        False,
        description="With extractor = sentences: 'the alliance' or 'the bloc' in a claim is followed by the "
        "organisation the article has named most often before it ('the alliance (NATO)'), in code "
        "(verify.referents; measured as no gain and off: evals/RESULTS.md section 18)",
    )
    quoted_kinds: bool = Field(
        True,
        description="With extractor = sentences: a sentence that voices one of the article's quoted commentators "
        "(an analyst, historian, researcher, ... by role word or by a name the article gave such a role) is "
        "scored by the kind step on the quoted words, not as the attribution 'X says Y'; the claim keeps the "
        "sentence (verify.quotes; evals/RESULTS.md section 19)",
    )
    window_sentences: int = Field(10, ge=1)
    kind_classifier: bool = Field(True, description="Decide fact / not checkable by a separate short call per claim")
    kind_logprobs: bool = Field(
        False,
        description="Without the kind classifier: decide fact / not checkable from P(fact) at the kind the "
        "extractor writes (no extra call), against checkable_threshold; measured worse than the classifier "
        "(evals/RESULTS.md section 3c)",
    )
    split_long_claims: bool = Field(
        False,
        description="Rewrite each fact claim longer than split_words words as short statements (one call each; with "
        "extractor = sentences only the sentences the kind step keeps as facts)",
    )
    split_words: int = Field(20, ge=5)
    checkable_threshold: float = Field(
        0.55,
        ge=0,
        le=1,
        description="P(checkable) from which the kind classifier calls a claim a fact (fitted on dev), when no kind "
        "combiner is used (a kind combiner carries its own threshold)",
    )
    kind_combiner: str = Field(
        "auto",
        description="'auto' (the kind combiner fitted in calibration_dir for this model and classify_claim prompt, "
        "if any), 'off', or a path to a kind combiner JSON file",
    )
    context_sentences: int = Field(3, ge=0)
    max_article_chars: int = Field(60_000, ge=1)
    # reading one reference document: bigger, deeper or slower files are refused with a clear error
    max_document_bytes: int = Field(20_000_000, ge=1)
    max_html_depth: int = Field(256, ge=1)
    max_pdf_pages: int = Field(2_000, ge=1)
    max_parse_seconds: float = Field(60.0, gt=0)

    prompts_dir: Path = PROJECT_DIR / "prompts"
    calibration_dir: Path = PROJECT_DIR / "evals" / "calibration"

    # ----- batch runs (verify batch; issue 12) -----
    max_in_flight: int | None = Field(
        None, ge=1, description="Model requests in flight across a batch (default: embedded slots, 16 for a remote URL)"
    )
    requests_per_minute: float | None = Field(None, gt=0, description="Batch limit on requests started per minute")
    tokens_per_minute: float | None = Field(None, gt=0, description="Batch limit on estimated tokens sent per minute")
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict, description="[prices.<model>]: USD per million prompt / cached / completion tokens"
    )

    # ----- exports (issue 14) -----
    claimreview_author: str | None = Field(None, description="ClaimReview author: the publishing organisation's name")
    claimreview_author_url: str | None = Field(None, description="ClaimReview author URL (http or https)")

    @model_validator(mode="after")
    def _check(self) -> VerifyConfig:
        if self.backend == "openai" and not self.model:
            raise ValueError("backend 'openai' needs a model name (VERIFY_MODEL or model = ...)")
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self

    @property
    def model_name(self) -> str:
        return self.model or self.embedded_model

    @classmethod
    def load(cls, path: Path | str | None = None, **overrides: Any) -> VerifyConfig:
        """Defaults < TOML file < environment < overrides (``None`` overrides are ignored)."""
        values: dict[str, Any] = {}
        file = Path(path) if path else _default_config_file()
        if file is not None:
            if not file.is_file():
                raise ConfigError(f"config file not found: {file}")
            try:
                values.update(tomllib.loads(file.read_text(encoding="utf-8")))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot parse config file {file}: {exc}") from exc
        values.update(_from_env())
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("base_url") and "backend" not in values:
            values["backend"] = "openai"
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "config"
            raise ConfigError(f"invalid configuration: {where}: {first['msg']}") from exc

    def redacted(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["api_key"] = "***" if self.api_key else None
        return data


_ENV = {
    "VERIFY_BACKEND": "backend",
    "VERIFY_BASE_URL": "base_url",
    "VERIFY_MODEL": "model",
    "VERIFY_EMBEDDED_MODEL": "embedded_model",
    "VERIFY_STORE": "store_path",
    "VERIFY_CHROMA_URL": "chroma_url",
    "VERIFY_COLLECTION": "collection",
    "VERIFY_THREADS": "n_threads",
    "VERIFY_CALIBRATION": "calibration",
    "VERIFY_CONCURRENCY": "concurrency",
    "VERIFY_FIGURE_CHECK": "figure_check",
    "VERIFY_NAME_CHECK": "name_check",
    "VERIFY_EVIDENCE_SENTENCES": "evidence_sentences",
    "VERIFY_JUDGE_CITATIONS": "judge_citations",
    "VERIFY_KIND_CLASSIFIER": "kind_classifier",
    "VERIFY_CHECKABLE_THRESHOLD": "checkable_threshold",
    "VERIFY_KIND_COMBINER": "kind_combiner",
    "VERIFY_WINDOW_SENTENCES": "window_sentences",
    "VERIFY_EXTRACTOR": "extractor",
    "VERIFY_REWRITE_SENTENCES": "rewrite_sentences",
    "VERIFY_NEUTRAL_SENTENCES": "neutral_sentences",
    "VERIFY_SPLIT_LONG_CLAIMS": "split_long_claims",
    "VERIFY_RESOLVE_DATES": "resolve_dates",
    "VERIFY_RESOLVE_REFERENTS": "resolve_referents",
    "VERIFY_QUOTED_KINDS": "quoted_kinds",
}


def _from_env() -> dict[str, Any]:
    values: dict[str, Any] = {field: os.environ[var] for var, field in _ENV.items() if os.environ.get(var)}
    key = os.environ.get("VERIFY_API_KEY") or os.environ.get("OPENAI_API_KEY")
    if key:
        values["api_key"] = key
    return values


def _default_config_file() -> Path | None:
    env = os.environ.get("VERIFY_CONFIG")
    if env:
        return Path(env)
    local = Path("verify.toml")
    return local if local.is_file() else None
