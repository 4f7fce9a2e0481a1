"""Which organisation "the alliance" or "the bloc" is: in a claim that names it only by such a
phrase, the phrase is followed by the one the article has named most often ("the alliance (NATO)"),
in code, as relative times are followed by their dates. The article's wording stays; the claim then
names the organisation, which retrieval, the judge and the name check can hold against the evidence.
Nothing is added when the article names none of the organisations the phrase can stand for before
it, or two of them equally often, or when the claim names that organisation itself."""

from __future__ import annotations

import re

# the organisations a phrase can stand for, each with the ways an article names it
_NAMES: dict[str, re.Pattern[str]] = {
    "NATO": re.compile(r"\bNATO\b|\bNorth Atlantic (?:Treaty Organi[sz]ation|[Aa]lliance)\b"),
    "the EU": re.compile(r"\bEU\b|\bEuropean Union\b"),
    "the CSTO": re.compile(r"\bCSTO\b|\bCollective Security Treaty Organi[sz]ation\b"),
    "the Warsaw Pact": re.compile(r"\bWarsaw Pact\b"),
    "AUKUS": re.compile(r"\bAUKUS\b"),
    "BRICS": re.compile(r"\bBRICS\b"),
}
# the phrases resolved ("the North Atlantic alliance" names NATO itself and is not one of them)
_PHRASES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (
        re.compile(r"\b[Tt]he (?:[Aa]tlantic |[Mm]ilitary )?[Aa]lliance(?P<poss>['\u2019]s)?\b(?!\s*\()"),
        ("NATO", "the CSTO", "the Warsaw Pact", "AUKUS"),
    ),
    (
        re.compile(r"\b[Tt]he (?:[Mm]ilitary )?[Bb]loc(?P<poss>['\u2019]s)?\b(?!\s*\()"),
        ("NATO", "the EU", "the CSTO", "the Warsaw Pact", "BRICS"),
    ),
]


def most_named(before: str, candidates: tuple[str, ...]) -> str | None:
    """Of ``candidates``, the one ``before`` names most often; None when none is named or two are
    named equally often. Not simply the last named: "former Warsaw Pact states joined NATO ... the
    alliance" means NATO."""
    counts = sorted(((len(_NAMES[name].findall(before)), name) for name in candidates), reverse=True)
    (most, name), (second, _) = counts[0], counts[1]
    return name if most > second else None


def resolve_referents(text: str, before: str) -> str:
    """``text`` (a claim) with each "the alliance" / "the bloc" followed by the organisation named
    most often before it, in ``before`` (the article up to the claim's sentence) and earlier in the
    claim; left as written when none or two equally often."""
    out, done = [], 0
    for match, candidates in sorted(
        ((m, c) for pattern, c in _PHRASES for m in pattern.finditer(text)), key=lambda mc: mc[0].start()
    ):
        name = most_named(before + " " + text[: match.start()], candidates)
        if name is None or _NAMES[name].search(text):
            continue
        bare = name.removeprefix("the ")
        out.append(text[done : match.end()])
        out.append(f" ({bare}'s)" if match.group("poss") else f" ({bare})")
        done = match.end()
    out.append(text[done:])
    return "".join(out)
