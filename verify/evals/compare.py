"""Side-by-side comparison of two eval runs, with paired bootstrap intervals on shared items."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..models import Label
from . import metrics as m
from .summary import end_to_end_metrics, extraction_metrics, read_items


def load_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"no summary.json in {run_dir}: is it a finished eval run?") from exc
    return summary, {rec["id"]: rec for rec in read_items(run_dir)}


_SCALARS = (
    "error_rate",
    "abstention_rate",
    "downgrade_rate",
    "citations_verified_rate",
    "ece",
    "retrieval_recall_at_k",
)


def compare_runs(dir_a: Path, dir_b: Path) -> str:
    sum_a, rec_a = load_run(dir_a)
    sum_b, rec_b = load_run(dir_b)
    if sum_a.get("mode") == "kinds" or sum_b.get("mode") == "kinds":
        from .kind_items import compare_kind_runs

        if sum_a.get("mode") != sum_b.get("mode"):
            raise InputError("a kinds run can only be compared with another kinds run")
        return f"A: {dir_a}\nB: {dir_b}\n" + compare_kind_runs(
            rec_a, rec_b, sum_a["kinds"]["threshold"], sum_b["kinds"]["threshold"]
        )
    if "extraction" in sum_a and "extraction" in sum_b:
        return _compare_articles(rec_a, rec_b, dir_a, dir_b)
    if "headline" not in sum_a or "headline" not in sum_b:
        return _compare_flat(sum_a, sum_b, dir_a, dir_b)
    shared = sorted(set(rec_a) & set(rec_b))
    lines = [
        f"A: {dir_a}  ({sum_a['items']} items)",
        f"B: {dir_b}  ({sum_b['items']} items)",
        f"shared items: {len(shared)}",
        "",
        f"{'metric':<26}{'A':>22}{'B':>22}{'B-A':>9}  paired 95% CI of B-A",
        "-" * 100,
    ]
    same_items = set(rec_a) == set(rec_b)
    if not same_items:
        lines.insert(3, "the runs hold different items: the headline figures are computed on the shared items")
    gold = [Label(rec_a[i]["gold"]) for i in shared]
    pa = [Label(rec_a[i]["prediction"]) if rec_a[i].get("prediction") else None for i in shared]
    pb = [Label(rec_b[i]["prediction"]) if rec_b[i].get("prediction") else None for i in shared]
    for name, fn in m.HEADLINE.items():
        if name not in sum_a["headline"] or name not in sum_b["headline"]:
            lines.append(f"{name:<26}  (not in both summaries: a run summarised by an older version)")
            continue
        if same_items:
            a, b = sum_a["headline"][name], sum_b["headline"][name]
        else:
            a = {"value": fn(gold, pa), "ci95": list(m.bootstrap_ci(gold, pa, fn))}
            b = {"value": fn(gold, pb), "ci95": list(m.bootstrap_ci(gold, pb, fn))}
        row = f"{name:<26}{_ci(a):>22}{_ci(b):>22}{b['value'] - a['value']:>+9.3f}"
        if len(shared) >= 20:
            _, lo, hi = m.paired_bootstrap_diff(gold, pa, pb, fn)
            flag = "  * outside noise" if lo > 0 or hi < 0 else ""
            row += f"  [{lo:+.3f}, {hi:+.3f}]{flag}"
        else:
            overlap = a["ci95"][0] <= b["ci95"][1] and b["ci95"][0] <= a["ci95"][1]
            row += "  (too few shared items; CIs " + ("overlap)" if overlap else "do not overlap) *")
        lines.append(row)
    if not same_items:
        lines.append("(the rates and costs below are each run's own, over all its items)")
    for key in _SCALARS:
        if key in sum_a or key in sum_b:
            va, vb = sum_a.get(key), sum_b.get(key)
            lines.append(f"{key:<26}{_num(va):>22}{_num(vb):>22}{_diff(va, vb):>9}")
    ca, cb = sum_a["cost"], sum_b["cost"]
    for key in (
        "wall_seconds_per_item",
        "latency_seconds_per_item",
        "llm_calls_per_item",
        "completion_tokens_per_item",
    ):
        lines.append(f"{key:<26}{_num(ca.get(key)):>22}{_num(cb.get(key)):>22}{_diff(ca.get(key), cb.get(key)):>9}")
    return "\n".join(lines)


ARTICLE_RESAMPLES = 2000


def _compare_articles(
    rec_a: dict[str, dict[str, Any]], rec_b: dict[str, dict[str, Any]], dir_a: Path, dir_b: Path
) -> str:
    """Extraction figures of two article runs on their shared articles, with a paired bootstrap over
    articles (claims of one article are not independent, so whole articles are resampled)."""
    shared = sorted(set(rec_a) & set(rec_b))
    judged = all(any("prediction" in row for row in rec[i]["gold"]) for rec in (rec_a, rec_b) for i in shared)

    def measure(records: list[dict[str, Any]]) -> dict[str, float | None]:
        # both runs judged (pipeline mode): the end-to-end figures too
        return {**extraction_metrics(records), **(end_to_end_metrics(records) if judged else {})}

    lines = [
        f"A: {dir_a}",
        f"B: {dir_b}",
        f"shared articles: {len(shared)} (paired bootstrap over articles, {ARTICLE_RESAMPLES} resamples)",
        "",
        *paired_table([rec_a[i] for i in shared], [rec_b[i] for i in shared], measure, measure, width=28),
    ]
    for key in ("seconds", "extracted"):
        va = sum(_size(rec_a[i], key) for i in shared) / max(1, len(shared))
        vb = sum(_size(rec_b[i], key) for i in shared) / max(1, len(shared))
        lines.append(f"{key + ' per article':<28}{va:>8.1f}{vb:>8.1f}{vb - va:>+9.1f}")
    return "\n".join(lines)


Measure = Callable[[list[dict[str, Any]]], dict[str, float | None]]


def paired_table(
    a: list[dict[str, Any]],
    b: list[dict[str, Any]],
    measure_a: Measure,
    measure_b: Measure,
    *,
    width: int = 20,
    resamples: int = ARTICLE_RESAMPLES,
) -> list[str]:
    """Each figure of ``measure`` on two runs' records of the same units (``a[i]`` and ``b[i]``), with a
    95% interval of B-A from resampling the units together."""
    import random

    fa, fb = measure_a(a), measure_b(b)
    rng = random.Random(0)
    diffs: dict[str, list[float]] = {k: [] for k in fa}
    for _ in range(resamples if len(a) > 1 else 0):
        pick = [rng.randrange(len(a)) for _ in a]
        ma, mb = measure_a([a[i] for i in pick]), measure_b([b[i] for i in pick])
        for k in diffs:
            va, vb = ma[k], mb[k]
            if va is not None and vb is not None:
                diffs[k].append(vb - va)
    lines = [f"{'metric':<{width}}{'A':>8}{'B':>8}{'B-A':>9}  paired 95% CI of B-A", "-" * (width + 52)]
    for k, va in fa.items():
        vb = fb[k]
        row = f"{k:<{width}}{_num(va):>8}{_num(vb):>8}{_diff(va, vb):>9}"
        d = sorted(diffs[k])
        if len(d) >= 20:
            lo, hi = d[int(0.025 * len(d))], d[int(0.975 * len(d)) - 1]
            row += f"  [{lo:+.3f}, {hi:+.3f}]" + ("  * outside noise" if lo > 0 or hi < 0 else "")
        lines.append(row)
    return lines


def _size(record: dict[str, Any], key: str) -> float:
    value = record.get(key, 0)
    return float(len(value)) if isinstance(value, list) else float(value or 0)


def _compare_flat(sum_a: dict[str, Any], sum_b: dict[str, Any], dir_a: Path, dir_b: Path) -> str:
    lines = [f"A: {dir_a}", f"B: {dir_b}", "", f"{'metric':<26}{'A':>12}{'B':>12}{'B-A':>9}"]
    for section in ("extraction", "cost"):
        for key in sorted(set(sum_a.get(section, {})) | set(sum_b.get(section, {}))):
            va, vb = sum_a.get(section, {}).get(key), sum_b.get(section, {}).get(key)
            lines.append(f"{key:<26}{_num(va):>12}{_num(vb):>12}{_diff(va, vb):>9}")
    return "\n".join(lines)


def _ci(entry: dict[str, Any]) -> str:
    return f"{entry['value']:.3f} [{entry['ci95'][0]:.2f},{entry['ci95'][1]:.2f}]"


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def _diff(a: Any, b: Any) -> str:
    return "" if a is None or b is None else f"{b - a:+.3f}"
