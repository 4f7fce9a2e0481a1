"""Kind mode: the kind step on its own, one gold claim at a time (``evals/kind_gold.jsonl``).

Each item is a claim as the extractor would write it, with its source sentence and its gold kind.
The run asks the same :class:`~verify.kinds.KindClassifier` the extractor uses for P(checkable),
applies the same code rule for questions, and records the probability, so that a threshold can be
swept and a prompt compared without running the extractor or the judge. What the kind step
decides is fact versus not checkable, so the figures are the share of gold non-facts set aside and
the share of gold facts set aside (and the area under the ROC curve of P(checkable), which does
not depend on a threshold), overall and per tag.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..errors import FATAL_ERRORS, BackendError, InputError
from ..extraction import is_question
from ..kind_combiner import KindCombiner
from ..kinds import KindClassifier
from ..models import ClaimKind
from .datasets import read_jsonl_rows
from .runner import pending

GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))  # shown in reports
FIT_GRID = tuple(round(0.01 * i, 2) for i in range(1, 100))  # searched when a threshold is fitted
RESAMPLES = 1000


class KindItem(BaseModel):
    id: str
    text: str
    sentence: str
    kind: ClaimKind
    tags: list[str] = Field(default_factory=list)
    source: str | None = None
    split: str | None = None


def load_kind_items(path: Path) -> list[KindItem]:
    items = []
    for number, row in enumerate(read_jsonl_rows(path), 1):
        try:
            items.append(KindItem.model_validate(row))
        except ValidationError as exc:
            raise InputError(f"{path}: item {number} is not a kind gold item ({exc.errors()[0]['msg']})") from exc
    return items


def is_kind_dataset(path: Path) -> bool:
    """A JSONL file whose first item has a gold ``kind`` and a ``sentence`` (and no verdict label)."""
    if path.is_dir() or path.suffix != ".jsonl" or not path.exists():
        return False
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError:
                    return False
                return isinstance(first, dict) and {"kind", "sentence", "text"} <= set(first) and "label" not in first
    return False


# ----- running ---------------------------------------------------------------------------------


async def run_kind_items(
    classifier: KindClassifier,
    items: list[KindItem],
    log: Any,
    *,
    concurrency: int,
    progress: Callable[[], None] | None = None,
) -> None:
    """One classifier call per item not yet in ``log`` (a :class:`~verify.evals.runner.RunLog`)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(item: KindItem) -> None:
        record: dict[str, Any] = {
            "id": item.id,
            "text": item.text,
            "gold_kind": item.kind.value,
            "tags": item.tags,
            "split": item.split,
            "question": is_question(item.sentence),
        }
        async with gate:
            started = time.perf_counter()
            try:
                score, usage = await classifier.score(item.text, sentence=item.sentence)
            except BackendError as exc:
                if type(exc).__name__ in FATAL_ERRORS:
                    raise
                record.update(checkable_prob=None, error_type=type(exc).__name__, error=str(exc))
            else:
                record.update(checkable_prob=score.prob, checkable_prob_raw=score.raw, usage=usage.model_dump())
            record["seconds"] = time.perf_counter() - started
        log.append(record)
        if progress:
            progress()

    await asyncio.gather(*(one(item) for item in pending(items, log, progress)))


# ----- scoring ---------------------------------------------------------------------------------


def set_aside(record: dict[str, Any], threshold: float) -> bool | None:
    """Whether the pipeline would set this claim aside (None: the classifier failed on it)."""
    if record.get("question"):
        return True
    prob = record.get("checkable_prob")
    return None if prob is None else prob < threshold


def shares(records: Sequence[dict[str, Any]], threshold: float) -> dict[str, float | None]:
    """Share of gold non-facts set aside and share of gold facts set aside (failed items left out)."""
    facts = non_facts = facts_aside = non_facts_aside = 0
    for rec in records:
        aside = set_aside(rec, threshold)
        if aside is None:
            continue
        if rec["gold_kind"] == ClaimKind.FACT.value:
            facts += 1
            facts_aside += aside
        else:
            non_facts += 1
            non_facts_aside += aside
    return {
        "non_facts_aside": non_facts_aside / non_facts if non_facts else None,
        "facts_aside": facts_aside / facts if facts else None,
    }


