"""A Markdown summary of a report, for pasting into an editorial system.

Text from the article, the sources and the model is escaped for Markdown (and for the HTML a
Markdown renderer lets through): it shows as written and never becomes a link, an image or markup.
"""

from __future__ import annotations

import re
from typing import Any

from ..models import Report
from .view import STATUS_TEXT, STATUSES, ClaimView, build_view

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")


def md_escape(text: str) -> str:
    """Backslash-escape every Markdown and HTML special character; white space folded to one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def render_markdown(report: Report, meta: dict[str, Any] | None = None, *, run_date: bool = True) -> str:
    v = build_view(report, meta, run_date=run_date)
    lines = [f"## Fact-check draft: {md_escape(v.title)}", ""]
    about = [md_escape(x) for x in (v.outlet, v.article_date) if x]
    if v.article_url:
        about.append(f"<{v.article_url}>")
    if about:
        lines += [" · ".join(about), ""]
    lines += [
        "**" + " · ".join(f"{v.counts[s]} {STATUS_TEXT[s].lower()}" for s in STATUSES) + "**",
        "",
        f"Checked by verify {md_escape(v.verify_version)} with {md_escape(v.model)}, evidence collection "
        f"{md_escape(v.collection)}" + (f", {md_escape(v.run_date)}" if v.run_date else "") + ". "
        "Automated triage for a human fact-checker: a draft, not a finding.",
        "",
    ]
    if not v.complete:
        lines += ["**Incomplete:** some claims or sentences could not be checked (see Errors).", ""]
    judged = [c for c in v.claims if c.status in ("supported", "disputed", "unverifiable")]
    if judged:
        lines += ["### Claims", ""]
        for c in judged:
            lines += _claim_lines(c)
    if v.set_aside:
        lines += ["### Set aside (not checkable)", ""]
        lines += [f"- {md_escape(c.text)} ({md_escape(c.kind)})" for c in v.set_aside]
        lines.append("")
    errors = [f"{md_escape(c.text)}: {md_escape(c.failure or '')}" for c in v.errors]
    errors += [md_escape(w) for w in (*v.window_failures, *v.article_failures)]
    if errors:
        lines += ["### Errors", ""]
        lines += [f"- {e}" for e in errors]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _claim_lines(c: ClaimView) -> list[str]:
    conf = f", confidence {c.confidence:.2f} ({c.confidence_words})" if c.confidence is not None else ""
    lines = [f"{c.number}\\. **{STATUS_TEXT[c.status].upper()}**{conf}: {md_escape(c.text)}"]
    if c.rationale:
        lines.append(f"   - Rationale: {md_escape(c.rationale)}")
    for cite in c.citations:
        source = ", ".join(md_escape(x) for x in (cite.publisher, cite.title, cite.date) if x) or md_escape(
            cite.doc_id or cite.passage_id
        )
        link = f" <{cite.url}>" if cite.url else ""
        lines.append(f"   - \u201c{md_escape(cite.quote)}\u201d — {source}{link}")
    lines.append("")
    return lines
