"""The kind classifier's threshold on an extraction run: re-derive every matched claim's kind from
its stored P(checkable) at each threshold, and report the two shares the threshold trades (gold
non-facts set aside, gold facts set aside). Fit on the development articles, report on the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..kinds import kind_for
from ..models import ClaimKind
from .summary import read_items

GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))


def shares_at(rows: list[dict[str, Any]], threshold: float) -> tuple[float | None, float | None]:
    """(share of gold non-facts set aside, share of gold facts set aside) among matched gold rows."""
    facts = non_facts = facts_aside = non_facts_aside = 0
    for row in rows:
        if "claim_id" not in row:
            continue
        # the sentences extractor writes no kind: the kind step alone decides, as for a claim written "fact"
        model_kind = ClaimKind(row["model_kind"]) if row.get("model_kind") else ClaimKind.FACT
        prob = row.get("checkable_prob")
        if prob is None or row.get("kind_reason") == "question":  # a question is set aside at any threshold
            kind = ClaimKind(row["kind"])
        else:
            kind = kind_for(model_kind, prob, threshold, row["text"])
        aside = kind != ClaimKind.FACT
        if row["gold_kind"] == "fact":
            facts += 1
            facts_aside += aside
        else:
            non_facts += 1
            non_facts_aside += aside
    return (non_facts_aside / non_facts if non_facts else None, facts_aside / facts if facts else None)


def sweep(run_dir: Path, max_facts_aside: float = 0.08) -> str:
    rows = [row for rec in read_items(run_dir) for row in rec["gold"]]
    lines = [
        f"threshold sweep on {run_dir} (matched gold claims)",
        "",
        "| threshold | non-facts set aside | facts set aside |",
    ]
    lines.append("|---|---|---|")
    best: tuple[float, float] | None = None
    for t in GRID:
        non, fac = shares_at(rows, t)
        lines.append(f"| {t:.2f} | {_f(non)} | {_f(fac)} |")
        if non is not None and fac is not None and fac <= max_facts_aside and (best is None or non > best[1]):
            best = (t, non)
    lines.append("")
    lines.append(
        f"highest share of non-facts set aside with facts set aside <= {max_facts_aside:.2f}: "
        + (f"threshold {best[0]:.2f} ({best[1]:.3f})" if best else "none")
    )
    return "\n".join(lines)


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"
