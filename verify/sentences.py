"""Sentence segmentation with character spans into the original text."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "adm",
        "gov",
        "sen",
        "rep",
        "st",
        "jr",
        "sr",
        "vs",
        "etc",
        "no",
        "nos",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "u.n",
        "e.g",
        "i.e",
        "approx",
        "est",
        "fig",
        "vol",
        "pp",
    ]
)
_BOUNDARY = re.compile(r"""[.!?]+["'\u201d\u2019)\]]*(?=\s+["'\u201c\u2018(\[]?[A-Z0-9\u0400-\u04ff])""")


@dataclass(frozen=True)
class Sentence:
    index: int
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    """Split on paragraph breaks, then on sentence-final punctuation not ending an abbreviation."""
    sentences: list[Sentence] = []
    for para in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", text):
        start = para.start()
        block = para.group(0)
        cut = 0
        for match in _BOUNDARY.finditer(block):
            word = re.search(r"([A-Za-z0-9.]+)[.!?]*[\"'\u201d\u2019)\]]*$", block[cut : match.end()])
            if word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS and block[match.start()] == ".":
                continue
            if word and re.fullmatch(r"[A-Z]", word.group(1).rstrip(".")):  # initials: "J. Smith"
                continue
            _append(sentences, text, start + cut, start + match.end())
            cut = match.end()
        _append(sentences, text, start + cut, start + len(block))
    return sentences


def _append(out: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(len(out), start, end, text[start:end]))
