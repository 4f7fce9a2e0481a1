"""Citation checks, done in code: the cited passage was retrieved for this claim and the quote is a
verbatim substring of it. Whitespace differences are forgiven, but the stored quote is always the
exact text of the passage."""

from __future__ import annotations

import re

from .models import Citation, DroppedCitation, EvidencePassage


def locate_quote(quote: str, passage_text: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in ``passage_text``, matching runs of whitespace loosely."""
    quote = quote.strip()
    if not quote:
        return None
    start = passage_text.find(quote)
    if start >= 0:
        return start, start + len(quote)
    pattern = r"\s+".join(re.escape(part) for part in quote.split())
    match = re.search(pattern, passage_text)
    return (match.start(), match.end()) if match else None


def check_citations(
    cited: list[tuple[int, str]], retrieved: list[EvidencePassage]
) -> tuple[list[Citation], list[DroppedCitation]]:
    """``cited`` holds (1-based passage number, quote) pairs as the model wrote them."""
    valid: list[Citation] = []
    dropped: list[DroppedCitation] = []
    seen: set[tuple[str, int]] = set()
    for number, quote in cited:
        if not 1 <= number <= len(retrieved):
            dropped.append(DroppedCitation(passage_id=None, quote=quote, reason=f"no passage [{number}]"))
            continue
        passage = retrieved[number - 1]
        where = locate_quote(quote, passage.text)
        if where is None:
            dropped.append(
                DroppedCitation(passage_id=passage.id, quote=quote, reason="quote is not in the cited passage")
            )
            continue
        start, end = where
        if (passage.id, start) in seen:
            continue
        seen.add((passage.id, start))
        valid.append(Citation(passage_id=passage.id, quote=passage.text[start:end], start=start))
    return valid, dropped
