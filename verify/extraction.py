"""Claim extraction. Two extractors share this module. The default, "sentences", takes each
sentence as one claim as the article words it, and the kind step decides what is checkable (an
option rewrites context-leaning fact sentences to stand alone). "windows": the article is cut into
windows of sentences and the model lists the atomic claims of each target sentence. Every claim is
tied to a sentence, so its span in the article comes from our own segmentation and is exact; code
checks that a model-written claim's wording is grounded in that sentence (or the context it may
borrow names from) and drops it otherwise.

Windows run concurrently (up to ``concurrency`` requests in flight). A window whose call fails is
recorded as a :class:`~verify.models.WindowFailure` and the rest of the article goes on; a window
whose answer is cut by the token limit is split in two and each half redone. The headline is context
only, never a target; a claim from a question is set aside as "other" in code. Relative times are
resolved against the article's date, when one is known (:mod:`verify.dates`): by the model in the
windows extractor, in code (each unambiguous form followed by its date) in the sentences extractor.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

from .dates import ArticleDate, dateline_prefix, is_date_header, resolve_relative
from .errors import FATAL, BackendError, TruncatedOutputError
from .fences import data_line
from .kinds import KindClassifier, KindScore, kind_distributions, kind_for
from .lexical import negations, tokenize
from .llm import ChatBackend, ChatRequest
from .models import Claim, ClaimKind, Span, Usage, WindowFailure
from .prompts import PromptTemplate
from .quotes import commentator_quotes
from .referents import resolve_referents
from .sentences import Sentence, split_sentences
from .structured import OutputRejected, StructuredResult, call_structured

log = logging.getLogger("verify")
OutputT = TypeVar("OutputT", bound=BaseModel)
ResultT = TypeVar("ResultT")

MIN_SENTENCE_OVERLAP = 0.34  # share of the claim's content words found in its own sentence
MIN_WINDOW_OVERLAP = 0.6  # share found in the sentence plus its context
MAX_HEADLINE_WORDS = 30
MAX_HEADER_LINES = 3  # date lines under the headline ("Published: 2024-02-02") that are not claims
TOKENS_PER_TARGET = 120  # completion budget per target sentence, plus a fixed margin
TOKENS_MARGIN = 200
MAX_CLAIMS_PER_SENTENCE = 4
SPLIT_SCHEMA = {
    "type": "object",
    "properties": {
        "statements": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_CLAIMS_PER_SENTENCE,
            "items": {"type": "string", "minLength": 3, "maxLength": 300},
        }
    },
    "required": ["statements"],
    "additionalProperties": False,
}


class SplitOutput(BaseModel):
    statements: list[str] = Field(min_length=1)


REWRITE_SCHEMA = {
    "type": "object",
    "properties": {"claim": {"type": "string", "minLength": 3, "maxLength": 600}},
    "required": ["claim"],
    "additionalProperties": False,
}


class RewriteOutput(BaseModel):
    claim: str = Field(min_length=3)


MIN_REWRITE_KEPT = 0.6  # share of the sentence's content words a rewritten sentence must keep
MIN_NEUTRAL_KEPT = 0.3  # the same for a neutral rewrite, which drops loaded words and opinion clauses
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_SEASONS = "spring|summer|autumn|fall|winter"
# What makes a sentence lean on its context: a pronoun, a sentence opening on a demonstrative, a
# definite reference to something named earlier, or a time relative to the article's date.
_LEANS_ON_CONTEXT = [
    re.compile(r"\b(he|she|they|him|her|his|hers|their|theirs|them|its|it)\b", re.IGNORECASE),
    re.compile(r"^\W*(this|that|these|those|such|here|there|then)\b", re.IGNORECASE),
    re.compile(
        r"\bthe (alliance|bloc|deal|summit|agreement|organi[sz]ation|meeting|council|treaty|package|plan|regime|"
        r"decision|declaration|pledge|promise|programme|program|contract|talks|session|visit)\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(today|yesterday|tomorrow|tonight|now|"
        rf"this (morning|afternoon|evening|week|month|year|{_SEASONS}|{_DAYS})|"
        rf"(last|next|coming|past) ({_MONTHS}|{_DAYS}|week|month|year|{_SEASONS}|weekend)|"
        rf"(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|few) (days?|weeks?|months?|years?) "
        rf"(ago|later|earlier|before|after|on)|"
        rf"(earlier|later) this|the following (day|week|month|year)|the day before|"
        rf"the previous (day|week|month|year))\b",
        re.IGNORECASE,
    ),
]


_DATE_WORD = re.compile(rf"^(\d+(st|nd|rd|th)?|{_MONTHS}|{_DAYS}|{_SEASONS})$")


_REPORTING = frozenset(["said", "says", "stated", "reported"])  # a neutral verb for "boasted", "admitted"
_SUFFIX = re.compile(r"(ing|ed|es|e|s|d)$")


def _stem(word: str) -> str:
    """A word without its inflection ("approved", "approve" and "approves" alike); irregular forms differ."""
    return _SUFFIX.sub("", word) if len(word) > 4 else word


def rewrite_problem(
    rewrite: str, sentence: str, context: str, date_line: str, *, min_kept: float = MIN_REWRITE_KEPT
) -> str | None:
    """Why a rewritten sentence may not replace the sentence, or None. A rewrite may only add words
    found in the context or the article's date (and date words: a resolved "last week"), other forms
    of those words, and a plain reporting verb ("said" for "boasted"); it must keep the sentence's
    negation words, and at least ``min_kept`` of its own words."""
    words, own = set(tokenize(rewrite)), set(tokenize(sentence))
    kept = len(words & own) / len(own) if own else 1.0
    if kept < min_kept:
        return f"{kept:.2f} of the sentence's words kept"
    if negations(rewrite) != negations(sentence):  # "did not approve" must not become "approved"
        return f"negations {sorted(negations(sentence))} became {sorted(negations(rewrite))}"
    known = own | set(tokenize(context)) | set(tokenize(date_line))
    stems = {_stem(w) for w in known}
    added = sorted(
        w for w in words - known if not _DATE_WORD.match(w) and w not in _REPORTING and _stem(w) not in stems
    )
    if added:
        return f"adds {', '.join(added)}, found neither in the sentence nor in its context"
    return None


def leans_on_context(sentence: str) -> bool:
    """Whether a sentence needs its context (or the article's date) to be checked on its own."""
    return any(pattern.search(sentence) for pattern in _LEANS_ON_CONTEXT)


class ExtractedClaim(BaseModel):
    sentence: int
    claim: str = Field(min_length=3)
    kind: ClaimKind  # after the claim: written first, kinds came in runs (evals/RESULTS.md section 3b)


class ExtractionOutput(BaseModel):
    claims: list[ExtractedClaim]


@dataclass
class Window:
    context: list[Sentence]
    targets: list[Sentence]


@dataclass
class ExtractionResult:
    claims: list[Claim]
    usage: Usage
    windows: int
    dropped: list[str] = field(default_factory=list)
    raw_outputs: list[str] = field(default_factory=list)
    failures: list[WindowFailure] = field(default_factory=list)
    headline: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each phase: windows, kinds


def make_windows(sentences: list[Sentence], size: int, context: int, *, first: int = 0) -> list[Window]:
    """Each sentence from ``first`` on is a target in exactly one window, so no claim is lost or
    doubled at a boundary; the sentences before ``first`` (a headline) can only be context."""
    return [
        Window(sentences[max(0, i - context) : i], sentences[i : i + size]) for i in range(first, len(sentences), size)
    ]


def split_window(window: Window) -> tuple[Window, Window]:
    """Two halves of a window's targets; the second half keeps the end of the first as context."""
    half = len(window.targets) // 2
    context = len(window.context) or 1
    left = Window(window.context, window.targets[:half])
    right = Window([*window.context, *window.targets[:half]][-context:], window.targets[half:])
    return left, right


def find_headline(text: str, sentences: list[Sentence]) -> Sentence | None:
    """The first line, when it stands alone as a paragraph with no sentence-final punctuation."""
    if not sentences:
        return None
    first = sentences[0]
    rest = text[first.end :]
    stands_alone = "\n" not in first.text and re.match(r"[ \t]*\n[ \t]*\n", rest) is not None
    unpunctuated = not first.text.rstrip("\"'\u201d\u2019").endswith((".", "!"))
    if stands_alone and unpunctuated and len(first.text.split()) <= MAX_HEADLINE_WORDS:
        return first
    return None


def dedup_key(claim: str) -> str:
    """Claims with the same words (case and punctuation aside) are one claim."""
    return re.sub(r"[^a-z0-9]+", " ", claim.lower()).strip()


def is_question(sentence: str) -> bool:
    return sentence.rstrip(" \"'\u201d\u2019)]").endswith("?")


def render_date(article_date: ArticleDate | None) -> str:
    if article_date is None:
        return "Article date: unknown. Keep relative times (today, last week) as the text gives them."
    return f"Article date: {article_date.describe()}."


def render_window(window: Window) -> str:
    lines = [f"CONTEXT {s.index + 1}: {data_line(s.text)}" for s in window.context]
    lines += [f"TARGET {s.index + 1}: {data_line(s.text)}" for s in window.targets]
    return "\n".join(lines)


def extraction_schema(window: Window) -> dict:
    return {
        "type": "object",
        "properties": {
            "claims": {
                "type": "array",
                "maxItems": MAX_CLAIMS_PER_SENTENCE * len(window.targets),
                "items": {
                    "type": "object",
                    "properties": {
                        "sentence": {"type": "integer", "enum": [s.index + 1 for s in window.targets]},
                        "claim": {"type": "string", "minLength": 3, "maxLength": 300},
                        "kind": {"type": "string", "enum": [k.value for k in ClaimKind]},
                    },
                    "required": ["sentence", "claim", "kind"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["claims"],
        "additionalProperties": False,
    }


def grounding(claim: str, sentence: str, context: str) -> tuple[float, float]:
    words = set(tokenize(claim))
    if not words:
        return 0.0, 0.0
    own = set(tokenize(sentence))
    near = own | set(tokenize(context))
    return len(words & own) / len(words), len(words & near) / len(words)


class ClaimExtractor:
    def __init__(
        self,
        backend: ChatBackend,
        prompt: PromptTemplate | None,
        *,
        window_sentences: int,
        context_sentences: int,
        max_reasks: int,
        concurrency: int = 1,
        classifier: KindClassifier | None = None,
        checkable_threshold: float = 0.5,
        kind_logprobs: bool = False,
        splitter: PromptTemplate | None = None,
        split_words: int = 20,
        mode: Literal["windows", "sentences"] = "windows",
        rewriter: PromptTemplate | None = None,
        rewrite_all: bool = False,
        resolve_dates: bool = False,
        resolve_referents: bool = False,
        quoted_kinds: bool = False,
    ) -> None:
        self.backend = backend
        self.prompt = prompt
        self.window_sentences = window_sentences
        self.context_sentences = context_sentences
        self.max_reasks = max_reasks
        self.concurrency = concurrency
        self.classifier = classifier
        self.checkable_threshold = checkable_threshold
        self.splitter = splitter  # long fact claims are rewritten as short statements by one more call each
        self.split_words = split_words
        self.kind_logprobs = kind_logprobs and classifier is None  # P(fact) read at each kind the extractor writes
        # "windows": the model lists each window's claims; "sentences": each sentence is a claim as written,
        # and one that leans on its context is rewritten to stand alone by ``rewriter`` (one short call)
        self.mode = mode
        self.rewriter = rewriter
        # every fact sentence is rewritten (the neutral prompt: it may drop loaded words and opinion clauses),
        # not only those that lean on their context
        self.rewrite_all = rewrite_all
        # sentences mode: relative times in a claim are followed by the date they mean, in code
        self.resolve_dates = resolve_dates
        # sentences mode: "the alliance" / "the bloc" in a claim is followed by the organisation it names, in code
        self.resolve_referents = resolve_referents
        # sentences mode: a sentence voicing one of the article's quoted commentators is scored by the kind step
        # on the quoted words, not as the attribution "X says Y" (verify.quotes)
        self.quoted_kinds = quoted_kinds

    async def extract(self, text: str, *, article_date: ArticleDate | None = None) -> ExtractionResult:
        sentences = split_sentences(text)
        headline = find_headline(text, sentences)
        first = 1 if headline is not None else 0
        while first < min(len(sentences), MAX_HEADER_LINES) and is_date_header(sentences[first].text):
            first += 1  # "Published: 2024-02-02": where the article's date is read from, not a claim
        windows = make_windows(sentences, self.window_sentences, self.context_sentences, first=first)
        run = _Run(self, article_date, asyncio.Semaphore(self.concurrency), text)
        if first < len(sentences) and (prefix := dateline_prefix(sentences[first].text)) is not None:
            run.dateline = (first, prefix)
        if self.quoted_kinds and self.mode == "sentences":
            run.quotes = commentator_quotes(text, sentences)
        started = run.started = time.perf_counter()
        step = run.window if self.mode == "windows" else run.sentences
        await asyncio.gather(*(step(w) for w in windows))
        claims = self._claims(run, sentences)
        for claim in claims:
            run.set_kind(claim)
        result = self._result(run, claims, headline)
        result.seconds = {"windows": run.windows_done - started, "total": time.perf_counter() - started}
        return result

    def _claims(self, run: _Run, sentences: list[Sentence]) -> list[Claim]:
        claims: list[Claim] = []
        seen: set[str] = set()
        for found in sorted(run.found, key=lambda f: (f.sentence, f.order)):
            key = dedup_key(found.text)
            if key in seen:
                continue
            seen.add(key)
            sentence = sentences[found.sentence]
            kind, reason = found.kind, None
            if found.fact_prob is not None:
                kind = kind_for(found.kind, found.fact_prob, self.checkable_threshold, found.text)
                if kind != found.kind:
                    reason = f"extractor's P(fact) {found.fact_prob:.2f}"
            if is_question(sentence.text):  # never judged, whatever the model or the kind step says
                kind, reason = ClaimKind.OTHER, "question"
            claims.append(
                Claim(
                    id=f"c{len(claims) + 1:03d}",
                    text=found.text,
                    kind=kind,
                    kind_reason=reason,
                    span=Span(start=sentence.start, end=sentence.end),
                    sentence=sentence.text,
                    model_kind=found.kind if self.mode == "windows" else None,
                    checkable_prob=found.fact_prob,
                )
            )
        return claims

    def _result(self, run: _Run, claims: list[Claim], headline: Sentence | None) -> ExtractionResult:
        for note in run.dropped:
            log.info("extraction dropped a claim: %s", note)
        run.failures.sort(key=lambda f: f.first_sentence)
        return ExtractionResult(
            claims,
            run.usage,
            run.windows,
            run.dropped,
            run.raws,
            run.failures,
            headline.text if headline is not None else None,
        )


@dataclass(frozen=True)
class _Found:
    sentence: int  # index in the article's sentences
    order: int  # position in the window's answer
    text: str
    kind: ClaimKind
    fact_prob: float | None = None  # P(fact) at the kind the extractor wrote, when logprobs were read


@dataclass
class _Run:
    """One article's extraction: the windows' shared results."""

    extractor: ClaimExtractor
    article_date: ArticleDate | None
    gate: asyncio.Semaphore
    article_text: str  # the article as given: what comes before a sentence
    usage: Usage = field(default_factory=Usage)
    found: list[_Found] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    failures: list[WindowFailure] = field(default_factory=list)
    windows: int = 0  # windows sent, split halves included
    # the kind step's score of each claim text (by its dedup key), asked as soon as its window is back
    scores: dict[str, asyncio.Task[KindScore | None]] = field(default_factory=dict)
    # sentences mode: the quoted words to score instead of the sentence, by sentence index (verify.quotes)
    quotes: dict[int, str] = field(default_factory=dict)
    quoted: set[str] = field(default_factory=set)
    # the first sentence's dateline ("MOSCOW, 24 January 2024 — "), which its claim leaves out: (index, prefix)
    dateline: tuple[int, str] | None = None  # claims (dedup keys) whose kind score is of their quoted words
    started: float = 0.0
    windows_done: float = 0.0  # when the last window's answer came back

    @property
    def date_line(self) -> str:
        return render_date(self.article_date)

    async def window(self, window: Window) -> None:
        ex = self.extractor
        assert ex.prompt is not None, "the windows extractor needs the extract_claims prompt"
        targets = {s.index + 1: s for s in window.targets}

        def check(out: ExtractionOutput) -> None:
            bad = [c.sentence for c in out.claims if c.sentence not in targets]
            if bad:
                raise OutputRejected(f"sentence numbers {bad} are not TARGET sentences")

        request = ChatRequest(
            messages=ex.prompt.render(article_date=self.date_line, sentences=render_window(window)),
            schema=extraction_schema(window),
            schema_name="claims",
            logprobs=ex.kind_logprobs,
            max_tokens=TOKENS_PER_TARGET * len(window.targets) + TOKENS_MARGIN,
        )
        self.windows += 1
        try:
            async with self.gate:
                result = await call_structured(
                    ex.backend, request, ExtractionOutput, max_reasks=ex.max_reasks, check=check
                )
        except FATAL:
            raise
        except TruncatedOutputError as exc:
            self._spent(exc)
            if len(window.targets) > 1:
                log.info("extraction window %s was cut by the token limit: splitting it", _where(window))
                await asyncio.gather(*(self.window(half) for half in split_window(window)))
                return
            self._fail(window, exc)
            return
        except BackendError as exc:
            self._spent(exc)
            self._fail(window, exc)
            return
        self.usage.add(result.usage)
        self.raws.extend(result.raw_outputs)
        context_text = " ".join(s.text for s in (*window.context, *window.targets))
        items = result.value.claims
        probs = kind_distributions(result.result.logprobs) if ex.kind_logprobs else None
        if probs is not None and len(probs) != len(items):
            log.info("extraction window %s: kind positions do not match the claims; kinds as written", _where(window))
            probs = None
        mine: list[_Found] = []
        for order, item in enumerate(items):
            sentence = targets[item.sentence]
            claim_text = " ".join(item.claim.split())
            own, near = grounding(claim_text, sentence.text, context_text)
            if own < MIN_SENTENCE_OVERLAP or near < MIN_WINDOW_OVERLAP:
                self.dropped.append(
                    f"sentence {item.sentence}: {claim_text!r} is not grounded in its sentence "
                    f"(overlap {own:.2f} own, {near:.2f} with context)"
                )
                continue
            fact_prob = probs[order].get(ClaimKind.FACT) if probs is not None else None
            mine.append(_Found(sentence.index, order, claim_text, item.kind, fact_prob))
        if ex.splitter is not None:
            mine = await self._split_long(mine, targets, context_text)
        self.found.extend(mine)
        self.windows_done = max(self.windows_done, time.perf_counter())
        if ex.classifier is not None:
            asked = [(f.text, targets[f.sentence + 1].text) for f in mine]
            await asyncio.gather(*(self._score(t, s, ex.classifier) for t, s in asked if not is_question(s)))

    async def sentences(self, window: Window) -> None:
        """The sentences extractor: each target sentence is one claim as the article words it. The
        kind step scores the sentence; a sentence it keeps as a fact and that leans on its context
        is then rewritten to stand alone (one short call; a failed, ungrounded or shortened rewrite
        keeps the sentence as written). No model call lists claims: on the development articles 97%
        of the claims the windows extractor listed were its sentences copied (evals/RESULTS.md
        section 13)."""
        ex = self.extractor
        self.windows += 1
        sentences = [*window.context, *window.targets]

        async def claim(j: int) -> _Found:
            sentence = sentences[j]
            text = " ".join(sentence.text.split())
            if self.dateline is not None and self.dateline[0] == sentence.index:
                text = " ".join(sentence.text[len(self.dateline[1]) :].split())  # the claim, not where it was filed
            if is_question(text):
                return _Found(sentence.index, 0, text, ClaimKind.OTHER)  # never judged (see _claims)
            score = None
            if ex.classifier is not None:
                quoted = self.quotes.get(sentence.index)
                if quoted is not None and dedup_key(quoted):  # the kind of what the commentator says
                    self.scores.setdefault(dedup_key(text), self._score(quoted, text, ex.classifier))
                    self.quoted.add(dedup_key(text))
                score = await self._score(text, text, ex.classifier)
            fact = self._keeps(score)
            if ex.rewriter is not None and fact and (ex.rewrite_all or leans_on_context(text)):
                context = sentences[max(0, j - ex.context_sentences) : j]
                text = self._restated(text, await self._rewrite(sentence, context))
            if ex.resolve_dates and fact and self.article_date is not None:
                text = self._restated(text, resolve_relative(text, self.article_date.value))
            if ex.resolve_referents and fact:
                text = self._restated(text, resolve_referents(text, self.article_text[: sentence.start]))
            return _Found(sentence.index, 0, text, ClaimKind.FACT)

        found = await asyncio.gather(*(claim(j) for j in range(len(window.context), len(sentences))))
        mine = [f for f in found if tokenize(f.text)]
        if ex.splitter is not None:  # only sentences kept as facts: a set-aside sentence is not judged anyway
            context_text = " ".join(s.text for s in sentences)
            targets = {s.index + 1: s for s in window.targets}
            mine = await self._split_long(mine, targets, context_text, eligible=lambda f: self._kept_as_fact(f.text))
            if ex.classifier is not None:
                by_index = {s.index: s.text for s in window.targets}
                await asyncio.gather(*(self._score(f.text, by_index[f.sentence], ex.classifier) for f in mine))
        self.found.extend(mine)
        self.windows_done = max(self.windows_done, time.perf_counter())

    async def _rewrite(self, sentence: Sentence, context: list[Sentence]) -> str | None:
        ex = self.extractor
        assert ex.rewriter is not None
        request = ChatRequest(
            messages=ex.rewriter.render(
                article_date=self.date_line,
                context="\n".join(data_line(s.text) for s in context) or "(none)",
                sentence=data_line(sentence.text),
            ),
            schema=REWRITE_SCHEMA,
            schema_name="claim",
            max_tokens=len(sentence.text) // 2 + TOKENS_MARGIN // 4,
        )
        result = await self._optional_call(
            request, RewriteOutput, f"sentence {sentence.index + 1}: rewrite failed", "kept as written"
        )
        if result is None:
            return None
        self.raws.extend(result.raw_outputs)
        text = " ".join(result.value.claim.split())
        problem = rewrite_problem(
            text,
            sentence.text,
            " ".join(s.text for s in context),
            self.date_line,
            min_kept=MIN_NEUTRAL_KEPT if ex.rewrite_all else MIN_REWRITE_KEPT,
        )
        if problem:
            note = f"sentence {sentence.index + 1}: rewrite {text!r} not used ({problem}); kept as written"
            self.dropped.append(note)
            return None
        return text

    async def _split_long(
        self,
        found: list[_Found],
        targets: dict[int, Sentence],
        context: str,
        eligible: Callable[[_Found], bool] | None = None,
    ) -> list[_Found]:
        """Every fact claim longer than ``split_words`` words (and ``eligible``), rewritten as the short
        statements it makes (one more call each, as soon as its window is back); a failed or ungrounded
        split keeps the claim."""
        ex = self.extractor
        long = [
            f
            for f in found
            if f.kind == ClaimKind.FACT and len(f.text.split()) > ex.split_words and (eligible is None or eligible(f))
        ]
        results = await asyncio.gather(*(self._split(f, targets, context) for f in long))
        replaced = {id(f): parts for f, parts in zip(long, results, strict=True) if parts}
        out: list[_Found] = []
        for f in found:  # a split claim's statements take its place, in their order
            parts = replaced.get(id(f), [f.text])
            out += [_Found(f.sentence, f.order * 10 + j, text, f.kind, f.fact_prob) for j, text in enumerate(parts)]
        return out

    async def _split(self, found: _Found, targets: dict[int, Sentence], context: str) -> list[str] | None:
        ex = self.extractor
        assert ex.splitter is not None
        request = ChatRequest(
            messages=ex.splitter.render(claim=data_line(found.text)),
            schema=SPLIT_SCHEMA,
            schema_name="statements",
            max_tokens=TOKENS_PER_TARGET * 2,
        )
        result = await self._optional_call(request, SplitOutput, f"split of {found.text!r} failed", "claim kept whole")
        if result is None:
            return None
        sentence = targets[found.sentence + 1]
        parts = []
        for raw in result.value.statements:
            text = " ".join(raw.split())
            own, near = grounding(text, sentence.text + " " + found.text, context)
            if own < MIN_SENTENCE_OVERLAP or near < MIN_WINDOW_OVERLAP:
                self.dropped.append(f"split part {text!r} is not grounded in its sentence")
                continue
            parts.append(text)
        return parts or None

    async def _optional_call(
        self, request: ChatRequest, output: type[OutputT], failed: str, fallback: str
    ) -> StructuredResult[OutputT] | None:
        """A structured call whose failure only costs its improvement (a rewrite, a split)."""
        ex = self.extractor
        result = await self._noted(
            lambda: call_structured(ex.backend, request, output, max_reasks=ex.max_reasks), failed, fallback
        )
        if result is not None:
            self.usage.add(result.usage)
        return result

    async def _noted(self, call: Callable[[], Awaitable[ResultT]], failed: str, fallback: str) -> ResultT | None:
        """``call`` under the gate; a backend error (not a fatal one) is noted in the run's warnings as
        "``failed`` (error); ``fallback``", its spent usage counted, and None returned."""
        try:
            async with self.gate:
                return await call()
        except FATAL:
            raise
        except BackendError as exc:
            self._spent(exc)
            self.dropped.append(f"{failed} ({type(exc).__name__}: {exc}); {fallback}")
            return None

    def _restated(self, text: str, restated: str | None) -> str:
        """``restated`` (a rewrite or a date-resolved form of ``text``) if there is one, else ``text``;
        the restatement keeps the kind score of the text as the article words it."""
        if restated is None or restated == text:
            return text
        if self.extractor.classifier is not None:
            self.scores.setdefault(dedup_key(restated), self.scores[dedup_key(text)])
        return restated

    def _keeps(self, score: KindScore | None) -> bool:
        """Whether the kind step keeps a claim with this score as a fact (without a step or a score: kept)."""
        classifier = self.extractor.classifier
        return score is None or classifier is None or score.prob >= classifier.threshold

    def _kept_as_fact(self, text: str) -> bool:
        """:meth:`_keeps` for a claim text whose kind call has finished."""
        task = self.scores.get(dedup_key(text))
        return self._keeps(task.result() if task is not None else None)

    def _score(self, text: str, sentence: str, classifier: KindClassifier) -> asyncio.Task[KindScore | None]:
        """The kind step's call for one claim text, started once however often the text is found."""
        key = dedup_key(text)
        if key not in self.scores:
            self.scores[key] = asyncio.ensure_future(self._classify(text, sentence, classifier))
        return self.scores[key]

    async def _classify(self, text: str, sentence: str, classifier: KindClassifier) -> KindScore | None:
        got = await self._noted(
            lambda: classifier.score(text, sentence=sentence), f"{text!r}: kind not classified", "extractor's kind kept"
        )
        if got is None:
            return None
        score, usage = got
        self.usage.add(usage)
        return score

    def set_kind(self, claim: Claim) -> None:
        """The claim's kind from the classifier's probability; without a score, the extractor's."""
        classifier = self.extractor.classifier
        task = self.scores.get(dedup_key(claim.text))
        if classifier is None or task is None or claim.kind_reason == "question" or task.result() is None:
            return
        score = task.result()
        assert score is not None
        claim.checkable_prob = score.prob
        kind = kind_for(claim.kind, score.prob, classifier.threshold, claim.text)
        if kind != claim.kind:
            model = f" (model {score.raw:.2f})" if classifier.combiner else ""
            of = " of the quoted commentator's words" if dedup_key(claim.text) in self.quoted else ""
            claim.kind, claim.kind_reason = kind, f"classifier: P(checkable){of} {score.prob:.2f}{model}"

    def _spent(self, exc: BaseException) -> None:
        usage = getattr(exc, "usage", None)
        if isinstance(usage, Usage):
            self.usage.add(usage)

    def _fail(self, window: Window, exc: BackendError) -> None:
        first, last = window.targets[0].index + 1, window.targets[-1].index + 1
        log.warning("extraction failed for sentences %d-%d: %s", first, last, exc)
        self.failures.append(
            WindowFailure(first_sentence=first, last_sentence=last, error_type=type(exc).__name__, message=str(exc))
        )


def _where(window: Window) -> str:
    return f"{window.targets[0].index + 1}-{window.targets[-1].index + 1}"
