"""The reference corpus and the gold sets are data the evals depend on: check them against the spec
in evals/FORMATS.md."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from conftest import EVALS_DIR, EVIDENCE_DIR

from verify.documents import load_document

EVIDENCE_FILES = sorted(EVIDENCE_DIR.glob("*.md"))
ARTICLE_GOLDS = sorted((EVALS_DIR / "articles").glob("*.gold.json"))
JUDGE_GOLD = EVALS_DIR / "judge_gold.jsonl"
LABELS = {"supported", "disputed", "unverifiable"}
KINDS = {"fact", "opinion", "prediction", "other"}
FRONT_MATTER_KEYS = ("title", "publisher", "url", "date", "note")


@cache
def doc_body(doc_id: str) -> str:
    path = EVIDENCE_DIR / f"{doc_id}.md"
    assert path.is_file(), f"gold refers to a missing document: {doc_id}"
    return load_document(path).text


@cache
def judge_gold_items(path: Path = JUDGE_GOLD) -> tuple[dict, ...]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def test_corpus_has_at_least_60_documents():
    assert len(EVIDENCE_FILES) >= 60


@pytest.mark.parametrize("path", EVIDENCE_FILES, ids=lambda p: p.stem)
def test_evidence_document_parses_with_complete_front_matter(path: Path):
    doc = load_document(path)
    missing = [k for k in FRONT_MATTER_KEYS if not doc.meta.get(k, "").strip()]
    assert missing == []
    assert re.fullmatch(r"[a-z0-9-]+", path.stem)
    assert doc.doc_id == path.stem
    assert not doc.text.startswith("---")
    assert len(doc.text.split()) >= 50


def test_judge_gold_has_enough_items_per_label():
    counts = Counter(item["label"] for item in judge_gold_items())
    assert set(counts) <= LABELS
    assert sum(counts.values()) >= 150
    assert all(counts[label] >= 30 for label in LABELS), counts


def test_judge_gold_ids_are_unique():
    ids = [item["id"] for item in judge_gold_items()]
    assert len(ids) == len(set(ids))


def test_hard_case_gold_has_60_items_with_every_label_and_tag():
    items = [item for item in judge_gold_items() if item["id"].startswith("jg-h-")]
    labels = Counter(item["label"] for item in items)
    tags = Counter(tag for item in items for tag in item["tags"])
    assert len(items) >= 60 and set(labels) == LABELS and min(labels.values()) >= 20, labels
    for tag in ("wrong-actor", "wrong-date", "wrong-time", "opinion-as-fact", "attribution-vs-content"):
        assert tags[tag] >= 12, tags


def test_judge_gold_has_a_stratified_test_part_of_at_least_90_items():
    items = judge_gold_items()
    assert {item.get("split") for item in items} == {"dev", "test"}
    test = [item for item in items if item["split"] == "test"]
    assert len(test) >= 90
    labels = Counter(item["label"] for item in test)
    assert min(labels.values()) >= 0.9 * max(labels.values()), labels
    for tag, n in Counter(tag for item in items for tag in item["tags"]).items():
        in_test = sum(tag in item["tags"] for item in test)
        assert n < 5 or 0.2 <= in_test / n <= 0.6, (tag, in_test, n)


def test_judge_gold_items_have_claim_and_passages():
    bad = [item["id"] for item in judge_gold_items() if not item["claim"].strip() or not item["passages"]]
    assert bad == []


def test_judge_gold_passages_are_exact_substrings_of_their_documents():
    bad = [
        (item["id"], passage["doc"])
        for item in judge_gold_items()
        for passage in item["passages"]
        if passage["text"] not in doc_body(passage["doc"])
    ]
    assert bad == []


@pytest.mark.parametrize("gold_path", ARTICLE_GOLDS, ids=lambda p: p.name.removesuffix(".gold.json"))
def test_article_gold_matches_article_and_corpus(gold_path: Path):
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    article = (gold_path.parent / gold["article"]).read_text(encoding="utf-8")
    problems = []
    ids = [c["id"] for c in gold["claims"]]
    if len(ids) != len(set(ids)):
        problems.append("duplicate claim ids")
    for claim in gold["claims"]:
        cid = claim["id"]
        if claim["source_sentence"] not in article:
            problems.append(f"{cid}: source_sentence not in article")
        if claim["kind"] not in KINDS:
            problems.append(f"{cid}: kind {claim['kind']!r}")
        if claim["kind"] == "fact" and claim["label"] not in LABELS:
            problems.append(f"{cid}: fact with label {claim['label']!r}")
        if claim["kind"] != "fact" and claim["label"] is not None:
            problems.append(f"{cid}: {claim['kind']} with label {claim['label']!r}")
        for ev in claim.get("evidence", []):
            if ev["quote"] not in doc_body(ev["doc"]):
                problems.append(f"{cid}: quote not in {ev['doc']}")
    assert problems == []


def test_articles_are_split_into_dev_and_test_with_the_new_ones_in_test():
    splits = {g.name.removesuffix(".gold.json"): json.loads(g.read_text())["split"] for g in ARTICLE_GOLDS}
    assert set(splits.values()) == {"dev", "test"}
    assert sum(1 for name, split in splits.items() if name.startswith("d") and split == "test") >= 3
    assert sum(1 for split in splits.values() if split == "test") >= sum(1 for s in splits.values() if s == "dev")


def test_at_least_eight_articles_of_500_to_1200_words():
    sized = [
        g
        for g in ARTICLE_GOLDS
        if 500 <= len((g.parent / json.loads(g.read_text())["article"]).read_text().split()) <= 1200
    ]
    assert len(sized) >= 8
