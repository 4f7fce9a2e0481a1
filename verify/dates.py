"""The article's own date: given by the caller, or read from a dateline or header at the top of the
article. Extraction resolves relative times ("today", "last week", "next July") against it; without
one, claims keep their relative wording and the report says that no date was known."""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"

# Forms seen in datelines and headers, tried in this order at the top of the article.
_PATTERNS = [
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>[01]\d)-(?P<day>[0-3]\d)\b"),  # 2024-02-02
    re.compile(rf"\b{_DAY}\s+{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),  # 24 January 2024
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE),  # January 24, 2024
    re.compile(r"\b(?P<day>[0-3]?\d)\.(?P<month>[01]?\d)\.(?P<year>(?:19|20)\d\d)\b"),  # 24.01.2024
]
_HEADER_CHARS = 80  # a header line of its own ("Published: 2024-02-02")
_DATELINE_CHARS = 60  # the dateline at the head of the first paragraph: place and date, then a dash
_DATELINE = re.compile(r"(.{4,50}?)\s+[\u2014\u2013-]{1,2}\s")


class ArticleDate(BaseModel):
    value: date
    source: str  # "given" or "dateline: <the text it was read from>"

    def describe(self) -> str:
        return f"{self.value.day} {self.value.strftime('%B %Y')} ({self.value.strftime('%A')})"


def parse_date(text: str) -> date | None:
    """The first full date (day, month, year) in ``text``, or None."""
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            month = match.group("month")
            month_no = int(month) if month.isdigit() else _MONTHS[month.lower().rstrip(".")]
            try:
                return date(int(match.group("year")), month_no, int(match.group("day")))
            except ValueError:
                continue
    return None


def header_lines(text: str, headline: bool) -> list[str]:
    """Where a dateline can stand: the start of the body's first line ("MOSCOW, 6 December 2023 --"),
    and short header lines above the body ("Published: 2023-12-06"). Dates later in the text are
    events, not the article's date."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if headline and lines:
        lines = lines[1:]
    lines = [line for line in lines if line][:3]
    out: list[str] = []
    for line in lines:
        if len(line) <= _HEADER_CHARS and not line.endswith((".", "?", "!")):
            out.append(line)  # a header line of its own
            continue
        head = _DATELINE.match(line[:_DATELINE_CHARS])  # "MOSCOW, 6 December 2023 — The ..."
        if head:
            out.append(head.group(1))
        break
    return out


def find_article_date(text: str, given: date | str | None = None, *, headline: bool = True) -> ArticleDate | None:
    """The caller's date if given, else the first full date in the article's dateline or header."""
    if given is not None:
        value = given if isinstance(given, date) else date.fromisoformat(str(given))
        return ArticleDate(value=value, source="given")
    for line in header_lines(text, headline):
        found = parse_date(line)
        if found is not None:
            return ArticleDate(value=found, source=f"dateline: {line[:80]}")
    return None
