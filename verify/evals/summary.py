"""Summaries of eval runs (JSON), their Markdown report and PNG plots."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..models import LABELS, Label
from . import metrics as m


def _labels(records: list[dict[str, Any]], key: str) -> list[Label | None]:
    return [Label(r[key]) if r.get(key) else None for r in records]


def _headline(gold: list[Label], pred: list[Label | None], seed: int = 0) -> dict[str, Any]:
    out = {}
    for name, fn in m.HEADLINE.items():
        lo, hi = m.bootstrap_ci(gold, pred, fn, seed=seed)
        out[name] = {"value": fn(gold, pred), "ci95": [lo, hi]}
    return out


def summarize_items(records: list[dict[str, Any]]) -> dict[str, Any]:
    gold = [Label(r["gold"]) for r in records]
    pred = _labels(records, "prediction")
    model_pred = _labels(records, "model_label")
    judged = [r for r in records if r.get("prediction")]
    n = len(records)
    summary: dict[str, Any] = {
        "items": n,
        "errors": n - len(judged),
        "error_rate": (n - len(judged)) / n if n else 0.0,
        "headline": _headline(gold, pred),
        "model_label_headline": _headline(gold, model_pred),
        "per_label": m.per_label(gold, pred),
        "confusion": m.confusion(gold, pred),
        "gold_counts": {label.value: gold.count(label) for label in LABELS},
        "prediction_counts": {label.value: pred.count(label) for label in LABELS},
        "abstention_rate": pred.count(Label.UNVERIFIABLE) / n if n else 0.0,
        "downgrade_rate": sum(1 for r in judged if r.get("downgraded_from")) / len(judged) if judged else 0.0,
        "citations_verified_rate": (
            sum(1 for r in judged if r.get("citations") and not r.get("dropped_citations")) / len(judged)
            if judged
            else 0.0
        ),
    }
    confident = [r for r in judged if r.get("confidence") is not None]
    if confident:
        conf = [float(r["confidence"]) for r in confident]
        ok = [r["prediction"] == r["gold"] for r in confident]
        summary["ece"] = m.expected_calibration_error(conf, ok)
        summary["reliability"] = m.reliability(conf, ok)
        summary["reliability_by_label"] = reliability_by_label(confident)
    by_original: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in records:
        by_original[r["original_label"]][r.get("prediction") or "error"] += 1
    summary["by_original_label"] = {k: dict(v) for k, v in sorted(by_original.items())}
    summary["accuracy_by_original_label"] = {
        k: sum(r.get("prediction") == r["gold"] for r in records if r["original_label"] == k) / sum(v.values())
        for k, v in sorted(by_original.items())
    }
    summary["headline_without_original"] = _headline_without_merged(records)
    by_tag: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        for tag in r.get("tags") or []:
            by_tag[tag].append(r)
    summary["accuracy_by_tag"] = {
        t: {
            "n": len(rs),
            "accuracy": sum(r.get("prediction") == r["gold"] for r in rs) / len(rs),
            "called_supported": sum(r.get("prediction") == "supported" for r in rs) / len(rs),
        }
        for t, rs in sorted(by_tag.items())
    }
    if any("gold_found" in r for r in records):
        found = [bool(r.get("gold_found")) for r in records]
        summary["retrieval_recall_at_k"] = sum(found) / n
    usage = [r.get("usage") or {} for r in records]
    summary["cost"] = {
        "llm_calls_per_item": sum(u.get("calls", 0) for u in usage) / n if n else 0.0,
        "prompt_tokens_per_item": sum(u.get("prompt_tokens", 0) for u in usage) / n if n else 0.0,
        "cached_prompt_tokens_per_item": sum(u.get("cached_tokens", 0) for u in usage) / n if n else 0.0,
        "completion_tokens_per_item": sum(u.get("completion_tokens", 0) for u in usage) / n if n else 0.0,
        "latency_seconds_per_item": sum(r.get("seconds", 0.0) for r in records) / n if n else 0.0,
    }
    return summary


def _headline_without_merged(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Where several original labels map to one of ours (CLIMATE-FEVER: REFUTES and DISPUTED both to
    disputed), the headline figures recomputed without each of them, so each is also seen on its own."""
    originals: dict[str, set[str]] = defaultdict(set)
    for r in records:
        originals[r["gold"]].add(r["original_label"])
    out: dict[str, Any] = {}
    for merged in (sorted(v) for v in originals.values() if len(v) > 1):
        for left_out in merged:
            rest = [r for r in records if r["original_label"] != left_out]
            out[left_out] = {
                "items": len(rest),
                **_headline([Label(r["gold"]) for r in rest], _labels(rest, "prediction")),
            }
    return out


def _share(rows: list[Any], hit: Callable[[Any], bool]) -> float | None:
    return sum(1 for row in rows if hit(row)) / len(rows) if rows else None


