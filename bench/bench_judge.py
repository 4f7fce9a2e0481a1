"""Benchmark: the judge on the sample article's checkable claims, at the default concurrency.

    python bench/bench_judge.py [GOLD_JSON] [--concurrency N] [--store DIR]

The claims are the gold fact claims of the annotated article (so the figure does not depend on
extraction); each is retrieved and judged as in ``verify check``. Prints wall time per judged claim
and prompt, cached and generated tokens per claim, read from the server's usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from verify import Verifier, VerifyConfig
from verify.models import Usage

ROOT = Path(__file__).resolve().parents[1]


async def judge_all(verifier: Verifier, claims: list[str]) -> tuple[Usage, list[str]]:
    judge = verifier.make_judge()
    gate = asyncio.Semaphore(verifier.config.concurrency)
    usage = Usage()
    labels: list[str] = []

    async def one(i: int, text: str) -> None:
        passages = [r.passage for r in verifier.retriever().retrieve(text)]
        async with gate:
            judgement = await judge.judge(f"c{i}", text, passages)
        usage.add(judgement.usage)
        labels.append(judgement.verdict.label.value)

    await asyncio.gather(*(one(i, c) for i, c in enumerate(claims)))
    return usage, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("gold", nargs="?", type=Path, default=ROOT / "evals/articles/a2-vilnius-summit.gold.json")
    parser.add_argument("--concurrency", type=int, default=VerifyConfig().concurrency)
    parser.add_argument(
        "--store", type=Path, help="existing evidence store (default: ingest evidence/ into a temp dir)"
    )
    args = parser.parse_args()

    gold = json.loads(args.gold.read_text(encoding="utf-8"))
    claims = [c["text"] for c in gold["claims"] if c["kind"] == "fact"]
    store = args.store or Path(tempfile.mkdtemp()) / "chroma"
    with Verifier(VerifyConfig(store_path=store, concurrency=args.concurrency)) as verifier:
        if args.store is None:
            verifier.ingest([ROOT / "evidence"])
        verifier.retriever()
        _ = verifier.chat  # start the embedded model before the clock
        started = time.perf_counter()
        usage, labels = asyncio.run(judge_all(verifier, claims))
        wall = time.perf_counter() - started
    n = len(claims)
    print(f"{args.gold.name}: {n} gold fact claims judged at concurrency {args.concurrency}")
    print(f"judge wall: {wall:.1f}s, {wall / n:.2f}s per claim")
    print(f"calls per claim: {usage.calls / n:.2f}")
    print(f"prompt tokens per claim: {usage.prompt_tokens / n:.0f}")
    print(f"cached prompt tokens per claim: {usage.cached_tokens / n:.0f}")
    print(f"prompt tokens not from the cache per claim: {(usage.prompt_tokens - usage.cached_tokens) / n:.0f}")
    print(f"generated tokens per claim: {usage.completion_tokens / n:.1f}")
    print("labels: " + ", ".join(f"{lab} {labels.count(lab)}" for lab in sorted(set(labels))))


if __name__ == "__main__":
    main()
