"""The claim-level kind gold set (evals/kind_gold.jsonl): format, agreement with the article gold, and
that its build script reproduces it. Fast, no model."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from verify.models import ClaimKind

ROOT = Path(__file__).resolve().parent.parent
EVALS = ROOT / "evals"
KIND_GOLD = EVALS / "kind_gold.jsonl"
WRITTEN = EVALS / "kind_gold_written.jsonl"
SCRIPT = EVALS / "tools" / "make_kind_gold.py"


def _build_script():
    """The build script as a module: its kinds, splits, fields and tags are the one definition."""
    spec = importlib.util.spec_from_file_location("make_kind_gold", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_BUILD = _build_script()
KINDS, SPLITS, FIELDS, TAGS = set(_BUILD.KINDS), set(_BUILD.SPLITS), set(_BUILD.FIELDS), set(_BUILD.TAGS)
assert {k.value for k in ClaimKind} == KINDS  # the pipeline's kinds


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return _read(KIND_GOLD)


def test_every_line_parses_with_the_expected_fields(rows: list[dict]) -> None:
    lines = KIND_GOLD.read_text(encoding="utf-8").splitlines()
    assert lines and all(line.strip() for line in lines)
    for row in rows:
        assert set(row) == FIELDS, row["id"]
        assert isinstance(row["text"], str) and row["text"].strip()
        assert isinstance(row["sentence"], str) and row["sentence"].strip()
        assert isinstance(row["tags"], list)


def test_ids_are_unique(rows: list[dict]) -> None:
    ids = Counter(row["id"] for row in rows)
    assert [i for i, n in ids.items() if n > 1] == []
    assert all(row["id"].startswith("kg-") for row in rows)


def test_kinds_splits_tags_and_sources_are_valid(rows: list[dict]) -> None:
    for row in rows:
        assert row["kind"] in KINDS, row["id"]
        assert row["split"] in SPLITS, row["id"]
        assert set(row["tags"]) <= TAGS, row["id"]
        assert row["source"] == "written" or row["source"].startswith("article-gold:"), row["id"]


def test_every_article_gold_claim_is_included_and_matches(rows: list[dict]) -> None:
    by_id = {row["id"]: row for row in rows}
    n_gold = 0
    for path in sorted((EVALS / "articles").glob("*.gold.json")):
        slug = path.name.removesuffix(".gold.json")
        gold = json.loads(path.read_text(encoding="utf-8"))
        for claim in gold["claims"]:
            n_gold += 1
            row = by_id[f"kg-{slug}-{claim['id']}"]
            assert row["text"] == claim["text"]
            assert row["sentence"] == claim["source_sentence"]
            assert row["kind"] == claim["kind"]
            assert row["split"] == gold["split"]
            assert row["source"] == f"article-gold:{slug}"
    assert sum(1 for row in rows if row["source"] != "written") == n_gold


def test_written_items_are_the_hand_written_file(rows: list[dict]) -> None:
    written = _read(WRITTEN)
    assert len(written) >= 200
    in_set = [row for row in rows if row["source"] == "written"]
    assert [r["id"] for r in in_set] == [w["id"] for w in written]
    for row, w in zip(in_set, written, strict=True):
        assert {k: row[k] for k in w} == w
        assert row["tags"], row["id"]
    # about half checkable facts, half not
    facts = sum(1 for w in written if w["kind"] == "fact")
    assert 0.4 <= facts / len(written) <= 0.6


def test_written_texts_do_not_repeat_each_other_or_the_article_gold(rows: list[dict]) -> None:
    texts = Counter(" ".join(row["text"].lower().split()) for row in rows)
    assert [t for t, n in texts.items() if n > 1] == []


def test_each_split_has_at_least_30_non_facts(rows: list[dict]) -> None:
    non_facts = Counter(row["split"] for row in rows if row["kind"] != "fact")
    for split in SPLITS:
        assert non_facts[split] >= 30, (split, non_facts)


def test_rerunning_the_build_script_reproduces_the_file(tmp_path: Path) -> None:
    out = tmp_path / "kind_gold.jsonl"
    subprocess.run([sys.executable, str(SCRIPT), str(out)], check=True, capture_output=True, cwd=tmp_path)
    assert out.read_bytes() == KIND_GOLD.read_bytes()
