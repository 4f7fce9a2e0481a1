"""Running evals: every item's result is appended to ``items.jsonl`` as soon as it is known, so an
interrupted run resumes where it stopped. ``meta.json`` pins what the run measures (model, prompt
hashes, calibration, mode, dataset); resuming with anything else is refused."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..dates import find_article_date
from ..documents import iter_document_paths
from ..errors import FATAL_ERRORS, BackendError, ConfigError
from ..judge import Judge
from ..lexical import tokenize
from ..models import EvidencePassage, Verdict
from ..retrieval import HybridRetriever
from ..store import EvidenceStore
from ..verifier import Verifier
from .datasets import EvalItem, GoldArticle
from .summary import read_items

Progress = Callable[[], None]
FOUND_CONTAINMENT = 0.5  # share of a gold passage's content words a retrieved passage must contain


def passage_found(gold: EvidencePassage, retrieved: list[EvidencePassage]) -> bool:
    """A gold passage counts as retrieved when a passage of the same document holds at least half of
    its content words (chunk boundaries differ from the gold excerpt's)."""
    want = set(tokenize(gold.text))
    if not want:
        return False
    for p in retrieved:
        if p.id == gold.id:
            return True
        if p.doc_id == gold.doc_id and len(want & set(tokenize(p.text))) / len(want) >= FOUND_CONTAINMENT:
            return True
    return False


class RunLog:
    """``items.jsonl`` plus ``meta.json`` in a run directory."""

    def __init__(self, run_dir: Path, meta: dict[str, Any], *, resume: bool) -> None:
        self.dir = run_dir
        self.items_path = run_dir / "items.jsonl"
        meta_path = run_dir / "meta.json"
        run_dir.mkdir(parents=True, exist_ok=True)
        self.records: dict[str, dict[str, Any]] = {}
        if self.items_path.exists():
            if not resume:
                raise ConfigError(f"{run_dir} already holds a run: pass --resume to continue it, or another --out")
            old = json.loads(meta_path.read_text(encoding="utf-8"))
            pinned = ("mode", "dataset", "model", "prompt_hashes", "calibration")
            changed = [k for k in pinned if old.get(k) != meta.get(k)]
            if changed:
                raise ConfigError(f"cannot resume {run_dir}: {', '.join(changed)} changed since it started")
            for rec in read_items(run_dir):
                if rec.get("error_type") not in FATAL_ERRORS:
                    self.records[rec["id"]] = rec
        meta_path.write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
        self._started = time.perf_counter()
        self._appended = 0

    def record_wall_time(self, concurrency: int) -> None:
        """Append this session's wall time to ``wall.jsonl``: per-item seconds overlap when requests run
        concurrently, so wall time per item is what a batch costs."""
        line = {"seconds": time.perf_counter() - self._started, "items": self._appended, "concurrency": concurrency}
        with (self.dir / "wall.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")

    def done(self, item_id: str) -> bool:
        return item_id in self.records

    def append(self, record: dict[str, Any]) -> None:
        self.records[record["id"]] = record
        self._appended += 1
        with self.items_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=str) + "\n")
            fh.flush()


def run_meta(verifier: Verifier, *, mode: str, dataset: str, command: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "mode": mode,
        "dataset": dataset,
        "model": verifier.model_name,
        "backend": verifier.config.backend,
        "prompt_hashes": verifier.prompt_hashes,
        "calibration": verifier.calibration.source if verifier.calibration else None,
        "config": verifier.config.redacted(),
        "command": command,
        **extra,
    }


def judge_prompt_version(meta: dict[str, Any]) -> str | None:
    """The judge prompt's version in a run's meta (``judge_claim``, or ``judge_label`` when code cites)."""
    hashes = meta["prompt_hashes"]
    return hashes.get("judge_claim") or hashes.get("judge_label")


def build_retriever(verifier: Verifier, run_dir: Path, passages: list[EvidencePassage]) -> HybridRetriever:
    store = EvidenceStore(verifier.embedder, path=run_dir / "chroma", collection="eval", create=True)
    store.add(passages)
    return HybridRetriever.from_config(store, verifier.config)


def corpus_passages(verifier: Verifier, evidence_dir: Path) -> list[EvidencePassage]:
    return [p for path in iter_document_paths([evidence_dir]) for p in verifier.passages_of(path)]


async def run_items(
    verifier: Verifier,
    items: list[EvalItem],
    log: RunLog,
    *,
    retriever: HybridRetriever | None = None,
    progress: Progress | None = None,
) -> None:
    """Judge each item on its gold passages (``retriever`` None) or on retrieved passages."""
    judge = verifier.make_judge()
    gate = asyncio.Semaphore(verifier.config.concurrency)

    async def one(item: EvalItem) -> None:
        async with gate:
            await _judge_item(judge, item, log, retriever)
        if progress:
            progress()

    await asyncio.gather(*(one(item) for item in pending(items, log, progress)))


def pending(items: list[Any], log: RunLog, progress: Progress | None) -> list[Any]:
    """The items ``log`` does not hold yet; the progress bar is advanced for the others."""
    todo = [item for item in items if not log.done(item.id)]
    for _ in range(len(items) - len(todo)):
        if progress:
            progress()
    return todo


def verdict_fields(v: Verdict) -> dict[str, Any]:
    """A verdict as the fields of an item record."""
    return {
        "prediction": v.label.value,
        "model_label": v.model_label.value,
        "confidence": v.confidence,
        "label_probs": v.label_probs,
        "label_probs_raw": v.label_probs_raw,
        "citations": [c.model_dump() for c in v.citations],
        "dropped_citations": [d.model_dump() for d in v.dropped_citations],
        "downgraded_from": v.downgraded_from.value if v.downgraded_from else None,
        "downgrade_reason": v.downgrade_reason,
        "rationale": v.rationale,
        "raw_output": v.raw_output,
    }


