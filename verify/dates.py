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
        return f"{_day(self.value)} ({self.value.strftime('%A')})"


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


# "MOSCOW, 24 January 2024", "Moscow, November 15 (Vostok-Inform)": a place, a comma, a figure
_PLACE_AND_DATE = re.compile(r"^[A-Z][A-Za-z.' -]{1,30},\s*\S.*\d")


def dateline_prefix(sentence: str) -> str | None:
    """The dateline at the head of an article's first sentence ("MOSCOW, 24 January 2024 — "), with
    its dash and the space after it, or None. Place, comma and a figure, then a dash: the place and
    day a piece was filed from, not something the article claims."""
    head = _DATELINE.match(sentence[:_DATELINE_CHARS])
    if head is None or not _PLACE_AND_DATE.match(head.group(1)):
        return None
    return head.group(0)


def is_date_header(sentence: str) -> bool:
    """A short header line that only gives the date ("Published: 2024-02-02", "3 January 2024")."""
    line = sentence.strip()
    return len(line) <= _HEADER_CHARS and not line.endswith((".", "?", "!")) and parse_date(line) is not None


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


def _day(d: date) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def _month(d: date, shift: int) -> str:
    index = d.year * 12 + d.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1).strftime("%B %Y")


def _week(d: date, shift: int) -> str:
    monday = date.fromordinal(d.toordinal() - d.weekday() + 7 * shift)
    return f"the week of {_day(monday)}"


_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_NUMBERS = {word: n for n, word in enumerate(_NUMBER_WORDS, start=1)}
_DAY_OFFSET = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}
_SHIFT = {"last": -1, "this": 0, "next": 1}
# a relative time, not as a possessive ("today's Ukrainians" speaks of the present, not a date)
_RELATIVE = re.compile(
    rf"\b(?:(?P<day>{'|'.join(_DAY_OFFSET)})"
    rf"|(?P<shift>{'|'.join(_SHIFT)})\s+(?P<unit>year|month|week)"
    rf"|(?P<count>\d{{1,2}}|{'|'.join(_NUMBERS)})\s+years?\s+ago)\b(?!['\u2019]s)(?!\s*\()",
    re.IGNORECASE,
)


def resolve_relative(text: str, on: date) -> str:
    """``text`` with each unambiguous relative time followed by the date it means on ``on`` (the
    article's date): "Yesterday (23 January 2024) the assembly approved ...", "last year (2023)".
    The article's wording stays; the claim then states the date, which the judge and the name check
    can hold against the evidence. Forms that need the tense or more context ("on Monday", "next
    July", "six months later") are left as written."""

    def resolved(match: re.Match[str]) -> str:
        word = match.group(0)
        if match.group("day"):
            when = _day(date.fromordinal(on.toordinal() + _DAY_OFFSET[match.group("day").lower()]))
        elif match.group("unit"):
            shift, unit = _SHIFT[match.group("shift").lower()], match.group("unit").lower()
            when = (
                str(on.year + shift) if unit == "year" else _month(on, shift) if unit == "month" else _week(on, shift)
            )
        else:
            count = match.group("count").lower()
            when = str(on.year - (int(count) if count.isdigit() else _NUMBERS[count]))
        return f"{word} ({when})"

    return _RELATIVE.sub(resolved, text)
