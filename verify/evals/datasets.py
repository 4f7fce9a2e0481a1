"""Eval datasets: our judge-level gold set and any file in the generic JSONL format, CLIMATE-FEVER in
its published JSONL format, and annotated articles.

Generic JSONL, one object a line::

    {"id": "x1", "claim": "...", "label": "supported|disputed|unverifiable",
     "passages": ["text", ...] or [{"text": "...", "doc": "source id", "id": "passage id"}, ...],
     "tags": ["optional"]}

Labels of other datasets are mapped explicitly (``LABEL_MAPS``); the original label is kept so that
results can be broken down by it (CLIMATE-FEVER's DISPUTED is scored as disputed and also shown
separately).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..chunking import passage_id
from ..errors import InputError
from ..models import ClaimKind, EvidencePassage, Label

LABEL_MAPS: dict[str, dict[str, Label]] = {
    "climate-fever": {
        "SUPPORTS": Label.SUPPORTED,
        "REFUTES": Label.DISPUTED,
        "NOT_ENOUGH_INFO": Label.UNVERIFIABLE,
        "DISPUTED": Label.DISPUTED,
    },
    "generic": {label.value: label for label in Label},
}


class EvalItem(BaseModel):
    id: str
    claim: str
    passages: list[EvidencePassage]
    label: Label
    original_label: str
    tags: list[str] = Field(default_factory=list)
    split: str | None = None  # "dev" (look, tune, fit) or "test" (report only), where the dataset says


def read_jsonl_rows(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise InputError(f"dataset not found: {path}") from exc
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
    if not rows:
        raise InputError(f"dataset is empty: {path}")
    return rows


def detect_format(path: Path) -> str:
    first = read_jsonl_rows(path)[0]
    return "climate-fever" if "claim_label" in first and "evidences" in first else "generic"


def _passage(doc: str, text: str, pid: str | None = None) -> EvidencePassage:
    return EvidencePassage(id=pid or passage_id(doc, text), doc_id=doc, text=text)


def load_generic(path: Path, label_map: dict[str, Label] | None = None) -> list[EvalItem]:
    mapping = label_map or LABEL_MAPS["generic"]
    items = []
    for number, row in enumerate(read_jsonl_rows(path), 1):
        try:
            original = str(row["label"])
            passages = []
            for i, p in enumerate(row["passages"]):
                if isinstance(p, str):
                    passages.append(_passage(f"{row.get('id', number)}-p{i}", p))
                else:
                    passages.append(_passage(str(p.get("doc") or f"p{i}"), p["text"], p.get("id")))
            items.append(
                EvalItem(
                    id=str(row.get("id", number)),
                    claim=row["claim"],
                    passages=passages,
                    label=mapping[original],
                    original_label=original,
                    tags=list(row.get("tags", [])),
                    split=row.get("split"),
                )
            )
        except KeyError as exc:
            raise InputError(f"{path}:{number}: missing field or unmapped label {exc}") from exc
    return items


def load_climate_fever(path: Path, label_map: dict[str, Label] | None = None) -> list[EvalItem]:
    mapping = label_map or LABEL_MAPS["climate-fever"]
    items = []
    for number, row in enumerate(read_jsonl_rows(path), 1):
        try:
            passages = [
                _passage(ev["article"], ev["evidence"], passage_id(ev["evidence_id"], ev["evidence"]))
                for ev in row["evidences"]
            ]
            original = row["claim_label"]
            items.append(
                EvalItem(
                    id=str(row["claim_id"]),
                    claim=row["claim"],
                    passages=passages,
                    label=mapping[original],
                    original_label=original,
                )
            )
        except KeyError as exc:
            raise InputError(f"{path}:{number}: missing field or unmapped label {exc}") from exc
    return items


def load_dataset(path: Path, fmt: str = "auto", label_map: dict[str, str] | None = None) -> list[EvalItem]:
    fmt = detect_format(path) if fmt == "auto" else fmt
    mapping = {k: Label(v) for k, v in label_map.items()} if label_map else None
    if fmt == "climate-fever":
        return load_climate_fever(path, mapping)
    if fmt == "generic":
        return load_generic(path, mapping)
    raise InputError(f"unknown dataset format: {fmt}")


def stratified_sample(items: list[EvalItem], limit: int | None, seed: int) -> list[EvalItem]:
    """Up to ``limit`` items (all of them when ``limit`` is None) with equal shares per original label,
    as far as each label has items. The order takes one item of each label in turn, so every prefix
    of the sample is itself stratified: an interrupted run still measures a balanced subset."""
    rng = random.Random(seed)
    groups: dict[str, list[EvalItem]] = defaultdict(list)
    for item in items:
        groups[item.original_label].append(item)
    for group in groups.values():
        rng.shuffle(group)
    want = len(items) if limit is None else min(limit, len(items))
    chosen: list[EvalItem] = []
    keys = sorted(groups)
    while len(chosen) < want:
        for key in keys:
            if groups[key] and len(chosen) < want:
                chosen.append(groups[key].pop())
    return chosen


# ----- annotated articles ---------------------------------------------------------------------


class GoldEvidence(BaseModel):
    doc: str
    quote: str


class GoldClaim(BaseModel):
    id: str
    text: str
    source_sentence: str
    kind: ClaimKind
    label: Label | None = None
    evidence: list[GoldEvidence] = Field(default_factory=list)
    note: str | None = None


class GoldArticle(BaseModel):
    name: str
    text: str
    claims: list[GoldClaim]
    date: str | None = None  # the article's own date, as annotated (the pipeline reads the dateline)
    split: str | None = None  # "dev" (look, tune) or "test" (report only)


def load_articles(directory: Path) -> list[GoldArticle]:
    articles = []
    for gold_path in sorted(directory.glob("*.gold.json")):
        data = json.loads(gold_path.read_text(encoding="utf-8"))
        text_path = directory / data["article"]
        articles.append(
            GoldArticle(
                name=text_path.stem,
                text=text_path.read_text(encoding="utf-8"),
                claims=[GoldClaim.model_validate(c) for c in data["claims"]],
                date=data.get("date"),
                split=data.get("split"),
            )
        )
    if not articles:
        raise InputError(f"no *.gold.json files in {directory}")
    return articles
