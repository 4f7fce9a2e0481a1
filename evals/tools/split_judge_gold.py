"""Assign the judge-level gold items to a development and a test part (run once; kept for the record).

Rule: items are grouped by (gold label, first hard-case tag or "none"); within each group they are
ordered by the sha256 of their id and the first round(0.4 * n) go to "test", the rest to "dev".
Items that already have a split keep it, so adding items later never moves an old one.

    python evals/tools/split_judge_gold.py evals/judge_gold.jsonl
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

TEST_SHARE = 0.4


def assign_splits(rows: list[dict], key: str) -> None:
    """Give every row without a split one, by the rule above, grouping by ``row[key]`` and first tag."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        if "split" not in row:
            groups[(row[key], (row.get("tags") or ["none"])[0])].append(row)
    for group in groups.values():
        group.sort(key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
        n_test = round(TEST_SHARE * len(group))
        for i, row in enumerate(group):
            row["split"] = "test" if i < n_test else "dev"


def main(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assign_splits(rows, "label")
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["split"]] += 1
    print(dict(counts))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
