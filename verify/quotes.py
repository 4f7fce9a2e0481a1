"""Which sentences voice one of the article's quoted commentators, and the quoted words they say.

In these articles a view the outlet wants voiced is often put in the mouth of a commentator it
quotes ('"The Finns have traded a neutrality ..." says Viktor Pashin, a senior fellow at ...'). The
annotators label such a claim by what the quote says: opinion for a judgement, prediction for a
forecast, even with "X says" kept (``evals/KIND_GOLD.md``). The kind step, asked about the whole
sentence, reads "X says Y" as a checkable attribution. So for these sentences it is asked about the
quoted words instead; the claim keeps the sentence and its speaker.

A sentence qualifies when it is mostly a quotation and its speaker is a commentator: a role word
(analyst, historian, political scientist, researcher, ...) in the words outside the quotation, or
in the first sentence that names the speaker, or, for "he says" or a sentence that is all quotation,
the previous quoted speaker in the same paragraph. An official's quote ("Defence Minister Pal Jonson
told the newspaper that ...") does not qualify and stays an attribution.
"""

from __future__ import annotations

import re

from .sentences import Sentence

MIN_QUOTE_CHARS = 20  # shorter quotations are scare quotes ("open doors"), not a speaker's words
MIN_QUOTED_SHARE = 0.3  # of the sentence's characters inside quotation marks
MAX_OUTSIDE_WORDS = 16  # words outside the quotation: the attribution, not a report with a quote in it
MIN_REPORTED_WORDS = 5  # what a reported view says, once "X predicts that" is taken out
PRONOUN_REACH = 6  # sentences back in which "he says" may find its speaker

_QUOTE = re.compile(r"[\"\u201c]([^\"\u201c\u201d]+)[\"\u201d]?")
_ROLE = re.compile(
    r"\b(analysts?|commentators?|historians?|(political |social )?scientists?|researchers?|fellows?|experts?|"
    r"observers?|scholars?|professors?|economists?|bloggers?|columnists?|pundits?|specialists?|academics?|"
    r"sociologists?|political scientists?|strategists?)\b",
    re.IGNORECASE,
)
_SPEAKS = re.compile(
    r"\b(says|said|told|tells|comments|commented|predicts|predicted|put it|puts it|adds|added|writes|wrote|"
    r"argues|argued|believes|warns|warned|notes|noted|explains|explained|recalls|recalled|insists|insisted|"
    r"concludes|concluded|remarks|remarked|observes|observed)\b",
    re.IGNORECASE,
)
_REPORTS = (
    r"predicts|predicted|expects|expected|believes|believed|argues|argued|says|said|thinks|thought|warns|warned|"
    r"insists|insisted|claims|claimed|doubts|fears|feared|notes|noted|suggests|suggested"
)
_PRONOUN = re.compile(r"\b(he|she)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b")
_NOT_NAMES = frozenset(["As", "The", "And", "But", "Yet", "So", "Then", "Our", "He", "She", "In", "On", "At"])


def quoted_words(text: str) -> tuple[str, str]:
    """The words inside quotation marks (parts of at least ``MIN_QUOTE_CHARS``), and those outside."""
    inside = [m.group(1) for m in _QUOTE.finditer(text) if len(m.group(1).strip()) >= MIN_QUOTE_CHARS]
    outside = _QUOTE.sub(lambda m: " " if len(m.group(1).strip()) >= MIN_QUOTE_CHARS else m.group(0), text)
    return " ".join(part.strip(" ,") for part in inside), " ".join(outside.split())


def commentator_names(sentences: list[Sentence]) -> set[str]:
    """Surnames the article gives a commentator's role: "political scientist Gennady Voronov",
    "Viktor Pashin, a senior fellow at ..."."""
    role = f"(?i:{_ROLE.pattern})"
    after = re.compile(rf"{role}\s+(?:[A-Z][a-z]+\s+)?(?P<name>[A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b")
    before = re.compile(rf"\b(?P<name>[A-Z][a-z]+(?:-[A-Z][a-z]+)?),\s+(?:a|an|the)\s+[^,.;]{{0,60}}?{role}")
    names: set[str] = set()
    for sentence in sentences:
        outside = quoted_words(sentence.text)[1]
        for pattern in (after, before):
            for match in pattern.finditer(outside):
                name = match.group("name")
                if name not in _NOT_NAMES:
                    names.add(name)
    return names


def _speaker(outside: str, commentators: set[str]) -> bool | None:
    """Whether the words outside a quotation name a commentator as its speaker (a role word or a
    commentator's name); None when they name nobody."""
    if _ROLE.search(outside) or commentators & set(_NAME.findall(outside)):
        return True
    return False if [n for n in _NAME.findall(outside) if n not in _NOT_NAMES] else None


def _pronoun_is_commentator(said: dict[int, bool], i: int) -> bool | None:
    """Whether "he" or "she" in sentence ``i`` is a commentator: the nearest earlier sentence (within
    ``PRONOUN_REACH``) whose speaker is known."""
    nearest = max((j for j in said if i - PRONOUN_REACH <= j < i), default=None)
    return said[nearest] if nearest is not None else None


def _reported_speech(text: str, commentators: set[str], pronoun: bool | None) -> str | None:
    """The sentence without its "Semyonov predicts," / "He predicts that", when a commentator's view is
    reported without quotation marks; None otherwise."""
    who = [re.escape(n) for n in sorted(commentators)] + (["[Hh]e", "[Ss]he"] if pronoun else [])
    if not who:
        return None
    clause = re.compile(rf"\b(?:{'|'.join(who)})\s+(?i:{_REPORTS})\b(?:\s+that\b)?\s*,?")
    match = clause.search(text)
    if match is None:
        return None
    rest = " ".join((text[: match.start()] + " " + text[match.end() :]).split()).strip(" ,")
    rest = re.sub(r"\s+,", ",", rest).replace(",,", ",")
    return rest if len(rest.split()) >= MIN_REPORTED_WORDS else None


def commentator_quotes(text: str, sentences: list[Sentence]) -> dict[int, str]:
    """Sentence index -> the quoted words, for each sentence that voices a quoted commentator."""
    commentators = commentator_names(sentences)
    out: dict[int, str] = {}
    said: dict[int, bool] = {}  # sentences with a known speaker: whether a commentator
    for i, sentence in enumerate(sentences):
        inside, outside = quoted_words(sentence.text)
        if commentators & set(_NAME.findall(outside)):
            said[i] = True  # "Pashin expects the saga to drag on.": he, in the next sentences, is Pashin
        if not inside:
            reported = _reported_speech(sentence.text, commentators, _pronoun_is_commentator(said, i))
            if reported is not None:
                out[sentence.index] = reported
            continue
        if len(inside) < MIN_QUOTED_SHARE * len(sentence.text.strip()):
            continue
        words = outside.split()
        if len(words) > MAX_OUTSIDE_WORDS:
            continue
        commentator: bool | None = None
        if words and _SPEAKS.search(outside):
            commentator = _speaker(outside, commentators)
            if commentator is None and _PRONOUN.search(outside):
                commentator = _pronoun_is_commentator(said, i)
        elif not words and i - 1 in said and "\n" not in text[sentences[i - 1].end : sentence.start]:
            commentator = said[i - 1]  # a quotation going on from the previous sentence, in the same paragraph
        if commentator is None:
            continue
        said[i] = commentator
        if commentator:
            out[sentence.index] = inside
    return out
