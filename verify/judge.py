"""The judge: one schema-constrained call per checkable claim, label probabilities read from the
logprobs at the label token, bias-corrected, then citations checked in code."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import BaseModel, Field

from .calibration import Calibration, label_probabilities
from .citations import check_citations
from .figures import missing_figures
from .llm import ChatBackend, ChatRequest
from .models import LABELS, EvidencePassage, Label, Usage, Verdict
from .prompts import PromptTemplate
from .sentences import split_sentences
from .structured import call_structured

log = logging.getLogger("verify")


class JudgeOutput(BaseModel):
    label: Label
    evidence: list[str] = Field(default_factory=list, description="sentence ids such as '2.3'")
    rationale: str = ""


@dataclass(frozen=True)
class NumberedPassages:
    """Passages as shown to the judge: numbered, each sentence with an id like ``2.3``."""

    passages: list[EvidencePassage]
    sentences: dict[str, tuple[int, str]]  # sentence id -> (passage number, sentence text)
    text: str


def number_passages(passages: list[EvidencePassage]) -> NumberedPassages:
    blocks = []
    sentences: dict[str, tuple[int, str]] = {}
    for number, p in enumerate(passages, 1):
        source = ", ".join(x for x in (p.publisher, p.date) if x)
        head = f"[{number}] {p.title or p.doc_id}" + (f" ({source})" if source else "")
        body = []
        for i, sentence in enumerate(split_sentences(p.text), 1):
            sid = f"{number}.{i}"
            sentences[sid] = (number, sentence.text)
            body.append(f"({sid}) {sentence.text}")
        blocks.append(head + "\n" + " ".join(body))
    return NumberedPassages(passages, sentences, "\n\n".join(blocks))


def judge_schema(numbered: NumberedPassages, max_citations: int) -> dict:
    ids = list(numbered.sentences)
    return {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": [label.value for label in LABELS]},
            "evidence": {
                "type": "array",
                "minItems": 1 if ids else 0,
                "maxItems": max_citations,
                "items": {"type": "string", "enum": ids} if ids else {"type": "string"},
            },
            "rationale": {"type": "string", "maxLength": 100},
        },
        "required": ["label", "evidence", "rationale"],
        "additionalProperties": False,
    }


@dataclass
class Judgement:
    verdict: Verdict
    usage: Usage
    attempts: int


class Judge:
    def __init__(
        self,
        backend: ChatBackend,
        prompt: PromptTemplate,
        *,
        calibration: Calibration | None,
        max_reasks: int,
        max_citations: int,
        logprobs: bool,
        figure_check: bool = True,
    ) -> None:
        self.backend = backend
        self.prompt = prompt
        self.calibration = calibration
        self.max_reasks = max_reasks
        self.max_citations = max_citations
        self.logprobs = logprobs
        self.figure_check = figure_check

    async def judge(self, claim_id: str, claim_text: str, passages: list[EvidencePassage]) -> Judgement:
        numbered = number_passages(passages)
        request = ChatRequest(
            messages=self.prompt.render(claim=claim_text, passages=numbered.text),
            schema=judge_schema(numbered, self.max_citations),
            schema_name="verdict",
            logprobs=self.logprobs,
            max_tokens=200,
        )
        out = await call_structured(self.backend, request, JudgeOutput, max_reasks=self.max_reasks)
        raw_probs = label_probabilities(out.result.text, out.result.logprobs)
        verdict = self.decide(claim_id, claim_text, numbered, out.value, out.result.text, raw_probs)
        return Judgement(verdict, out.usage, out.attempts)

    def decide(
        self,
        claim_id: str,
        claim_text: str,
        numbered: NumberedPassages,
        output: JudgeOutput,
        raw_output: str,
        raw_probs: dict[Label, float] | None,
    ) -> Verdict:
        """Everything after the model call, in code: calibration, citation checks, the figure check.
        A pure function of the model's output, so a stored run can be re-scored without the model."""
        passages = numbered.passages
        model_label = output.label
        probs = raw_probs
        label, confidence, note = model_label, None, ""
        if probs is not None:
            if self.calibration is not None:
                probs = self.calibration.apply(probs)
            label = max(probs, key=lambda lab: probs[lab])
            confidence = probs[label]
            if label != model_label:
                note = f" [Label recalibrated from the model's '{model_label.value}'.]"
        cited = [numbered.sentences.get(sid.strip(), (0, sid)) for sid in output.evidence]
        citations, dropped = check_citations(cited, passages)
        downgraded_from = reason = None
        if label != Label.UNVERIFIABLE and not citations:
            downgraded_from, label = label, Label.UNVERIFIABLE
            reason = "no citation survived verification" if dropped else "the model gave no citation"
        elif label == Label.SUPPORTED and self.figure_check:
            missing = missing_figures(claim_text, passages)
            if missing:
                downgraded_from, label = label, Label.UNVERIFIABLE
                reason = "figures of the claim stated in no evidence passage: " + ", ".join(missing)
        if downgraded_from is not None:
            confidence = probs[Label.UNVERIFIABLE] if probs else None
        return Verdict(
            claim_id=claim_id,
            label=label,
            rationale=(output.rationale.strip() + note).strip(),
            citations=citations,
            confidence=confidence,
            label_probs=probs,
            label_probs_raw=raw_probs,
            model_label=model_label,
            downgraded_from=downgraded_from,
            downgrade_reason=reason,
            dropped_citations=dropped,
            retrieved_passage_ids=[p.id for p in passages],
            raw_output=raw_output,
        )
