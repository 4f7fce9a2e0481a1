"""Draw the CI slice of the judge gold set (run once; kept for the record).

Rule: from the test split, the items whose passages total under 700 characters; 8 per gold label,
drawn with random.Random(2026) after sorting by id. Not chosen by score.

    python evals/tools/draw_ci_slice.py > evals/ci_slice.json
"""

from __future__ import annotations

import json
import random
from pathlib import Path

GOLD = Path(__file__).resolve().parents[1] / "judge_gold.jsonl"


def main() -> None:
    rows = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    short = sorted(
        (r for r in rows if r["split"] == "test" and sum(len(p["text"]) for p in r["passages"]) < 700),
        key=lambda r: r["id"],
    )
    rng = random.Random(2026)
    ids: list[str] = []
    for label in ("supported", "disputed", "unverifiable"):
        ids += rng.sample([r["id"] for r in short if r["label"] == label], 8)
    spec = {
        "dataset": "evals/judge_gold.jsonl",
        "ids": ids,
        "note": "Fixed CI slice from the test split: 8 items per gold label with short passages (under 700 "
        "characters in all), drawn once with seed 2026 by evals/tools/draw_ci_slice.py. Not chosen by score.",
    }
    print(json.dumps(spec, indent=2))


if __name__ == "__main__":
    main()
