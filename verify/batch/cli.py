"""``verify batch`` and ``verify runs merge``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import VerifyConfig
from ..errors import ConfigError
from .summary import Summary

EXIT_INCOMPLETE = 3


def add_batch_parsers(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    batch = sub.add_parser(
        "batch",
        help="check many articles into a resumable run directory",
        description="Check articles (files, directories, globs, .jsonl files of {id, text, title, outlet, date, "
        "url, ...}) concurrently into RUN: manifest.json, results.jsonl (append-only), reports/, index.jsonl, "
        "summary.json, stats.json. Re-running the same command resumes; model answers are cached, so "
        "finished work costs nothing again. Exit 0: all judged; 3: some articles failed or are incomplete; "
        "2: bad input or a run directory made with other settings; 1: the run was stopped (rejected key, "
        "exhausted quota, unreachable endpoint).",
    )
    batch.add_argument("inputs", nargs="+", help="article files, directories, globs or .jsonl files")
    batch.add_argument("--run", type=Path, required=True, dest="run_dir", help="the run directory")
    batch.add_argument("--date", help="date (YYYY-MM-DD) for articles that bring none")
    batch.add_argument("--shard", help="K/N: only the articles whose key falls in shard K of N")
    batch.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")
    batch.add_argument("--cache-dir", type=Path, help="response cache directory (default: <cache_dir>/responses)")
    batch.add_argument("--max-in-flight", type=int, help="model requests in flight across the batch")
    batch.add_argument("--articles-in-flight", type=int, help="articles checked at once (default: 2 x requests)")
    batch.add_argument("--rpm", type=float, help="at most this many model requests started per minute")
    batch.add_argument("--tpm", type=float, help="at most this many (estimated) tokens sent per minute")
    batch.add_argument("--retry-failed", action="store_true", help="check again articles that failed or are incomplete")
    batch.add_argument(
        "--allow-changes", action="store_true", help="continue a run directory made with other settings (mixes them)"
    )
    batch.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar")
    common(batch)
    batch.set_defaults(handler=cmd_batch)

    runs = sub.add_parser("runs", help="run directories")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True)
    merge = runs_sub.add_parser("merge", help="join shard run directories into one")
    merge.add_argument("target", type=Path, help="the merged run directory (created, or extended)")
    merge.add_argument("sources", nargs="+", type=Path, help="run directories of the shards")
    merge.add_argument("--allow-changes", action="store_true", help="merge shards made with different settings")
    common(merge)
    merge.set_defaults(handler=cmd_merge)


def cmd_batch(args: argparse.Namespace, make_config: Callable[[argparse.Namespace], VerifyConfig]) -> int:
    from ..verifier import Verifier
    from .inputs import collect_inputs, parse_shard
    from .runner import BatchOptions, run_batch

    config = make_config(args)
    overrides = {
        "max_in_flight": args.max_in_flight,
        "requests_per_minute": args.rpm,
        "tokens_per_minute": args.tpm,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        try:
            config = VerifyConfig(**{**config.model_dump(), **overrides})
        except ValueError as exc:
            raise ConfigError(f"invalid option: {exc}") from exc
    shard = parse_shard(args.shard) if args.shard else None
    inputs = collect_inputs(args.inputs, max_chars=config.max_article_chars, date=args.date)
    options = BatchOptions(
        run_dir=args.run_dir,
        shard=shard,
        cache=not args.no_cache,
        cache_dir=args.cache_dir,
        articles_in_flight=args.articles_in_flight,
        allow_changes=args.allow_changes,
        retry_failed=args.retry_failed,
        progress=args.progress,
    )
    with Verifier(config) as verifier:
        outcome = run_batch(verifier, inputs, options)
    print(render_table(outcome.summary, outcome.stats), file=sys.stderr)
    if outcome.fatal is not None:
        counts = outcome.summary.articles
        print(
            f"verify: error: run stopped: {outcome.fatal} ({counts.done + counts.failed} of {counts.unique} "
            f"articles recorded, {counts.pending} not done; fix the cause and re-run the same command to resume)",
            file=sys.stderr,
        )
        return outcome.fatal.exit_code
    return _exit(outcome.summary)


def cmd_merge(args: argparse.Namespace, make_config: Callable[[argparse.Namespace], VerifyConfig]) -> int:
    from .merge import merge_runs

    summary = merge_runs(args.target, args.sources, make_config(args).prices, allow_changes=args.allow_changes)
    print(render_table(summary, None), file=sys.stderr)
    return _exit(summary)


def _exit(summary: Summary) -> int:
    counts = summary.articles
    if counts.failed or counts.incomplete or counts.pending:
        print(
            f"verify: {counts.failed} article(s) failed, {counts.incomplete} incomplete, {counts.pending} pending "
            "(see summary.json and index.jsonl)",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE
    return 0


def render_table(summary: Summary, stats: dict[str, Any] | None) -> str:
    a, u = summary.articles, summary.usage
    rows = [
        (
            "articles",
            f"{a.inputs} inputs, {a.unique} distinct: {a.complete} complete, {a.incomplete} incomplete, "
            f"{a.failed} failed, {a.pending} pending",
        ),
        (
            "claims",
            f"{summary.claims}, {summary.checkable} checkable: "
            + (", ".join(f"{n} {label}" for label, n in summary.verdicts.items()) or "none judged"),
        ),
        ("failures", ", ".join(f"{n} {t}" for t, n in summary.failures_by_type.items()) or "none"),
        ("model calls", f"{u.calls} behind the results (cache hits included)"),
        ("tokens", _tokens(u.prompt_tokens, u.cached_tokens, u.completion_tokens)),
        ("est. cost", _cost(summary.estimated_cost_usd, summary.model)),
    ]
    if stats is not None:
        rows += [
            (
                "this run",
                f"{stats['articles_checked']} checked, {stats['articles_skipped']} already done, "
                f"{stats['wall_seconds']:.1f} s",
            ),
            (
                "requests",
                f"{stats['requests_sent']} sent ({stats['requests_failed']} failed), "
                f"{stats['cache_hits']} cache hits, peak {stats['peak_in_flight']}/{stats['max_in_flight']} in flight",
            ),
            (
                "tokens sent",
                _tokens(*(stats["usage_sent"][k] for k in ("prompt_tokens", "cached_tokens", "completion_tokens"))),
            ),
            ("cost this run", _cost(stats["estimated_cost_usd_sent"], summary.model)),
        ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _tokens(prompt: int, cached: int, completion: int) -> str:
    return f"{prompt} prompt ({cached} cached), {completion} completion"


def _cost(value: float | None, model: str) -> str:
    return f"${value:.4f}" if value is not None else f'no [prices."{model}"] in verify.toml'
