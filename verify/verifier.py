"""The Verifier: one object, built from one config, serving the CLI, the eval harness and Python
callers. Backends (chat model, embedder, store) are injected or built lazily from the config."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

from . import __version__
from .calibration import Calibration, find_calibration
from .chunking import chunk_document
from .combiner import Combiner, find_combiner
from .config import VerifyConfig
from .dates import find_article_date
from .documents import DocumentLimits, check_text, iter_documents, load_document, read_text_file
from .embedded import ASSETS, EmbeddedServer, ensure_model_file
from .embeddings import Embedder, make_embedder
from .errors import (
    FATAL,
    BackendError,
    CollectionMissingError,
    ConfigError,
    InputError,
)
from .extraction import ClaimExtractor
from .judge import Judge, Judgement
from .kind_combiner import KindCombiner, find_kind_combiner
from .kinds import KindClassifier
from .llm import ChatBackend, OpenAIChatBackend
from .logging_setup import install_redaction
from .models import Article, ClaimFailure, EvidencePassage, Report, RunInfo, Usage, Verdict, WindowFailure
from .prompts import PromptTemplate, load_prompt
from .retrieval import HybridRetriever
from .store import EvidenceStore, IngestStats

log = logging.getLogger("verify")


@dataclass
class CheckTrace:
    """Per-call record of one :meth:`Verifier.acheck`: stage wall times and the stage last entered
    (the stage an exception escaped from). Concurrent calls on one Verifier each have their own."""

    timings: dict[str, float] = field(default_factory=dict)
    stage: str | None = None


# The trace of the check running in the current task; component loads done during a check are timed into it.
_TRACE: contextvars.ContextVar[CheckTrace | None] = contextvars.ContextVar("verify_check_trace", default=None)


F = TypeVar("F")


class Verifier:
    """Article in, :class:`~verify.models.Report` out.

    >>> with Verifier(VerifyConfig.load()) as v:  # doctest: +SKIP
    ...     report = v.check(article_text)
    """

    def __init__(
        self,
        config: VerifyConfig | None = None,
        *,
        chat: ChatBackend | None = None,
        embedder: Embedder | None = None,
        store: EvidenceStore | None = None,
    ) -> None:
        self.config = config or VerifyConfig.load()
        self._redaction = install_redaction(self.config.api_key.get_secret_value() if self.config.api_key else None)
        self._chat = chat
        self._embedder = embedder
        self._store = store
        self._retriever: HybridRetriever | None = None
        self._server: EmbeddedServer | None = None
        self._lock = threading.Lock()
        # timings of the check that finished last (concurrent checks: see report.run.timings)
        self.timings: dict[str, float] = {}
        sentences = self.config.extractor == "sentences"
        self.extract_prompt: PromptTemplate | None = (
            None if sentences else load_prompt(self.config.prompts_dir, "extract_claims")
        )
        self.rewrite_prompt: PromptTemplate | None = None
        if sentences and (self.config.neutral_sentences or self.config.rewrite_sentences):
            name = "neutral_sentence" if self.config.neutral_sentences else "rewrite_sentence"
            self.rewrite_prompt = load_prompt(self.config.prompts_dir, name)
        self.judge_prompt: PromptTemplate = load_prompt(
            self.config.prompts_dir, "judge_claim" if self.config.judge_citations == "model" else "judge_label"
        )
        self.kind_prompt: PromptTemplate = load_prompt(self.config.prompts_dir, "classify_claim")
        self.split_prompt: PromptTemplate | None = (
            load_prompt(self.config.prompts_dir, "split_claim") if self.config.split_long_claims else None
        )
        self.calibration = self._load_calibration()
        self.kind_combiner = self._load_kind_combiner()

    @property
    def prompts(self) -> list[PromptTemplate]:
        """Every prompt this configuration sends."""
        prompts = [self.extract_prompt, self.rewrite_prompt, self.split_prompt, self.kind_prompt, self.judge_prompt]
        return [p for p in prompts if p is not None]

    @property
    def prompt_hashes(self) -> dict[str, str]:
        """The version of every prompt this configuration sends; it travels with every report."""
        return {p.name: p.version for p in self.prompts}

    # ----- components, built on first use -------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self.config.model_name

    @property
    def chat(self) -> ChatBackend:
        with self._lock:
            if self._chat is None:
                self._chat = self._build_chat()
            return self._chat

    def wrap_chat(self, wrap: Callable[[ChatBackend], ChatBackend]) -> None:
        """Replace the chat backend every stage uses by ``wrap(backend)`` (a cache, a rate limit, a
        counter around it); the backend is built first if it was not yet."""
        chat = self.chat
        with self._lock:
            self._chat = wrap(chat)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                with self._timed("load_embedder"):
                    self._embedder = make_embedder(self.config.embedding_model)
            return self._embedder

    def store(self, *, create: bool = False) -> EvidenceStore:
        if self._store is None:
            path = self.config.store_path
            if not create and not self.config.chroma_url and not path.exists():
                raise CollectionMissingError(f"no evidence store at {path}: run 'verify ingest PATH...' first")
            embedder = self.embedder
            with self._timed("open_store"):
                self._store = EvidenceStore(
                    embedder,
                    path=self.config.store_path,
                    url=self.config.chroma_url,
                    collection=self.config.collection,
                    create=create,
                    cache_dir=self.config.cache_dir,
                )
        return self._store

    def retriever(self) -> HybridRetriever:
        if self._retriever is None:
            store = self.store()
            store.require_passages()
            with self._timed("build_lexical_index"):
                self._retriever = HybridRetriever.from_config(store, self.config)
        return self._retriever

    def _build_chat(self) -> ChatBackend:
        cfg = self.config
        key = cfg.api_key.get_secret_value() if cfg.api_key else None
        if cfg.backend == "embedded":
            asset = ASSETS[cfg.embedded_model]
            with self._timed("prepare_model_file"):
                path = ensure_model_file(asset, cfg.cache_dir / "models")
            with self._timed("start_model"):
                self._server = EmbeddedServer(
                    path, n_ctx=cfg.n_ctx, n_threads=cfg.n_threads, n_parallel=cfg.concurrency
                )
            base_url = self._server.base_url
        else:
            if cfg.base_url is None and not key:
                raise ConfigError(
                    "backend 'openai' without base_url needs an API key (VERIFY_API_KEY or OPENAI_API_KEY)"
                )
            base_url = cfg.base_url
        return OpenAIChatBackend(
            model=self.model_name,
            base_url=base_url,
            api_key=key,
            temperature=cfg.temperature,
            timeout=cfg.request_timeout,
            max_retries=cfg.max_retries,
            portable_schema=cfg.backend == "openai",
        )

    def _load_kind_combiner(self) -> KindCombiner | None:
        setting = self.config.kind_combiner
        if setting == "off" or not self.config.kind_classifier:
            return None
        if setting == "auto":
            return find_kind_combiner(self.config.calibration_dir, self.model_name, self.kind_prompt.sha256)
        return self._fitted_for(KindCombiner.load(Path(setting)), f"kind combiner {setting}", self.kind_prompt)

    def _load_calibration(self) -> Calibration | Combiner | None:
        """A fitted combiner for this model and judge prompt if there is one, else label priors."""
        setting = self.config.calibration
        if setting == "off":
            return None
        if setting == "auto":
            directory, sha = self.config.calibration_dir, self.judge_prompt.sha256
            return find_combiner(directory, self.model_name, sha) or find_calibration(directory, self.model_name, sha)
        try:
            cal: Calibration | Combiner = Combiner.load(Path(setting))
        except ValueError:
            cal = Calibration.load(Path(setting))
        return self._fitted_for(cal, f"calibration {setting}", self.judge_prompt)

    def _fitted_for(self, fitted: F, what: str, prompt: PromptTemplate) -> F:
        """``fitted`` (a calibration, combiner or kind combiner file) if it was fitted for this model and
        ``prompt``; a configuration error naming both otherwise."""
        model, prompt_hash = fitted.model, fitted.prompt_hash  # type: ignore[attr-defined]
        if model != self.model_name or not prompt.sha256.startswith(prompt_hash):
            kind = "judge" if prompt is self.judge_prompt else "kind"
            raise ConfigError(
                f"{what} was fitted for {model} / {kind} prompt {prompt_hash}, not {self.model_name} / {prompt.version}"
            )
        return fitted

    def _calibration_warning(self) -> list[str]:
        if self.calibration is None and self.config.calibration != "off" and self.config.logprobs:
            return [
                f"no label calibration for model {self.model_name} and judge prompt {self.judge_prompt.version}: "
                "labels are the model's uncorrected choices (fit one with 'verify eval calibrate')"
            ]
        return []

    def make_judge(
        self, calibration: Calibration | Combiner | str | None = "config", chat: ChatBackend | None = None
    ) -> Judge:
        return Judge(
            chat or self.chat,
            self.judge_prompt,
            calibration=self.calibration if calibration == "config" else calibration,  # type: ignore[arg-type]
            max_reasks=self.config.max_reasks,
            max_citations=self.config.max_citations,
            logprobs=self.config.logprobs,
            figure_check=self.config.figure_check,
            name_check=self.config.name_check,
            evidence_sentences=self.config.evidence_sentences,
            similarity=self._similarity if self.config.evidence_sentences else None,
            rationale=self.config.judge_rationale,
            model_cites=self.config.judge_citations == "model",
            prefill=self.continues_answers and self.config.judge_continue,
            min_support=self.config.min_support_prob,
        )

    def _similarity(self, claim: str, texts: list[str]) -> list[float]:
        """Cosine similarity of each text to the claim, with the store's embedder."""
        vectors = self.embedder.embed([claim, *texts])
        head = vectors[0]
        return [sum(a * b for a, b in zip(head, v, strict=True)) for v in vectors[1:]]

    def make_kind_classifier(self, chat: ChatBackend | None = None) -> KindClassifier:
        return KindClassifier(
            chat or self.chat,
            self.kind_prompt,
            max_reasks=self.config.max_reasks,
            threshold=self.config.checkable_threshold,
            combiner=self.kind_combiner,
            prefill=self.continues_answers,
        )

    @property
    def continues_answers(self) -> bool:
        """Whether short answers are read from one continued token (``continue_answers``; "auto" is
        on for the embedded server this Verifier started, off for any other backend)."""
        mode = self.config.continue_answers
        if mode != "auto":
            return mode == "on"
        return self._server is not None  # callers build the chat backend (and so the server) first

    def make_extractor(self, chat: ChatBackend | None = None) -> ClaimExtractor:
        return ClaimExtractor(
            chat or self.chat,
            self.extract_prompt,
            window_sentences=self.config.window_sentences,
            context_sentences=self.config.context_sentences,
            max_reasks=self.config.max_reasks,
            concurrency=self.config.concurrency,
            classifier=self.make_kind_classifier(chat) if self.config.kind_classifier else None,
            checkable_threshold=self.config.checkable_threshold,
            kind_logprobs=self.config.kind_logprobs,
            splitter=self.split_prompt,
            split_words=self.config.split_words,
            mode=self.config.extractor,
            rewriter=self.rewrite_prompt,
            rewrite_all=self.config.neutral_sentences,
            resolve_dates=self.config.resolve_dates,
            resolve_referents=self.config.resolve_referents,
            quoted_kinds=self.config.quoted_kinds,
        )

    # ----- ingest -------------------------------------------------------------------------------
    @property
    def document_limits(self) -> DocumentLimits:
        return DocumentLimits(
            max_bytes=self.config.max_document_bytes,
            max_html_depth=self.config.max_html_depth,
            max_pdf_pages=self.config.max_pdf_pages,
            max_seconds=self.config.max_parse_seconds,
        )

    def passages_of(self, path: Path) -> list[EvidencePassage]:
        """One document read and chunked with this config's chunk size and overlap."""
        return chunk_document(
            load_document(path, self.document_limits),
            chunk_size=self.config.chunk_size,
            chunk_overlap=self.config.chunk_overlap,
        )

    def ingest(
        self,
        paths: list[Path],
        progress: Callable[[Path], None] | None = None,
        *,
        prune: bool = False,
        follow_symlinks: bool = False,
    ) -> IngestStats:
        """Ingest files and folders (see :mod:`verify.ingest`); ``prune`` also removes the documents
        once ingested from these folders whose files are gone."""
        from .ingest import Ingester

        documents = iter_documents(paths, follow_symlinks=follow_symlinks)
        ingester = Ingester(
            self.store(create=True),
            chunk_size=self.config.chunk_size,
            chunk_overlap=self.config.chunk_overlap,
            limits=self.document_limits,
        )
        stats = ingester.run(documents, prune=prune, progress=progress)
        self._retriever = None
        return stats

    # ----- check --------------------------------------------------------------------------------
    def check(self, text: str, *, source: str | None = None, date: date | str | None = None) -> Report:
        """``date`` (ISO string or :class:`datetime.date`) is the article's own date; without it the
        dateline is read, and relative times stay unresolved when there is none."""
        return _run_sync(self.acheck(text, source=source, date=date))

    def check_file(self, path: Path, *, date: date | str | None = None) -> Report:
        text = read_text_file(path, max_chars=self.config.max_article_chars, what="article")
        return self.check(text, source=str(path), date=date)

    async def acheck(
        self,
        text: str,
        *,
        source: str | None = None,
        date: date | str | None = None,
        trace: CheckTrace | None = None,
    ) -> Report:
        """``trace``, when given, receives this call's stage timings and the stage it is in (so a
        caller knows where an exception came from); concurrent calls never share one."""
        trace = trace if trace is not None else CheckTrace()
        token = _TRACE.set(trace)
        try:
            report = await self._acheck(text, source=source, date=date, trace=trace)
        finally:
            _TRACE.reset(token)
        self.timings = dict(trace.timings)
        return report

    async def _acheck(self, text: str, *, source: str | None, date: date | str | None, trace: CheckTrace) -> Report:
        trace.stage = "input"
        check_text(text, max_chars=self.config.max_article_chars)
        started = time.perf_counter()
        try:
            article_date = find_article_date(text, date)
        except ValueError as exc:
            raise InputError(f"article date {date!r} is not an ISO date (YYYY-MM-DD)") from exc
        article = Article.from_text(text, source)
        retriever = self.retriever()  # fails early on a missing or empty collection
        with self._timed("extract"):
            extraction = await self.make_extractor().extract(text, article_date=article_date)
        article.headline = extraction.headline
        date_warning = []
        if article_date is None:
            date_warning = ["no article date was known (none given, no dateline found): relative times are unresolved"]
        else:
            article.date, article.date_source = article_date.value.isoformat(), article_date.source
        failures: list[ClaimFailure | WindowFailure] = list(extraction.failures)
        checkable = [c for c in extraction.claims if c.checkable]
        with self._timed("retrieve"):  # in a worker thread: other checks' model calls go on meanwhile
            found = await asyncio.to_thread(
                lambda: [[r.passage for r in retriever.retrieve(c.text)] for c in checkable]
            )
            evidence = {claim.id: passages for claim, passages in zip(checkable, found, strict=True)}
        judge = self.make_judge()
        judge_usage = Usage()
        verdicts: list[Verdict] = []
        gate = asyncio.Semaphore(self.config.concurrency)

        async def one(claim_id: str, claim_text: str) -> Judgement | ClaimFailure:
            async with gate:
                try:
                    return await judge.judge(claim_id, claim_text, evidence[claim_id])
                except FATAL:
                    raise
                except BackendError as exc:
                    if isinstance(getattr(exc, "usage", None), Usage):
                        judge_usage.add(exc.usage)  # type: ignore[attr-defined]
                    return ClaimFailure(
                        claim_id=claim_id, stage="judge", error_type=type(exc).__name__, message=str(exc)
                    )

        with self._timed("judge"):
            results = await asyncio.gather(*(one(c.id, c.text) for c in checkable))
        for result in results:
            if isinstance(result, ClaimFailure):
                failures.append(result)
            else:
                verdicts.append(result.verdict)
                judge_usage.add(result.usage)
        trace.stage = "report"
        trace.timings["total"] = time.perf_counter() - started
        passages = {p.id: p for ps in evidence.values() for p in ps}
        run = RunInfo(
            verify_version=__version__,
            model=self.model_name,
            backend=self.config.backend,
            base_url=self.config.base_url,
            embedding_model=self.embedder.name,
            collection=self.config.collection,
            prompt_hashes=self.prompt_hashes,
            calibration=self.calibration.source if self.calibration else None,
            kind_combiner=self.kind_combiner.source if self.kind_combiner else None,
            timings=dict(trace.timings),
            usage={"extract": extraction.usage, "judge": judge_usage},
            warnings=[*self._calibration_warning(), *date_warning, *extraction.dropped],
        )
        # an error message may echo a secret (a proxy quoting the request): redacted as in the logs
        failures = [f.model_copy(update={"message": self._redaction.redact(f.message)}) for f in failures]
        return Report(
            article=article,
            claims=extraction.claims,
            verdicts=verdicts,
            failures=failures,
            passages=passages,
            run=run,
        )

    # ----- lifecycle ----------------------------------------------------------------------------
    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        """Time a stage into the running check's trace and mark it as the stage the check is in (a
        component load outside any check is not recorded)."""
        trace = _TRACE.get()
        started = time.perf_counter()
        if trace is not None:
            trace.stage = stage
        try:
            yield
        finally:
            if trace is not None:
                trace.timings[stage] = trace.timings.get(stage, 0.0) + time.perf_counter() - started

    def close(self) -> None:
        if self._store is not None:
            self._store.release()
        if self._server is not None:
            self._server.close()
            self._server = None
        self._chat = None

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_sync(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine from sync code, also when the caller already runs an event loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]
