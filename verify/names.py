"""The name check, done in code: for a "supported" verdict, the people, organisations, places and
months the claim names must appear in the sentences the judge cited (or in their passage's title).
A small model calls a claim "supported" when the cited sentence is about the same event with another
actor ("Turkey ratified ..." cited for "Hungary ratified ..."); the name that is in no cited sentence
is what gives that away.

Names are the capitalised words of the claim that are not ordinary sentence words. A name matches an
evidence word with the same first five letters, or through a short table of demonyms and variants
("Finnish" / "Finland", "US" / "United States"), so "Russian forces" is not failed by "Russia's".
The first name of a two-word name may be absent when the surname is there ("Stoltenberg").
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z\u00c0-\u024f][\w\u00c0-\u024f'\u2019-]*")
_NOT_NAMES = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "in",
        "on",
        "at",
        "by",
        "to",
        "for",
        "from",
        "with",
        "as",
        "into",
        "over",
        "after",
        "before",
        "during",
        "since",
        "until",
        "while",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "which",
        "what",
        "why",
        "how",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "he",
        "she",
        "it",
        "they",
        "we",
        "you",
        "i",
        "his",
        "her",
        "its",
        "their",
        "our",
        "my",
        "your",
        "some",
        "any",
        "all",
        "both",
        "each",
        "every",
        "no",
        "not",
        "nor",
        "only",
        "also",
        "then",
        "than",
        "so",
        "yet",
        "according",
        "under",
        "between",
        "among",
        "against",
        "about",
        "above",
        "below",
        "up",
        "down",
        "out",
        "off",
        "more",
        "most",
        "less",
        "least",
        "many",
        "much",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "first",
        "second",
        "third",
        "last",
        "next",
        "new",
        "former",
        "later",
        "earlier",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "can",
        "could",
        "may",
        "might",
        "shall",
        "should",
        "must",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "president",
        "minister",
        "prime",
        "foreign",
        "secretary",
        "general",
        "chancellor",
        "king",
        "queen",
        "prince",
        "defence",
        "defense",
        "deputy",
        "head",
        "chief",
        "mr",
        "mrs",
        "ms",
        "dr",
        "sir",
    ]
)
_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
# variants that share no five-letter prefix
_SAME = [
    {"finland", "finnish", "finn", "finns"},
    {"sweden", "swedish", "swede", "swedes"},
    {"us", "usa", "u.s", "united", "america", "american", "americans", "washington"},
    {"uk", "britain", "british", "united", "kingdom", "london"},
    {"kyiv", "kiev"},
    {"turkey", "turkish", "turkiye", "türkiye", "ankara"},
    {"netherlands", "dutch"},
    {"france", "french", "paris"},
    {"germany", "german", "germans", "berlin"},
    {"poland", "polish", "poles", "warsaw"},
    {"russia", "russian", "russians", "moscow", "kremlin"},
    {"china", "chinese", "beijing"},
    {"denmark", "danish"},
    {"norway", "norwegian"},
    {"nato", "alliance", "allies", "allied"},
    {"eu", "european", "europe"},
    {"un", "united", "nations"},
]


def _norm(word: str) -> str:
    word = word.lower().replace("\u2019", "'")
    word = re.sub(r"'s$|'$", "", word)
    return word.strip("'-.")


def claim_names(claim: str) -> list[str]:
    """The claim's names (capitalised words that are not ordinary words, and month names), in order."""
    out: list[str] = []
    for match in _WORD.finditer(claim):
        raw = match.group()
        word = _norm(raw)
        if not word:
            continue
        if (word in _MONTHS or (raw[0].isupper() and word not in _NOT_NAMES)) and word not in out:
            out.append(word)
    return out


def _variants(word: str) -> set[str]:
    found = {word}
    for group in _SAME:
        if word in group:
            found |= group
    return found


def _matches(name: str, words: set[str], prefixes: set[str]) -> bool:
    return any(v in words or (len(v) >= 5 and v[:5] in prefixes) for v in _variants(name))


def missing_names(claim: str, evidence: list[str]) -> list[str]:
    """Names of the claim that none of the ``evidence`` texts states."""
    words = {_norm(w) for text in evidence for w in _WORD.findall(text)}
    words.discard("")
    prefixes = {w[:5] for w in words if len(w) >= 5}
    names = claim_names(claim)
    missing = [n for n in names if not _matches(n, words, prefixes)]
    if not missing:
        return []
    # a first name may be absent when the next name (the surname) is present: "Jens Stoltenberg"
    tokens = [_norm(w) for w in _WORD.findall(claim)]
    forgiven = set()
    for i, tok in enumerate(tokens[:-1]):
        if tok in missing and tok not in _MONTHS and tokens[i + 1] in names and tokens[i + 1] not in missing:
            forgiven.add(tok)
    return [n for n in missing if n not in forgiven]
