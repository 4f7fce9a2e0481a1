"""Claim extraction: the article is cut into windows of sentences and the model lists the atomic
claims of each target sentence. Every claim is tied to a sentence by number, so its span in the
article comes from our own segmentation and is exact; code checks that the claim's wording is
grounded in that sentence (or the context it may borrow names from) and drops it otherwise."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from .errors import InvalidOutputError
from .lexical import tokenize
from .llm import ChatBackend, ChatRequest
from .models import Claim, ClaimKind, Span, Usage
from .prompts import PromptTemplate
from .sentences import Sentence, split_sentences
from .structured import OutputRejected, call_structured

log = logging.getLogger("verify")

MIN_SENTENCE_OVERLAP = 0.34  # share of the claim's content words found in its own sentence
MIN_WINDOW_OVERLAP = 0.6  # share found in the sentence plus its context


class ExtractedClaim(BaseModel):
    sentence: int
    claim: str = Field(min_length=3)
    kind: ClaimKind


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
    failed_windows: list[tuple[int, int, str]] = field(default_factory=list)  # first, last sentence, error


def make_windows(sentences: list[Sentence], size: int, context: int) -> list[Window]:
    """Each sentence is a target in exactly one window, so no claim is lost or doubled at a boundary."""
    return [Window(sentences[max(0, i - context) : i], sentences[i : i + size]) for i in range(0, len(sentences), size)]


def render_window(window: Window) -> str:
    lines = [f"CONTEXT {s.index + 1}: {s.text}" for s in window.context]
    lines += [f"TARGET {s.index + 1}: {s.text}" for s in window.targets]
    return "\n".join(lines)


def extraction_schema(window: Window) -> dict:
    return {
        "type": "object",
        "properties": {
            "claims": {
                "type": "array",
                "maxItems": 4 * len(window.targets),
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
        prompt: PromptTemplate,
        *,
        window_sentences: int,
        context_sentences: int,
        max_reasks: int,
    ) -> None:
        self.backend = backend
        self.prompt = prompt
        self.window_sentences = window_sentences
        self.context_sentences = context_sentences
        self.max_reasks = max_reasks

    async def extract(self, text: str) -> ExtractionResult:
        sentences = split_sentences(text)
        windows = make_windows(sentences, self.window_sentences, self.context_sentences)
        usage = Usage()
        found: list[tuple[int, int, str, ClaimKind]] = []
        dropped: list[str] = []
        raws: list[str] = []
        failed: list[tuple[int, int, str]] = []
        for window in windows:
            targets = {s.index + 1: s for s in window.targets}

            def check(out: ExtractionOutput, targets: dict[int, Sentence] = targets) -> None:
                bad = [c.sentence for c in out.claims if c.sentence not in targets]
                if bad:
                    raise OutputRejected(f"sentence numbers {bad} are not TARGET sentences")

            try:
                result = await call_structured(
                    self.backend,
                    ChatRequest(
                        messages=self.prompt.render(sentences=render_window(window)),
                        schema=extraction_schema(window),
                        schema_name="claims",
                        max_tokens=120 * len(window.targets) + 200,
                    ),
                    ExtractionOutput,
                    max_reasks=self.max_reasks,
                    check=check,
                )
            except InvalidOutputError as exc:
                if isinstance(exc.usage, Usage):
                    usage.add(exc.usage)
                first, last = window.targets[0].index + 1, window.targets[-1].index + 1
                failed.append((first, last, str(exc)))
                continue
            usage.add(result.usage)
            raws.extend(result.raw_outputs)
            context_text = " ".join(s.text for s in (*window.context, *window.targets))
            for order, item in enumerate(result.value.claims):
                sentence = targets[item.sentence]
                claim_text = " ".join(item.claim.split())
                own, near = grounding(claim_text, sentence.text, context_text)
                if own < MIN_SENTENCE_OVERLAP or near < MIN_WINDOW_OVERLAP:
                    dropped.append(
                        f"sentence {item.sentence}: {claim_text!r} is not grounded in its sentence "
                        f"(overlap {own:.2f} own, {near:.2f} with context)"
                    )
                    continue
                found.append((sentence.index, order, claim_text, item.kind))
        claims: list[Claim] = []
        seen: set[str] = set()
        for sentence_index, _, claim_text, kind in sorted(found, key=lambda f: (f[0], f[1])):
            key = re.sub(r"[^a-z0-9]+", " ", claim_text.lower()).strip()
            if key in seen:
                continue
            seen.add(key)
            sentence = sentences[sentence_index]
            claims.append(
                Claim(
                    id=f"c{len(claims) + 1:03d}",
                    text=claim_text,
                    kind=kind,
                    span=Span(start=sentence.start, end=sentence.end),
                    sentence=sentence.text,
                )
            )
        for note in dropped:
            log.info("extraction dropped a claim: %s", note)
        return ExtractionResult(claims, usage, len(windows), dropped, raws, failed)
