"""The kind decision as a separate short step: one call per extracted claim asks whether it is a
checkable statement of fact, and the probability of the answer token (not the sampled answer) is
compared with a threshold fitted on the development articles. The extractor still supplies the
kind of a claim that is not checkable (opinion, prediction, other)."""

from __future__ import annotations

import bisect
import logging
import math
import re
from typing import NamedTuple

from pydantic import BaseModel

from .fences import data_line
from .kind_combiner import KindCombiner
from .llm import ChatBackend, ChatRequest, TokenLogprob, continued, value_of_token
from .models import ClaimKind, Usage
from .prompts import PromptTemplate
from .structured import call_structured

log = logging.getLogger("verify")

SCHEMA = {
    "type": "object",
    "properties": {"checkable": {"type": "boolean"}},
    "required": ["checkable"],
    "additionalProperties": False,
}
ANSWER_PREFIX = '{"checkable":'  # what the schema makes the model write before the boolean
_KIND_VALUE = re.compile(r'"kind"\s*:\s*"')
_FUTURE = re.compile(r"\b(will|shall|is going to|are going to|would soon)\b", re.IGNORECASE)


class CheckableAnswer(BaseModel):
    checkable: bool


def checkable_probability(logprobs: list[TokenLogprob] | None) -> float | None:
    """P(true) / (P(true) + P(false)) at the token where the model wrote the boolean."""
    for item in logprobs or ():
        if item.token.strip().lower() not in ("true", "false"):
            continue
        mass = {"true": 0.0, "false": 0.0}
        for token, logprob in item.top or ((item.token, item.logprob),):
            piece = token.strip().lower()
            if piece in mass:
                mass[piece] += math.exp(logprob)
        total = mass["true"] + mass["false"]
        return mass["true"] / total if total else None
    return None


def kind_distributions(logprobs: list[TokenLogprob] | None) -> list[dict[ClaimKind, float]] | None:
    """The probability of each kind wherever the extractor wrote a ``"kind"`` value, in order.

    Offsets are taken in the concatenated token texts themselves (not the message text, which can
    differ in byte-level pieces), so each value start maps to the token that begins writing it.
    """
    if not logprobs:
        return None
    starts, offset = [], 0
    for item in logprobs:
        starts.append(offset)
        offset += len(item.token)
    joined = "".join(item.token for item in logprobs)
    out: list[dict[ClaimKind, float]] = []
    for match in _KIND_VALUE.finditer(joined):
        if match.end() >= len(joined):
            return None
        token = logprobs[bisect.bisect_right(starts, match.end()) - 1]  # the token holding the value's first character
        mass = dict.fromkeys(ClaimKind, 0.0)
        for piece, logprob in token.top or ((token.token, token.logprob),):
            kind = value_of_token(piece, ClaimKind)
            if kind is not None:
                mass[kind] += math.exp(logprob)
        total = sum(mass.values())
        if not total:
            return None
        out.append({kind: value / total for kind, value in mass.items()})
    return out


def kind_for(extracted: ClaimKind, probability: float | None, threshold: float, text: str) -> ClaimKind:
    """Fact when the classifier's probability reaches the threshold; otherwise the extractor's own
    non-fact kind, or (when the extractor said fact) prediction for future tense, else opinion."""
    if probability is None:
        return extracted
    if probability >= threshold:
        return ClaimKind.FACT
    if extracted != ClaimKind.FACT:
        return extracted
    return ClaimKind.PREDICTION if _FUTURE.search(text) else ClaimKind.OPINION


class KindScore(NamedTuple):
    raw: float  # the model's P(checkable)
    prob: float  # what decides: the kind combiner's probability when one is used, else ``raw``


class KindClassifier:
    """One short call per claim; a claim is a fact when :attr:`threshold` is reached."""

    def __init__(
        self,
        backend: ChatBackend,
        prompt: PromptTemplate,
        *,
        max_reasks: int,
        threshold: float = 0.5,
        combiner: KindCombiner | None = None,
        prefill: bool = False,
    ) -> None:
        self.backend = backend
        self.prompt = prompt
        self.max_reasks = max_reasks
        self.combiner = combiner
        self.threshold = combiner.threshold if combiner else threshold
        self.prefill = prefill  # read the answer token from a continued answer (see llm.continued)

    async def score(self, claim: str, *, sentence: str | None = None) -> tuple[KindScore, Usage]:
        """P(checkable) of one claim; a prompt with a ``{sentence}`` field also sees its source sentence."""
        values = {"claim": data_line(claim)}
        if "sentence" in self.prompt.fields:
            values["sentence"] = data_line(sentence or claim)
        request = ChatRequest(
            messages=self.prompt.render(**values),
            schema=SCHEMA,
            schema_name="checkable",
            logprobs=True,
            max_tokens=12,
        )
        spent = Usage()
        raw: float | None = None
        if self.prefill:
            result = await self.backend.acomplete(continued(request, ANSWER_PREFIX))
            spent.add(result.usage)
            raw = checkable_probability(result.logprobs)
            if raw is None:
                log.info("the endpoint did not continue the kind answer; asking with the schema")
        if raw is None:
            out = await call_structured(self.backend, request, CheckableAnswer, max_reasks=self.max_reasks)
            spent.add(out.usage)
            raw = checkable_probability(out.result.logprobs)
            if raw is None:  # no logprobs from this endpoint: the sampled answer, as 0 or 1
                raw = 1.0 if out.value.checkable else 0.0
        prob = self.combiner.apply(claim, raw) if self.combiner else raw
        return KindScore(raw, prob), spent
