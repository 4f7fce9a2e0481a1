"""Benchmark: claim extraction alone on one sample article, on the configured backend.

    python bench/bench_extraction.py [ARTICLE] [--concurrency N] [--repeat K] [--config FILE]

Prints extraction wall time, calls, prompt / cached / generated tokens and the claims by kind. The
first repeat also pays for the system prompt's first evaluation; later repeats show the warm cache.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from pathlib import Path

from verify import Verifier, VerifyConfig
from verify.dates import find_article_date

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("article", nargs="?", type=Path, default=ROOT / "evals/articles/a2-vilnius-summit.txt")
    parser.add_argument("--concurrency", type=int, help="requests in flight (default: the config's)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--config", type=Path, help="a verify TOML config (default: the usual lookup)")
    args = parser.parse_args()

    overrides = {"concurrency": args.concurrency} if args.concurrency else {}
    config = VerifyConfig.load(args.config, **overrides)
    text = args.article.read_text(encoding="utf-8")
    with Verifier(config) as verifier:
        started = time.perf_counter()
        _ = verifier.chat
        print(
            f"model: {verifier.model_name}, start {time.perf_counter() - started:.1f}s; "
            f"concurrency {config.concurrency}; extractor {config.extractor}; prompts {verifier.prompt_hashes}"
        )
        print(f"article: {args.article.name}, {len(text.split())} words; date {find_article_date(text)}")
        for i in range(args.repeat):
            started = time.perf_counter()
            result = asyncio.run(verifier.make_extractor().extract(text, article_date=find_article_date(text)))
            wall = time.perf_counter() - started
            u = result.usage
            kinds = Counter(c.kind.value for c in result.claims)
            print(
                f"run {i + 1}: extraction wall {wall:.1f}s; {u.calls} calls; {u.prompt_tokens} prompt tokens "
                f"({u.cached_tokens} from the prefix cache, {u.prompt_tokens - u.cached_tokens} evaluated); "
                f"{u.completion_tokens} generated; {len(result.claims)} claims ({dict(kinds)}); "
                f"{len(result.failures)} failed windows; {len(result.dropped)} dropped"
            )
            phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.seconds.items())
            print(f"  phases: {phases}; {result.windows} windows sent")


if __name__ == "__main__":
    main()
