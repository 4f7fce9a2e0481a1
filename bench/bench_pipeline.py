"""Benchmark: one sample article through the embedded default, stage by stage.

    python bench/bench_pipeline.py [ARTICLE] [--concurrency N]

Prints wall time per stage, LLM calls and tokens per checkable claim, and the share of time spent
outside the model. With --concurrency 1 (the default here) model calls never overlap, so the sum of
the model's request times is the model's share of the wall time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from verify import Verifier, VerifyConfig

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("article", nargs="?", type=Path, default=ROOT / "evals/articles/a2-vilnius-summit.txt")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--store", type=Path, help="existing evidence store (default: ingest evidence/ into a temp dir)"
    )
    args = parser.parse_args()

    cold = time.perf_counter()
    store = args.store or Path(tempfile.mkdtemp()) / "chroma"
    config = VerifyConfig(store_path=store, concurrency=args.concurrency)
    with Verifier(config) as verifier:
        if args.store is None:
            t = time.perf_counter()
            stats = verifier.ingest([ROOT / "evidence"])
            print(f"ingest: {stats.documents} documents, {stats.passages} passages in {time.perf_counter() - t:.1f}s")
        verifier.retriever()
        _ = verifier.chat  # start the embedded model
        print(f"cold start (embedder, store, model file, model load): {time.perf_counter() - cold:.1f}s")
        print("  " + ", ".join(f"{k} {v:.1f}s" for k, v in verifier.timings.items()))

        text = args.article.read_text(encoding="utf-8")
        started = time.perf_counter()
        report = verifier.check(text, source=str(args.article))
        wall = time.perf_counter() - started

    run = report.run
    checkable = max(1, sum(1 for c in report.claims if c.checkable))
    model_s = sum(u.model_seconds for u in run.usage.values())
    calls = sum(u.calls for u in run.usage.values())
    print(
        f"\narticle: {args.article.name}, {len(text.split())} words; {len(report.claims)} claims, "
        f"{checkable} checkable, {len(report.failures)} failures"
    )
    print("stage wall times: " + ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items() if k != "total"))
    print(f"total wall: {wall:.1f}s")
    for stage, usage in run.usage.items():
        print(
            f"{stage:>8}: {usage.calls} calls, {usage.prompt_tokens} prompt + {usage.completion_tokens} "
            f"completion tokens, {usage.model_seconds:.1f}s in the model"
        )
    print(f"judge calls per checkable claim: {run.usage['judge'].calls / checkable:.2f}")
    print(f"LLM calls per checkable claim (all stages): {calls / checkable:.2f}")
    print(f"prompt tokens per checkable claim: {sum(u.prompt_tokens for u in run.usage.values()) / checkable:.0f}")
    print(
        f"completion tokens per checkable claim: {sum(u.completion_tokens for u in run.usage.values()) / checkable:.0f}"
    )
    print(f"seconds per checkable claim: {wall / checkable:.1f}")
    if args.concurrency == 1:
        outside = max(0.0, wall - model_s)
        print(f"time outside the model: {outside:.2f}s = {outside / wall:.1%} of total (target <= 5%)")
    else:
        print("time outside the model: not measured with concurrency > 1 (model calls overlap)")


if __name__ == "__main__":
    main()
