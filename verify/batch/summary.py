"""The final outputs of a run: reports, the index, the summary; and the run's own statistics.

Reports, ``index.jsonl`` and ``summary.json`` hold no timestamps or timings, and follow the input
order, so an uninterrupted run and a killed-and-resumed one write the same bytes. What differs
between runs (wall time, requests actually sent, cache hits, stage timings) goes to ``stats.json``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..config import ModelPrice
from ..models import Report, Usage
from ..report.html import index_row, render_html, render_index_html
from .files import write_durably
from .inputs import ArticleInput, in_shard, parse_shard
from .results import ResultRecord
from .rundir import InputEntry, Manifest

INDEX = "index.jsonl"
INDEX_HTML = "index.html"
SUMMARY = "summary.json"
STATS = "stats.json"
# What differs between two runs of the same work: kept out of the report files.
REPORT_EXCLUDE: dict[str, Any] = {"run": {"started_at": True, "timings": True, "usage": {"__all__": {"model_seconds"}}}}


class BatchReport(Report):
    """A report as a batch writes it: the input's metadata (id, title, outlet, date, url, extra) beside it."""

    input: dict[str, Any] = Field(default_factory=dict)


def report_stems(names: Iterable[str]) -> list[str]:
    """A file-name stem for every input name: safe characters only, at most 100 of them (a file
    system's 255-byte limit holds with any suffix), unique within the run, the same in every shard."""
    out: list[str] = []
    for name in names:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "article"
        stem = stem[-100:]
        candidate, n = stem, 1
        while candidate in out:
            n += 1
            candidate = f"{stem}-{n}"
        out.append(candidate)
    return out


def report_files(names: Iterable[str]) -> dict[str, str]:
    """A file name under ``reports/`` for every input name."""
    names = list(names)
    return {name: f"reports/{stem}.report.json" for name, stem in zip(names, report_stems(names), strict=True)}


def _batch_report(report: Report, article: ArticleInput) -> BatchReport:
    return BatchReport(
        **{**report.model_dump(), "article": {**report.article.model_dump(), "source": article.id}},
        input=article.meta(),
    )


def report_json(report: Report, article: ArticleInput) -> str:
    return _batch_report(report, article).model_dump_json(indent=2, exclude=REPORT_EXCLUDE) + "\n"


def report_html(report: Report, article: ArticleInput) -> str:
    """The report page beside the JSON: the same content, no run timestamp (the same bytes on a rerun)."""
    return render_html(_batch_report(report, article), article.meta(), run_date=False)


class ArticleCounts(BaseModel):
    inputs: int = Field(description="input names")
    unique: int = Field(description="distinct articles (by key)")
    done: int = 0
    complete: int = Field(0, description="done with every checkable claim judged")
    incomplete: int = Field(0, description="done, some windows or claims failed")
    failed: int = Field(0, description="no report: the article failed as a whole")
    pending: int = Field(0, description="not finished (run stopped, or a shard missing)")


class FailedArticle(BaseModel):
    names: list[str]
    stage: str
    error_type: str
    message: str


class Summary(BaseModel):
    model: str
    articles: ArticleCounts
    claims: int = 0
    checkable: int = 0
    verdicts: dict[str, int] = Field(default_factory=dict)
    failures_by_type: dict[str, int] = Field(default_factory=dict, description="windows, claims and articles")
    failures_by_stage: dict[str, int] = Field(default_factory=dict)
    failed_articles: list[FailedArticle] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage, description="model work behind the results (cache hits included)")
    estimated_cost_usd: float | None = None


def estimate_cost(usage: Usage, price: ModelPrice | None) -> float | None:
    if price is None:
        return None
    cached = usage.cached_tokens
    fresh = usage.prompt_tokens - cached
    cached_price = price.cached if price.cached is not None else price.prompt
    total = fresh * price.prompt + cached * cached_price + usage.completion_tokens * price.completion
    return round(total / 1_000_000, 6)


def summarize(
    model: str,
    inputs: list[InputEntry],
    records: dict[str, ResultRecord],
    price: ModelPrice | None,
) -> Summary:
    keys = list(dict.fromkeys(entry.key for entry in inputs))
    counts = ArticleCounts(inputs=len(inputs), unique=len(keys))
    summary = Summary(model=model, articles=counts)
    verdicts: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    by_stage: Counter[str] = Counter()
    for key in keys:
        record = records.get(key)
        if record is None:
            counts.pending += 1
            continue
        if record.status == "failed":
            counts.failed += 1
            assert record.error is not None
            by_type[record.error.error_type] += 1
            by_stage[record.error.stage] += 1
            summary.failed_articles.append(
                FailedArticle(
                    names=record.names,
                    stage=record.error.stage,
                    error_type=record.error.error_type,
                    message=record.error.message,
                )
            )
        else:
            counts.done += 1
            if record.complete:
                counts.complete += 1
            else:
                counts.incomplete += 1
        summary.claims += record.claims
        summary.checkable += record.checkable
        verdicts.update(record.verdicts)
        for failure in record.failures:
            by_type[failure.error_type] += 1
            by_stage[failure.stage] += 1
        summary.usage.add(record.usage)
    summary.usage.model_seconds = 0.0
    summary.verdicts = dict(sorted(verdicts.items()))
    summary.failures_by_type = dict(sorted(by_type.items()))
    summary.failures_by_stage = dict(sorted(by_stage.items()))
    summary.estimated_cost_usd = estimate_cost(summary.usage, price)
    return summary


def index_lines(inputs: list[InputEntry], records: dict[str, ResultRecord], files: dict[str, str]) -> list[str]:
    lines = []
    for entry in inputs:
        record = records.get(entry.key)
        row: dict[str, Any] = {"name": entry.name, "key": entry.key}
        if record is None:
            row["status"] = "pending"
        else:
            row.update(
                status=record.status,
                complete=record.complete,
                claims=record.claims,
                checkable=record.checkable,
                verdicts=record.verdicts,
                failures=len(record.failures),
            )
            if record.status == "done":
                row["report"] = files[entry.name]
            if record.error is not None:
                row["error"] = record.error.model_dump(exclude_none=True)
        row["input"] = entry.meta
        lines.append(json.dumps(row, ensure_ascii=False, sort_keys=True))
    return lines


def write_final(
    directory: Path,
    manifest: Manifest,
    records: dict[str, ResultRecord],
    price: ModelPrice | None,
) -> Summary:
    """Index and summary over the inputs of this directory's shard (all inputs without one)."""
    files = report_files(e.name for e in manifest.inputs)
    shard = parse_shard(manifest.shard) if manifest.shard else None
    inputs = [e for e in manifest.inputs if in_shard(e.key, shard)]
    summary = summarize(manifest.model, inputs, records, price)
    lines = index_lines(inputs, records, files)
    write_durably(directory / INDEX, "".join(line + "\n" for line in lines))
    a = summary.articles
    totals = {"complete": a.complete, "incomplete": a.incomplete, "failed": a.failed, "pending": a.pending}
    totals.update(summary.verdicts)
    rows = [index_row(i, json.loads(line)) for i, line in enumerate(lines, 1)]
    write_durably(directory / INDEX_HTML, render_index_html(rows, model=manifest.model, totals=totals))
    write_durably(directory / SUMMARY, summary.model_dump_json(indent=2) + "\n")
    return summary


def write_stats(directory: Path, stats: dict[str, Any]) -> None:
    write_durably(directory / STATS, json.dumps(stats, indent=2, sort_keys=True) + "\n")