def auc(records: Sequence[dict[str, Any]]) -> float | None:
    """Area under the ROC curve of P(checkable) for gold fact against gold non-fact (ties count half);
    a question counts as P = 0, as the pipeline treats it."""
    pos, neg = [], []
    for rec in records:
        prob = 0.0 if rec.get("question") else rec.get("checkable_prob")
        if prob is None:
            continue
        (pos if rec["gold_kind"] == ClaimKind.FACT.value else neg).append(prob)
    if not pos or not neg:
        return None
    ranked = sorted([(p, 1) for p in pos] + [(p, 0) for p in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # average 1-based rank of the tie group
        rank_sum += mid * sum(label for _, label in ranked[i:j])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def _figures(records: Sequence[dict[str, Any]], threshold: float) -> dict[str, float | None]:
    return {**shares(records, threshold), "auc": auc(records)}


def _interval(records: Sequence[dict[str, Any]], threshold: float, seed: int = 0) -> dict[str, list[float] | None]:
    rng = random.Random(seed)
    draws: dict[str, list[float]] = {"non_facts_aside": [], "facts_aside": [], "auc": []}
    for _ in range(RESAMPLES):
        sample = [records[rng.randrange(len(records))] for _ in records]
        for key, value in _figures(sample, threshold).items():
            if value is not None:
                draws[key].append(value)
    return {key: _quantiles(values) for key, values in draws.items()}


def _quantiles(values: list[float]) -> list[float] | None:
    if len(values) < 20:
        return None
    values = sorted(values)
    return [values[int(0.025 * len(values))], values[min(len(values) - 1, int(0.975 * len(values)))]]


def best_threshold(records: Sequence[dict[str, Any]], max_facts_aside: float) -> float | None:
    """The grid threshold that sets aside the most gold non-facts with at most ``max_facts_aside``
    of the gold facts (fit on the dev split only)."""
    best: tuple[float, float] | None = None
    for t in FIT_GRID:
        s = shares(records, t)
        non, fac = s["non_facts_aside"], s["facts_aside"]
        if non is None or fac is None or fac > max_facts_aside:
            continue
        if best is None or non > best[1]:
            best = (t, non)
    return best[0] if best else None


def summarize_kind_items(records: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    scored = [r for r in records if r.get("checkable_prob") is not None or r.get("question")]
    overall = _figures(scored, threshold)
    by_kind: dict[str, dict[str, Any]] = {}
    for kind in ClaimKind:
        rows = [r for r in scored if r["gold_kind"] == kind.value]
        if rows:
            aside = [set_aside(r, threshold) for r in rows]
            by_kind[kind.value] = {"n": len(rows), "set_aside": sum(bool(a) for a in aside) / len(rows)}
    by_tag: dict[str, dict[str, Any]] = {}
    for tag in sorted({t for r in scored for t in r.get("tags", [])}):
        rows = [r for r in scored if tag in r.get("tags", [])]
        by_tag[tag] = {"n": len(rows), **shares(rows, threshold)}
    usage = [r.get("usage") or {} for r in records]
    return {
        "items": len(records),
        "errors": sum(1 for r in records if r.get("error_type")),
        "kinds": {
            "threshold": threshold,
            **overall,
            "ci95": _interval(scored, threshold),
            "by_gold_kind": by_kind,
            "by_tag": by_tag,
            "sweep": [{"threshold": t, **shares(scored, t)} for t in GRID],
            "best_threshold_at_8pct_facts": best_threshold(scored, 0.08),
        },
        "cost": {
            "latency_seconds_per_item": _mean([r.get("seconds") for r in records]),
            "prompt_tokens_per_item": _mean([u.get("prompt_tokens") for u in usage]),
            "cached_tokens_per_item": _mean([u.get("cached_tokens") for u in usage]),
            "completion_tokens_per_item": _mean([u.get("completion_tokens") for u in usage]),
        },
    }


def _mean(values: list[Any]) -> float | None:
    nums = [float(v) for v in values if v is not None]
    return sum(nums) / len(nums) if nums else None


def render_kind_markdown(summary: dict[str, Any], meta: dict[str, Any]) -> str:
    k = summary["kinds"]
    ci = k["ci95"]
    lines = [
        f"# Eval run: kinds on {meta['dataset']}" + (f" (split {meta['split']})" if meta.get("split") else ""),
        "",
        f"{summary['items']} items, {summary['errors']} failed; threshold {k['threshold']:.2f} "
        f"(prompt classify_claim {meta['prompt_hashes'].get('classify_claim', '?')}; kind combiner "
        f"{meta.get('kind_combiner') or 'none'})",
        "",
        "| measure | value | 95% CI |",
        "|---|---|---|",
    ]
    for key, name in (
        ("non_facts_aside", "gold non-facts set aside"),
        ("facts_aside", "gold facts set aside"),
        ("auc", "AUC of P(checkable), fact vs not"),
    ):
        lines.append(f"| {name} | {_f(k[key])} | {_ci(ci.get(key))} |")
    lines += ["", "| gold kind | n | set aside |", "|---|---|---|"]
    lines += [f"| {kind} | {v['n']} | {v['set_aside']:.3f} |" for kind, v in k["by_gold_kind"].items()]
    if k["by_tag"]:
        lines += ["", "| tag | n | non-facts set aside | facts set aside |", "|---|---|---|---|"]
        lines += [
            f"| {tag} | {v['n']} | {_f(v['non_facts_aside'])} | {_f(v['facts_aside'])} |"
            for tag, v in k["by_tag"].items()
        ]
    lines += ["", "| threshold | non-facts set aside | facts set aside |", "|---|---|---|"]
    lines += [
        f"| {row['threshold']:.2f} | {_f(row['non_facts_aside'])} | {_f(row['facts_aside'])} |" for row in k["sweep"]
    ]
    best = k["best_threshold_at_8pct_facts"]
    lines += [
        "",
        "most non-facts set aside with at most 8% of facts set aside: "
        + (f"threshold {best:.2f}" if best is not None else "no threshold")
        + (" (fit thresholds on the dev split only)" if meta.get("split") != "dev" else ""),
        "",
        "cost: " + ", ".join(f"{key} {_f(v)}" for key, v in summary["cost"].items() if v is not None),
    ]
    return "\n".join(lines) + "\n"


def compare_kind_runs(rec_a: dict[str, dict[str, Any]], rec_b: dict[str, dict[str, Any]], ta: float, tb: float) -> str:
    """Paired bootstrap over the shared items of two kind runs, each at its own threshold."""
    from .compare import paired_table

    shared = sorted(set(rec_a) & set(rec_b))
    head = f"shared items: {len(shared)}; thresholds A {ta:.2f}, B {tb:.2f} (paired bootstrap over items)"
    table = paired_table(
        [rec_a[i] for i in shared],
        [rec_b[i] for i in shared],
        lambda recs: _figures(recs, ta),
        lambda recs: _figures(recs, tb),
        resamples=RESAMPLES,
    )
    return "\n".join([head, "", *table])


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def _ci(v: list[float] | None) -> str:
    return "-" if not v else f"[{v[0]:.3f}, {v[1]:.3f}]"


# ----- the kind combiner, fitted on a development run --------------------------------------------


def _fit_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records a combiner can learn from: a raw probability, and not a question (set aside in code).
    Runs from before ``checkable_prob_raw`` was recorded had no combiner: their probability is raw."""
    rows = []
    for r in records:
        raw = r.get("checkable_prob_raw", r.get("checkable_prob"))
        if raw is not None and not r.get("question"):
            rows.append({**r, "checkable_prob_raw": raw})
    return rows


def out_of_fold(records: list[dict[str, Any]], *, folds: int, c: float) -> list[dict[str, Any]]:
    """Copies of ``records`` whose ``checkable_prob`` is a combiner's fitted on the other folds
    (questions and failed items unchanged)."""
    from sklearn.model_selection import StratifiedKFold

    from ..kind_combiner import fit_kind_combiner

    rows = _fit_rows(records)
    is_fact = [r["gold_kind"] == ClaimKind.FACT.value for r in rows]
    out = {r["id"]: dict(r) for r in records}
    split = StratifiedKFold(folds, shuffle=True, random_state=0).split(rows, is_fact)
    for train, test in split:
        comb = fit_kind_combiner(
            [rows[i]["text"] for i in train],
            [rows[i]["checkable_prob_raw"] for i in train],
            [is_fact[i] for i in train],
            model="",
            prompt_hash="",
            threshold=0.5,
            c=c,
        )
        for i in test:
            out[rows[i]["id"]]["checkable_prob"] = comb.apply(rows[i]["text"], rows[i]["checkable_prob_raw"])
    return [out[r["id"]] for r in records]


def fit_from_run(run_dir: Path, *, c: float = 0.5, folds: int = 5, max_facts_aside: float = 0.08) -> KindCombiner:
    """A kind combiner fitted on every item of a dev kinds run, with the threshold that its
    out-of-fold predictions on the same run support (most non-facts set aside, facts <= the bound)."""
    from ..errors import ConfigError
    from ..kind_combiner import fit_kind_combiner
    from .summary import read_items

    meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    if meta["mode"] != "kinds":
        raise ConfigError(f"{run_dir} is not a kinds run")
    if meta.get("split") != "dev":
        raise ConfigError(f"{run_dir} is not a run on the dev split: fit on the dev split")
    if meta.get("kind_combiner"):
        raise ConfigError(f"{run_dir} was run with a kind combiner; fit on a run made with kind_combiner = 'off'")
    records = read_items(run_dir)
    threshold = best_threshold(out_of_fold(records, folds=folds, c=c), max_facts_aside)
    if threshold is None:
        raise ConfigError(f"no threshold sets aside at most {max_facts_aside:.0%} of the facts out of fold")
    rows = _fit_rows(records)
    return fit_kind_combiner(
        [r["text"] for r in rows],
        [r["checkable_prob_raw"] for r in rows],
        [r["gold_kind"] == ClaimKind.FACT.value for r in rows],
        model=meta["model"],
        prompt_hash=meta["prompt_hashes"]["classify_claim"],
        threshold=threshold,
        c=c,
        fitted_on=f"{run_dir} (kinds, {len(rows)} items, split dev), C={c}, threshold from {folds}-fold predictions",
    )


def write_cross_fitted_run(run_dir: Path, out: Path, *, folds: int, c: float, max_facts_aside: float = 0.08) -> None:
    """``run_dir`` re-scored with out-of-fold kind combiners into ``out`` (for ``verify eval compare``)."""
    from .summary import finish_run, read_items

    meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    records = out_of_fold(read_items(run_dir), folds=folds, c=c)
    meta = {
        **meta,
        "kind_threshold": best_threshold(records, max_facts_aside),
        "kind_combiner": f"{folds}-fold out-of-fold combiners on {run_dir}",
        "rescored_from": str(run_dir),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    (out / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    finish_run(out, records, meta)
