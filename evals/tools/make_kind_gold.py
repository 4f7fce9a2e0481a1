"""Build the claim-level kind gold set, evals/kind_gold.jsonl (rerun after editing its inputs).

Inputs:
- every gold claim of the annotated articles (evals/articles/*.gold.json), taken as it is: text, source
  sentence and kind, with the article's split;
- the hand-written items in evals/kind_gold_written.jsonl (id, text, sentence, kind, tags, source).

Split rule for the written items (the rule of split_judge_gold.py): items are grouped by (kind, first
tag or "none"); within each group they are ordered by the sha256 of their id and the first
round(0.4 * n) go to "test", the rest to "dev". A written item that already carries a split keeps it.

Output: article items first (articles in file-name order, claims in file order), then the written
items in file order; one JSON object a line with the keys id, text, sentence, kind, tags, source, split.

    python3 evals/tools/make_kind_gold.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from split_judge_gold import assign_splits

EVALS = Path(__file__).resolve().parent.parent
ARTICLES = EVALS / "articles"
WRITTEN = EVALS / "kind_gold_written.jsonl"
OUT = EVALS / "kind_gold.jsonl"

KINDS = ("fact", "opinion", "prediction", "other")
SPLITS = ("dev", "test")
TAGS = (
    "control",
    "evaluative",
    "loaded-core",
    "attribution",
    "announced-plan",
    "future",
    "conditional",
    "motive",
    "hedged-figure",
    "question",
    "slogan",
    "headline",
    "rhetoric",
    "counterfactual",
    "generalisation",
)
FIELDS = ("id", "text", "sentence", "kind", "tags", "source", "split")


def article_items(articles_dir: Path = ARTICLES) -> list[dict]:
    rows = []
    for path in sorted(articles_dir.glob("*.gold.json")):
        slug = path.name.removesuffix(".gold.json")
        gold = json.loads(path.read_text(encoding="utf-8"))
        split = gold["split"]
        for claim in gold["claims"]:
            rows.append(
                {
                    "id": f"kg-{slug}-{claim['id']}",
                    "text": claim["text"],
                    "sentence": claim["source_sentence"],
                    "kind": claim["kind"],
                    "tags": [],
                    "source": f"article-gold:{slug}",
                    "split": split,
                }
            )
    return rows


def written_items(path: Path = WRITTEN) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = [f for f in FIELDS if f != "split" and f not in row]
        if missing:
            raise ValueError(f"{path.name} line {n}: missing {missing}")
        rows.append(row)
    return rows


def check(rows: list[dict]) -> None:
    seen_ids: set[str] = set()
    seen_texts: dict[str, str] = {}
    for row in rows:
        if row["id"] in seen_ids:
            raise ValueError(f"duplicate id {row['id']}")
        seen_ids.add(row["id"])
        if row["kind"] not in KINDS:
            raise ValueError(f"{row['id']}: bad kind {row['kind']!r}")
        if row["split"] not in SPLITS:
            raise ValueError(f"{row['id']}: bad split {row['split']!r}")
        bad_tags = [t for t in row["tags"] if t not in TAGS]
        if bad_tags:
            raise ValueError(f"{row['id']}: unknown tags {bad_tags}")
        if not row["text"].strip() or not row["sentence"].strip():
            raise ValueError(f"{row['id']}: empty text or sentence")
        key = " ".join(row["text"].lower().split())
        if key in seen_texts and row["source"] == "written":
            raise ValueError(f"{row['id']}: same text as {seen_texts[key]}")
        seen_texts.setdefault(key, row["id"])


def build(articles_dir: Path = ARTICLES, written_path: Path = WRITTEN) -> list[dict]:
    written = written_items(written_path)
    for row in written:
        if row["source"] != "written":
            raise ValueError(f"{row['id']}: written items must have source 'written'")
    assign_splits(written, "kind")
    rows = [{f: row[f] for f in FIELDS} for row in article_items(articles_dir) + written]
    check(rows)
    return rows


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(out: Path = OUT) -> None:
    rows = build()
    out.write_text(render(rows), encoding="utf-8")
    by_split = Counter(r["split"] for r in rows)
    by_kind_split = Counter((r["kind"], r["split"]) for r in rows)
    print(f"wrote {len(rows)} items to {out}: {dict(sorted(by_split.items()))}")
    for kind in KINDS:
        print(f"  {kind:<10} dev {by_kind_split[(kind, 'dev')]:>3}  test {by_kind_split[(kind, 'test')]:>3}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