async def _judge_item(judge: Judge, item: EvalItem, log: RunLog, retriever: HybridRetriever | None) -> None:
    record: dict[str, Any] = {
        "id": item.id,
        "claim": item.claim,
        "gold": item.label.value,
        "original_label": item.original_label,
        "tags": item.tags,
    }
    passages = item.passages
    if retriever is not None:
        passages = [r.passage for r in retriever.retrieve(item.claim)]
        record["retrieved"] = [p.id for p in passages]
        record["gold_found"] = any(passage_found(g, passages) for g in item.passages)
    started = time.perf_counter()
    try:
        judgement = await judge.judge(item.id, item.claim, passages)
    except BackendError as exc:
        if type(exc).__name__ in FATAL_ERRORS:
            raise
        record.update(prediction=None, error_type=type(exc).__name__, error=str(exc))
    else:
        record.update(
            verdict_fields(judgement.verdict), attempts=judgement.attempts, usage=judgement.usage.model_dump()
        )
    record["seconds"] = time.perf_counter() - started
    log.append(record)


# ----- articles: extraction and the full pipeline -----------------------------------------------


def token_f1(a: str, b: str) -> float:
    ta, tb = tokenize(a), tokenize(b)
    if not ta or not tb:
        return 0.0
    common = sum(min(ta.count(t), tb.count(t)) for t in set(ta))
    if not common:
        return 0.0
    p, r = common / len(tb), common / len(ta)
    return 2 * p * r / (p + r)


MATCH_F1 = 0.5


def match_claims(gold: GoldArticle, extracted: list[dict[str, Any]]) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching of gold claims to extracted claims by content-word F1 >= 0.5."""
    pairs = sorted(
        ((token_f1(g.text, e["text"]), gi, ei) for gi, g in enumerate(gold.claims) for ei, e in enumerate(extracted)),
        reverse=True,
    )
    used_g: set[int] = set()
    used_e: set[int] = set()
    matches = []
    for score, gi, ei in pairs:
        if score < MATCH_F1:
            break
        if gi in used_g or ei in used_e:
            continue
        used_g.add(gi)
        used_e.add(ei)
        matches.append((gi, ei, score))
    return matches


def span_ok(article: str, source_sentence: str, span: dict[str, int]) -> bool:
    start = article.find(source_sentence)
    if start < 0:
        return False
    end = start + len(source_sentence)
    return span["start"] < end and start < span["end"]


async def run_articles(
    verifier: Verifier,
    articles: list[GoldArticle],
    log: RunLog,
    *,
    judge: bool,
    progress: Progress | None = None,
) -> None:
    """Extraction mode (``judge`` False) or the full pipeline on each annotated article."""
    for article in articles:
        if log.done(article.name):
            if progress:
                progress()
            continue
        started = time.perf_counter()
        record: dict[str, Any] = {"id": article.name}
        if judge:
            report = await verifier.acheck(article.text, source=article.name)
            claims = [c.model_dump(mode="json") for c in report.claims]
            verdicts = {v.claim_id: v for v in report.verdicts}
            record["usage"] = {k: u.model_dump() for k, u in report.run.usage.items()}
            record["failures"] = [f.model_dump() for f in report.failures]
            passages = report.passages
        else:
            result = await verifier.make_extractor().extract(article.text, article_date=find_article_date(article.text))
            claims = [c.model_dump(mode="json") for c in result.claims]
            verdicts = {}
            passages = {}
            record["usage"] = {"extract": result.usage.model_dump()}
            record["failures"] = [f.model_dump() for f in result.failures]
            record["dropped"] = result.dropped
        matches = match_claims(article, claims)
        rows = []
        matched_e = {ei: (gi, score) for gi, ei, score in matches}
        matched_g = {gi: ei for gi, ei, _ in matches}
        for gi, g in enumerate(article.claims):
            row: dict[str, Any] = {
                "gold_id": g.id,
                "gold_text": g.text,
                "gold_kind": g.kind.value,
                "gold_label": g.label.value if g.label else None,
            }
            ei = matched_g.get(gi)
            if ei is not None:
                e = claims[ei]
                row.update(
                    claim_id=e["id"],
                    text=e["text"],
                    kind=e["kind"],
                    model_kind=e.get("model_kind"),
                    checkable_prob=e.get("checkable_prob"),
                    kind_reason=e.get("kind_reason"),
                    span_ok=span_ok(article.text, g.source_sentence, e["span"]),
                )
                v = verdicts.get(e["id"])
                if judge:
                    row["prediction"] = v.label.value if v else None
                    if v is not None and g.evidence:
                        docs = {passages[pid].doc_id for pid in v.retrieved_passage_ids if pid in passages}
                        row["gold_doc_retrieved"] = any(ev.doc in docs for ev in g.evidence)
            rows.append(row)
        record["gold"] = rows
        record["extracted"] = [
            {
                "id": c["id"],
                "text": c["text"],
                "kind": c["kind"],
                "model_kind": c.get("model_kind"),
                "checkable_prob": c.get("checkable_prob"),
                "matched": i in matched_e,
            }
            for i, c in enumerate(claims)
        ]
        record["seconds"] = time.perf_counter() - started
        log.append(record)
        if progress:
            progress()