def extraction_metrics(records: list[dict[str, Any]]) -> dict[str, float | None]:
    """Extraction figures pooled over the claims of the given article records (None: no claim to count)."""
    gold_rows = [row for r in records for row in r["gold"]]
    extracted = [e for r in records for e in r["extracted"]]
    matched = [row for row in gold_rows if "claim_id" in row]
    facts = [row for row in gold_rows if row["gold_kind"] == "fact"]
    fact_recalls = [
        _share([row for row in r["gold"] if row["gold_kind"] == "fact"], lambda row: "claim_id" in row) for r in records
    ]
    return {
        "precision": _share(extracted, lambda e: e["matched"]),
        "recall": _share(gold_rows, lambda row: "claim_id" in row),
        "fact_recall": _share(facts, lambda row: "claim_id" in row),
        "fact_recall_worst_article": min((f for f in fact_recalls if f is not None), default=None),
        "span_accuracy": _share(matched, lambda row: row["span_ok"]),
        "kind_accuracy": _share(matched, lambda row: row["kind"] == row["gold_kind"]),
        # of the matched gold opinions, predictions and "other": the share the extractor set aside
        "non_facts_set_aside": _share(
            [row for row in matched if row["gold_kind"] != "fact"], lambda row: row["kind"] != "fact"
        ),
        # of the matched gold facts: the share wrongly set aside as not checkable
        "facts_set_aside": _share(
            [row for row in matched if row["gold_kind"] == "fact"], lambda row: row["kind"] != "fact"
        ),
    }


def _labelled_facts(
    records: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[Label], list[Label | None]]:
    """The gold fact claims with a gold label, their labels, and the pipeline's final labels (None:
    not extracted, not judged as fact, or errored)."""
    labelled = [row for r in records for row in r["gold"] if row["gold_kind"] == "fact" and row.get("gold_label")]
    gold = [Label(row["gold_label"]) for row in labelled]
    pred = [Label(row["prediction"]) if row.get("prediction") else None for row in labelled]
    return labelled, gold, pred


def end_to_end_metrics(records: list[dict[str, Any]]) -> dict[str, float | None]:
    """Pipeline figures pooled over the gold fact claims of the given article records: a claim not
    extracted, not judged as fact, or errored counts as wrong (None: no labelled fact claim)."""
    labelled, gold, pred = _labelled_facts(records)
    if not labelled:
        return {"e2e_accuracy": None, "e2e_macro_f1": None, "e2e_false_support": None}
    return {
        "e2e_accuracy": m.accuracy(gold, pred),
        "e2e_macro_f1": m.macro_f1(gold, pred),
        "e2e_false_support": m.false_support_rate(gold, pred),
    }


def summarize_articles(records: list[dict[str, Any]]) -> dict[str, Any]:
    gold_rows = [row for r in records for row in r["gold"]]
    extracted = [e for r in records for e in r["extracted"]]
    matched = [row for row in gold_rows if "claim_id" in row]
    summary: dict[str, Any] = {
        "articles": len(records),
        "gold_claims": len(gold_rows),
        "extracted_claims": len(extracted),
        "matched_non_facts": sum(1 for row in matched if row["gold_kind"] != "fact"),
        "extraction": {k: (0.0 if v is None else v) for k, v in extraction_metrics(records).items()},
        "per_article": {r["id"]: extraction_metrics([r]) for r in records},
        "window_failures": sum(len(r.get("failures") or []) for r in records),
    }
    labelled, gold, pred = _labelled_facts(records)
    if any("prediction" in row for row in labelled):
        summary["end_to_end"] = {
            "note": "gold fact claims; a claim not extracted, not judged as fact, or errored counts as wrong",
            "claims": len(labelled),
            "headline": _headline(gold, pred),
            "per_label": m.per_label(gold, pred),
            "confusion": m.confusion(gold, pred),
        }
        judged = [row for row in labelled if row.get("prediction")]
        if judged:
            summary["end_to_end"]["judged_only"] = {
                "note": "the same claims, only those extracted as facts and judged: the judge on retrieved evidence",
                "claims": len(judged),
                "headline": _headline(
                    [Label(row["gold_label"]) for row in judged], [Label(row["prediction"]) for row in judged]
                ),
            }
        with_docs = [row for row in labelled if "gold_doc_retrieved" in row]
        if with_docs:
            summary["end_to_end"]["gold_doc_retrieved_rate"] = sum(
                1 for row in with_docs if row["gold_doc_retrieved"]
            ) / len(with_docs)
    usage: dict[str, float] = defaultdict(float)
    for r in records:
        for stage in (r.get("usage") or {}).values():
            for k in ("calls", "prompt_tokens", "completion_tokens"):
                usage[k] += stage.get(k, 0)
    n = len(records) or 1
    summary["cost"] = {
        **{f"{k}_per_article": v / n for k, v in usage.items()},
        "seconds_per_article": sum(r["seconds"] for r in records) / n,
    }
    return summary


