"""Human-readable terminal summary of a report, and atomic JSON writing."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

from .models import Label, Report, WindowFailure

_MARK = {Label.SUPPORTED: "SUPPORTED", Label.DISPUTED: "DISPUTED", Label.UNVERIFIABLE: "UNVERIFIABLE"}


def summary_line(report: Report) -> str:
    counts = Counter(v.label for v in report.verdicts)
    checkable = sum(1 for c in report.claims if c.checkable)
    parts = ", ".join(f"{counts.get(label, 0)} {label.value}" for label in _MARK)
    status = "" if report.complete else f"; {len(report.failures)} ERROR(S): report incomplete"
    return f"{len(report.claims)} claims, {checkable} checkable: {parts}{status}"


def render_report(report: Report, *, width: int = 100) -> str:
    name = report.article.source or f"article {report.article.id}"
    lines = [f"== {name}", summary_line(report), ""]
    failures = {f.claim_id: f for f in report.failures}
    for claim in report.claims:
        verdict = report.verdict_for(claim.id)
        if not claim.checkable:
            why = f"{claim.kind.value}: {claim.kind_reason}" if claim.kind_reason else claim.kind.value
            lines.append(f"{claim.id}  ({why}, not judged)  {claim.text}")
            continue
        if verdict is None:
            failure = failures.get(claim.id)
            reason = f"{failure.error_type}: {failure.message}" if failure else "no verdict"
            lines.append(f"{claim.id}  ERROR  {claim.text}\n       {reason}")
            continue
        conf = f" {verdict.confidence:.2f}" if verdict.confidence is not None else ""
        lines.append(f"{claim.id}  {_MARK[verdict.label]}{conf}  {claim.text}")
        if verdict.downgraded_from:
            lines.append(f"       (was {verdict.downgraded_from.value}: {verdict.downgrade_reason})")
        for cite in verdict.citations:
            passage = report.passages.get(cite.passage_id)
            source = ""
            if passage is not None:
                bits = [b for b in (passage.publisher, passage.title, passage.date) if b]
                source = " — " + ", ".join(bits) if bits else f" — {passage.doc_id}"
                if passage.flags:
                    source += f" [flagged: {', '.join(passage.flags)}]"
            lines.append(f'       "{_clip(cite.quote, width)}"{source}')
    for failure in report.failures:
        if isinstance(failure, WindowFailure):
            lines.append(
                f"ERROR extracting sentences {failure.first_sentence}-{failure.last_sentence}: "
                f"{failure.error_type}: {failure.message}"
            )
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def write_json_atomic(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a report is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
