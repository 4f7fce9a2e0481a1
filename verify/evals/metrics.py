"""Metric functions for label predictions, calibration and bootstrap confidence intervals.

A prediction of ``None`` means the item could not be judged (an error): it counts as wrong in every
label metric (the failure score) and is also reported as the error rate.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from ..models import LABELS, Label

Pred = Label | None


def confusion(gold: Sequence[Label], pred: Sequence[Pred]) -> dict[str, dict[str, int]]:
    cols = [label.value for label in LABELS] + ["error"]
    table = {g.value: dict.fromkeys(cols, 0) for g in LABELS}
    for g, p in zip(gold, pred, strict=True):
        table[g.value][p.value if p is not None else "error"] += 1
    return table


def per_label(gold: Sequence[Label], pred: Sequence[Pred]) -> dict[str, dict[str, float]]:
    out = {}
    for label in LABELS:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label.value] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    return out


def accuracy(gold: Sequence[Label], pred: Sequence[Pred]) -> float:
    return sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold) if gold else 0.0


def macro_f1(gold: Sequence[Label], pred: Sequence[Pred]) -> float:
    stats = per_label(gold, pred)
    present = [s["f1"] for s in stats.values() if s["support"]]
    return sum(present) / len(present) if present else 0.0


def balanced_accuracy(gold: Sequence[Label], pred: Sequence[Pred]) -> float:
    stats = per_label(gold, pred)
    present = [s["recall"] for s in stats.values() if s["support"]]
    return sum(present) / len(present) if present else 0.0


def false_support_rate(gold: Sequence[Label], pred: Sequence[Pred]) -> float:
    """Of the claims whose gold label is not "supported", the share called supported: support the
    evidence does not give, the error an editor can least afford (lower is better)."""
    pairs = [(g, p) for g, p in zip(gold, pred, strict=True) if g != Label.SUPPORTED]
    return sum(1 for _, p in pairs if p == Label.SUPPORTED) / len(pairs) if pairs else 0.0


HEADLINE: dict[str, Callable[[Sequence[Label], Sequence[Pred]], float]] = {
    "accuracy": accuracy,
    "balanced_accuracy": balanced_accuracy,
    "macro_f1": macro_f1,
    "false_support_rate": false_support_rate,
}


def bootstrap_ci(
    gold: Sequence[Label],
    pred: Sequence[Pred],
    metric: Callable[[Sequence[Label], Sequence[Pred]], float],
    *,
    resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    n = len(gold)
    if n == 0:
        return (0.0, 0.0)
    rng = random.Random(seed)
    values = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        values.append(metric([gold[i] for i in idx], [pred[i] for i in idx]))
    values.sort()
    lo = values[int(alpha / 2 * resamples)]
    hi = values[min(resamples - 1, int((1 - alpha / 2) * resamples))]
    return lo, hi


def paired_bootstrap_diff(
    gold: Sequence[Label],
    pred_a: Sequence[Pred],
    pred_b: Sequence[Pred],
    metric: Callable[[Sequence[Label], Sequence[Pred]], float],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Difference metric(b) - metric(a) on the same items, with a 95% bootstrap interval."""
    n = len(gold)
    rng = random.Random(seed)
    diffs = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        g = [gold[i] for i in idx]
        diffs.append(metric(g, [pred_b[i] for i in idx]) - metric(g, [pred_a[i] for i in idx]))
    diffs.sort()
    point = metric(gold, pred_b) - metric(gold, pred_a)
    return point, diffs[int(0.025 * resamples)], diffs[min(resamples - 1, int(0.975 * resamples))]


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> list[dict[str, float]]:
    table = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [
            (c, ok) for c, ok in zip(confidences, correct, strict=True) if lo <= c < hi or (b == bins - 1 and c == 1.0)
        ]
        if members:
            table.append(
                {
                    "low": lo,
                    "high": hi,
                    "count": len(members),
                    "confidence": sum(c for c, _ in members) / len(members),
                    "accuracy": sum(1 for _, ok in members if ok) / len(members),
                }
            )
    return table


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    n = len(confidences)
    if n == 0:
        return 0.0
    return sum(
        row["count"] / n * abs(row["accuracy"] - row["confidence"]) for row in reliability(confidences, correct, bins)
    )