def _fmt_ci(entry: dict[str, Any]) -> str:
    lo, hi = entry["ci95"]
    return f"{entry['value']:.3f} [{lo:.3f}, {hi:.3f}]"


CONFIDENCE_BINS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0))


def reliability_by_label(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """For each final label, how often it was right at each confidence level (the reliability
    diagram as a table an editor can read: "disputed at 0.5-0.7 was right 6 times in 10")."""
    out: dict[str, list[dict[str, Any]]] = {}
    for label in LABELS:
        rows = []
        for lo, hi in CONFIDENCE_BINS:
            hits = [
                r["prediction"] == r["gold"]
                for r in records
                if r["prediction"] == label.value and lo <= float(r["confidence"]) < hi + (1e-9 if hi == 1.0 else 0.0)
            ]
            rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": len(hits), "right": sum(hits)})
        out[label.value] = rows
    return out


def render_markdown(summary: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [f"# Eval run: {meta['mode']} on {meta['dataset']}", ""]
    lines += [
        f"- model: `{meta['model']}` ({meta['backend']})",
        f"- prompts: `{meta['prompt_hashes']}`",
        f"- calibration: `{meta.get('calibration')}`",
        f"- command: `{meta['command']}`",
        "",
    ]
    if "partial" in summary:
        done, planned = summary["partial"]["done"], summary["partial"]["planned"]
        lines += [
            f"**Partial run: {done} of {planned} finished.** The figures cover the finished ones only; "
            "`--resume` continues the run.",
            "",
        ]
    if "headline" in summary:
        lines += ["| metric | final verdict (95% CI) | model's own label (95% CI) |", "|---|---|---|"]
        for name in summary["headline"]:
            lines.append(
                f"| {name} | {_fmt_ci(summary['headline'][name])} | {_fmt_ci(summary['model_label_headline'][name])} |"
            )
        lines += [
            "",
            f"Items: {summary['items']}, errors: {summary['errors']} "
            f"({summary['error_rate']:.1%}), abstention (unverifiable): {summary['abstention_rate']:.1%}, "
            f"downgraded by the code checks (citations, figures): {summary['downgrade_rate']:.1%}, "
            f"citations verified: {summary['citations_verified_rate']:.1%}",
        ]
        if "ece" in summary:
            lines.append(f"Expected calibration error: {summary['ece']:.3f}")
        if "reliability_by_label" in summary:
            bins = [row["bin"] for row in next(iter(summary["reliability_by_label"].values()))]
            lines += ["", "How often each final label was right, by its confidence (right / n):", ""]
            lines += ["| label | " + " | ".join(bins) + " |", "|---" * (1 + len(bins)) + "|"]
            for label, rows in summary["reliability_by_label"].items():
                cells = [f"{row['right']}/{row['n']}" if row["n"] else "-" for row in rows]
                lines.append(f"| {label} | " + " | ".join(cells) + " |")
            lines.append("")
        if "retrieval_recall_at_k" in summary:
            lines.append(f"Retrieval recall@k (gold passage among retrieved): {summary['retrieval_recall_at_k']:.3f}")
        lines += ["", "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for label, s in summary["per_label"].items():
            lines.append(f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |")
        lines += [
            "",
            "Confusion (rows gold, columns predicted):",
            "",
            "| gold \\ pred | " + " | ".join(next(iter(summary["confusion"].values()))) + " |",
            "|---" * (1 + len(next(iter(summary["confusion"].values())))) + "|",
        ]
        for g, row in summary["confusion"].items():
            lines.append(f"| {g} | " + " | ".join(str(v) for v in row.values()) + " |")
        if not set(summary["by_original_label"]) <= set(summary["gold_counts"]):  # else the confusion says it all
            lines += ["", "Predictions by the dataset's original label:", ""]
            for orig, counts in summary["by_original_label"].items():
                acc = summary["accuracy_by_original_label"][orig]
                lines.append(
                    f"- {orig} (accuracy {acc:.2f}): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                )
        for left_out, h in summary["headline_without_original"].items():
            lines.append(
                f"- without the {left_out} items ({h['items']} left): "
                + ", ".join(f"{k} {_fmt_ci(v)}" for k, v in h.items() if k != "items")
            )
        if summary["accuracy_by_tag"]:
            lines += ["", "Accuracy by tag:", ""]
            for tag, s in summary["accuracy_by_tag"].items():
                lines.append(f"- {tag}: {s['accuracy']:.2f} (n={s['n']}; called supported {s['called_supported']:.2f})")
    if "extraction" in summary:
        e = summary["extraction"]
        lines += ["| extraction | value |", "|---|---|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in e.items()]
        lines += [
            "",
            f"Gold claims {summary['gold_claims']}, extracted {summary['extracted_claims']}, "
            f"matched gold non-facts {summary.get('matched_non_facts', '-')}, "
            f"failed windows {summary['window_failures']}",
        ]
        if summary.get("per_article"):
            lines += ["", "| article | precision | recall | fact recall | non-facts set aside | facts set aside |"]
            lines += ["|---|---|---|---|---|---|"]
            for name, a in summary["per_article"].items():
                cells = [a[k] for k in ("precision", "recall", "fact_recall", "non_facts_set_aside", "facts_set_aside")]
                lines.append(f"| {name} | " + " | ".join("-" if c is None else f"{c:.2f}" for c in cells) + " |")
        if "end_to_end" in summary:
            ee = summary["end_to_end"]
            lines += ["", f"End to end on {ee['claims']} gold fact claims ({ee['note']}):", ""]
            lines += [f"- {k}: {_fmt_ci(v)}" for k, v in ee["headline"].items()]
            if "judged_only" in ee:
                jo = ee["judged_only"]
                lines.append(
                    f"- judged claims only ({jo['claims']}): "
                    + ", ".join(f"{k} {_fmt_ci(v)}" for k, v in jo["headline"].items())
                )
            if "gold_doc_retrieved_rate" in ee:
                lines.append(f"- gold document retrieved: {ee['gold_doc_retrieved_rate']:.3f}")
    cost = summary["cost"]
    lines += ["", "Cost: " + ", ".join(f"{k} {v:.1f}" for k, v in cost.items())]
    return "\n".join(lines) + "\n"


def write_plots(summary: dict[str, Any], run_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    confusion = summary.get("confusion") or summary.get("end_to_end", {}).get("confusion")
    if confusion:
        rows = list(confusion)
        cols = list(next(iter(confusion.values())))
        data = [[confusion[r][c] for c in cols] for r in rows]
        fig, ax = plt.subplots(figsize=(5.5, 4))
        ax.imshow(data, cmap="Blues")
        ax.set_xticks(range(len(cols)), cols, rotation=30)
        ax.set_yticks(range(len(rows)), rows)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        for i, row in enumerate(data):
            for j, v in enumerate(row):
                ax.text(j, i, str(v), ha="center", va="center")
        fig.tight_layout()
        path = run_dir / "confusion.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    if summary.get("reliability"):
        fig, ax = plt.subplots(figsize=(4.5, 4))
        rel = summary["reliability"]
        ax.plot([0, 1], [0, 1], "--", color="grey")
        ax.bar([(b["low"] + b["high"]) / 2 for b in rel], [b["accuracy"] for b in rel], width=0.09, alpha=0.7)
        ax.plot([b["confidence"] for b in rel], [b["accuracy"] for b in rel], "o-")
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy")
        ax.set_title(f"Reliability (ECE {summary.get('ece', 0):.3f})")
        fig.tight_layout()
        path = run_dir / "reliability.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a run's append-only JSON-lines file (none if it does not exist). A line cut by a
    crash is skipped."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def read_items(run_dir: Path) -> list[dict[str, Any]]:
    """The item records of a run's ``items.jsonl``; a line cut by a crash is skipped, and a resumed run
    redoes that item."""
    return read_jsonl(run_dir / "items.jsonl")


def wall_time(run_dir: Path) -> dict[str, float]:
    """Wall-clock seconds per item over the sessions that judged items (``wall.jsonl``; runs written
    before it existed have none)."""
    sessions = [s for s in read_jsonl(run_dir / "wall.jsonl") if s.get("items")]
    items = sum(s["items"] for s in sessions)
    if not items:
        return {}
    seconds = sum(s["seconds"] for s in sessions)
    return {"wall_seconds": seconds, "wall_seconds_per_item": seconds / items}


def finish_run(run_dir: Path, records: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    if meta["mode"] == "kinds":
        from .kind_items import render_kind_markdown, summarize_kind_items

        threshold = meta.get("kind_threshold") or meta["config"]["checkable_threshold"]
        summary, render = summarize_kind_items(records, threshold), render_kind_markdown
    elif meta["mode"] in ("extraction", "pipeline"):
        summary, render = summarize_articles(records), render_markdown
    else:
        summary, render = summarize_items(records), render_markdown
    summary["mode"] = meta["mode"]
    planned = len(meta.get("ids") or [])
    if len(records) < planned:
        summary["partial"] = {"done": len(records), "planned": planned}
    summary["cost"].update(wall_time(run_dir))
    if meta.get("cache_stats"):
        summary["response_cache"] = meta["cache_stats"]
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (run_dir / "report.md").write_text(render(summary, meta), encoding="utf-8")
    if meta["mode"] != "kinds":
        write_plots(summary, run_dir)
    return summary
