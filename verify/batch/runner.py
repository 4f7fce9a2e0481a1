"""A batch run: every article through one :class:`~verify.verifier.Verifier`, concurrently, with a
journal that makes the run resumable and a response cache that makes re-running free.

An article's reports are written (atomically) before its journal record, and the record is fsynced
before the article counts as done; a killed run therefore never lists work it did not finish, and
the next run does only what is missing. A failing article is a record with its error type and
stage; an error in :data:`verify.errors.FATAL` (rejected key, exhausted quota, no endpoint) stops
the run at once, and the articles in flight at that moment stay undone.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import FATAL, BackendError, StoreError, VerifyError
from ..models import Report, Usage
from ..report.html import html_name
from ..verifier import CheckTrace, Verifier
from .cache import endpoint_identity, serve_through
from .files import write_durably
from .inputs import ArticleInput, WorkItem, group_items, in_shard
from .limits import LimitedChatBackend
from .results import FailureRecord, Journal, ResultRecord, read_journal
from .rundir import build_manifest, locked, open_run
from .summary import Summary, estimate_cost, report_files, report_html, report_json, write_final, write_stats

log = logging.getLogger("verify")


@dataclass
class BatchOptions:
    run_dir: Path
    shard: tuple[int, int] | None = None
    cache: bool = True
    cache_dir: Path | None = None
    articles_in_flight: int | None = None
    allow_changes: bool = False
    retry_failed: bool = False
    progress: bool | None = None  # None: a bar only when stderr is a terminal


@dataclass
class BatchOutcome:
    summary: Summary
    stats: dict[str, Any]
    fatal: VerifyError | None = None


@dataclass
class _Progress:
    checked: int = 0
    claims_judged: int = 0
    errors: int = 0
    timings: dict[str, dict[str, float]] = field(default_factory=dict)


def run_batch(verifier: Verifier, inputs: list[ArticleInput], options: BatchOptions) -> BatchOutcome:
    return asyncio.run(arun_batch(verifier, inputs, options))


async def arun_batch(verifier: Verifier, inputs: list[ArticleInput], options: BatchOptions) -> BatchOutcome:
    started, wall = datetime.now(UTC), time.perf_counter()
    items = [i for i in group_items(inputs) if in_shard(i.key, options.shard)]
    verifier.retriever()  # a missing or empty collection stops the run before anything is recorded
    with locked(options.run_dir):
        return await _run_locked(verifier, inputs, items, options, started, wall)


async def _run_locked(
    verifier: Verifier,
    inputs: list[ArticleInput],
    items: list[WorkItem],
    options: BatchOptions,
    started: datetime,
    wall: float,
) -> BatchOutcome:
    cfg = verifier.config
    manifest = open_run(
        options.run_dir, build_manifest(verifier, inputs, options.shard), allow_changes=options.allow_changes
    )
    records = read_journal(options.run_dir)
    todo = [i for i in items if _needs_work(records.get(i.key), options.retry_failed)]
    log.info("batch: %d articles, %d already finished, %d to check", len(items), len(items) - len(todo), len(todo))

    inner = verifier.chat
    limited = LimitedChatBackend.from_config(inner, cfg)
    cache_dir = (options.cache_dir or cfg.cache_dir / "responses") if options.cache else None
    files = report_files(e.name for e in manifest.inputs)
    progress = _Progress()
    fatal: VerifyError | None = None
    try:
        with (
            serve_through(verifier, limited, cache_dir) as caching,
            Journal(options.run_dir) as journal,
            _bar(len(todo), options.progress) as bar,
        ):
            gate = asyncio.Semaphore(options.articles_in_flight or 2 * limited.max_in_flight)

            async def one(item: WorkItem) -> None:
                async with gate:
                    record = await _check(verifier, item, options.run_dir, files, progress)
                journal.append(record)  # after the reports: a record means its reports are on disk
                records[item.key] = record
                progress.checked += 1
                progress.errors += len(record.failures) + (record.error is not None)
                bar.update(1)
                bar.set_postfix(claims=progress.claims_judged, errors=progress.errors, refresh=False)

            try:
                async with asyncio.TaskGroup() as group:
                    for item in todo:
                        group.create_task(one(item))
            except* FATAL as eg:
                fatal = eg.exceptions[0]  # type: ignore[assignment]
            except* OSError as eg:  # the run directory cannot be written (disk full, permissions)
                fatal = StoreError(f"cannot write to the run directory {options.run_dir}: {eg.exceptions[0]}")
    finally:
        aclose = getattr(inner, "aclose", None)
        if aclose is not None:
            await aclose()  # the HTTP pool belongs to this event loop
    price = cfg.prices.get(manifest.model)
    summary = write_final(options.run_dir, manifest, records, price)
    stats = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "wall_seconds": round(time.perf_counter() - wall, 3),
        "articles_in_shard": len(items),
        "articles_checked": progress.checked,
        "articles_skipped": len(items) - len(todo),
        "requests_sent": limited.stats.sent,
        "requests_failed": limited.stats.failed,
        "usage_sent": limited.stats.usage.model_dump(exclude={"model_seconds"}),
        "estimated_cost_usd_sent": estimate_cost(limited.stats.usage, price),
        "max_in_flight": limited.max_in_flight,
        "peak_in_flight": limited.stats.peak_in_flight,
        "cache_hits": caching.stats.hits if caching else 0,
        "cache_misses": caching.stats.misses if caching else 0,
        "stopped_by": f"{type(fatal).__name__}: {fatal}" if fatal else None,
        "timings": progress.timings,
    }
    write_stats(options.run_dir, stats)
    return BatchOutcome(summary, stats, fatal)


def _needs_work(record: ResultRecord | None, retry_failed: bool) -> bool:
    return record is None or (retry_failed and (record.status == "failed" or not record.complete))


async def _check(
    verifier: Verifier, item: WorkItem, run_dir: Path, files: dict[str, str], progress: _Progress
) -> ResultRecord:
    """One article: its reports written, its record returned. Only a fatal error escapes."""
    if item.problem is not None:
        return _failed(item, FailureRecord(stage="input", error_type="InputError", message=item.problem))
    trace = CheckTrace()
    try:
        report = await verifier.acheck(item.text, source=item.names[0], date=item.date, trace=trace)
    except FATAL:
        raise
    except Exception as exc:
        if not isinstance(exc, VerifyError):
            log.debug("article %s failed", item.names[0], exc_info=True)
        stage = trace.stage or "input"
        log.warning("article %s failed in %s: %s: %s", item.names[0], stage, type(exc).__name__, exc)
        usage = getattr(exc, "usage", None) if isinstance(exc, BackendError) else None
        failure = FailureRecord(stage=stage, error_type=type(exc).__name__, message=str(exc))
        return _failed(item, failure, usage if isinstance(usage, Usage) else None)
    progress.claims_judged += len(report.verdicts)
    progress.timings[item.key] = {k: round(v, 3) for k, v in trace.timings.items()}
    for article in item.inputs:
        write_durably(run_dir / files[article.id], report_json(report, article))
        write_durably(run_dir / html_name(files[article.id]), report_html(report, article))
    return _done(item, report, [files[a.id] for a in item.inputs])


def _failed(item: WorkItem, error: FailureRecord, usage: Usage | None = None) -> ResultRecord:
    return ResultRecord(
        key=item.key, names=item.names, status="failed", complete=False, error=error, usage=usage or Usage()
    )


def _done(item: WorkItem, report: Report, reports: list[str]) -> ResultRecord:
    usage = Usage()
    for part in report.run.usage.values():
        usage.add(part)
    usage.model_seconds = 0.0  # a timing: kept out of the compared outputs
    return ResultRecord(
        key=item.key,
        names=item.names,
        status="done",
        complete=report.complete,
        claims=len(report.claims),
        checkable=sum(1 for c in report.claims if c.checkable),
        verdicts=dict(sorted(Counter(v.label.value for v in report.verdicts).items())),
        failures=[
            FailureRecord(stage=f.stage, error_type=f.error_type, message=f.message, claim_id=f.claim_id)
            for f in report.failures
        ],
        reports=reports,
        usage=usage,
    )


class _NoBar:
    def update(self, n: int = 1) -> None: ...
    def set_postfix(self, **kwargs: Any) -> None: ...
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None: ...


def _bar(total: int, enabled: bool | None) -> Any:
    """tqdm on stderr (articles done, ETA; claims judged and errors as postfix), only on a terminal."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="articles", unit="article", file=sys.stderr, dynamic_ncols=True)


__all__ = ["BatchOptions", "BatchOutcome", "arun_batch", "endpoint_identity", "run_batch"]
