"""The figure check, done in code: a claim's figures (years, dates, counts, amounts, ordinals) must
appear in the evidence the verdict rests on (the judge applies it to the cited sentences). A small
model calls a claim "supported" when a passage is on topic even if it states another date or number;
when a figure of the claim is in no cited sentence, that evidence cannot support the claim, whatever
the model says."""

from __future__ import annotations

import re

_UNITS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
_UNITS += "seventeen eighteen nineteen"
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8}
_ORDINALS |= {"ninth": 9, "tenth": 10, "twelfth": 12, "twentieth": 20, "thirtieth": 30}
_WORD_VALUE = {w: i for i, w in enumerate(_UNITS.split(), 1)} | _ORDINALS | {"hundred": 100}
_WORD_VALUE |= {w: 10 * i for i, w in enumerate(_TENS.split(), 2)}
# "thirty-one", "thirty first", "seven"
_NUMBER_WORD = re.compile(
    rf"\b(?:({'|'.join(_TENS.split())})[- ]({'|'.join(_UNITS.split()[:9])}|{'|'.join(list(_ORDINALS)[:9])})"
    rf"|({'|'.join(_WORD_VALUE)}))\b"
)
# 5,759 / 5 759 / 1.5 / 32 (also inside "32nd", "15-year", "$40bn"); not the digits of a name such as
# CO2, F-16, Su-35 or COVID-19 (a letter, or a letter and a hyphen, just before the digits)
_FIGURE = re.compile(r"(?<![\w.,])(?<![A-Za-z]-)(?:\d{1,3}(?:[, \u00a0\u202f]\d{3})+(?!\d)|\d+(?:\.\d+)?)")
# 1938-43 -> 1938 and 1943
_YEAR_RANGE = re.compile(r"\b(1[89]|20)(\d\d)[-\u2013](\d\d)\b")


def _normalise(raw: str) -> str:
    whole, _, fraction = re.sub(r"[, \u00a0\u202f]", "", raw).partition(".")
    whole, fraction = whole.lstrip("0") or "0", fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def figures(text: str, *, words: bool = False) -> set[str]:
    """The figures written in digits in ``text``, normalised (``5,759`` -> ``5759``); with ``words``
    also the small numbers written as words ("fifteen", "third")."""
    text = _YEAR_RANGE.sub(lambda m: f"{m[1]}{m[2]} {m[1]}{m[3]}", text)
    found = {_normalise(m.group()) for m in _FIGURE.finditer(text)}
    if words:
        for tens, unit, single in _NUMBER_WORD.findall(text.lower()):
            found.add(str(_WORD_VALUE[tens] + _WORD_VALUE[unit]) if tens else str(_WORD_VALUE[single]))
    return found


def missing_figures(claim: str, evidence: list[str]) -> list[str]:
    """Figures of the claim (in digits) that no evidence text (a cited sentence) states, in digits or
    as a word."""
    stated: set[str] = set()
    for text in evidence:
        stated |= figures(text, words=True)
    return sorted(figures(claim) - stated, key=lambda f: (len(f), f))
