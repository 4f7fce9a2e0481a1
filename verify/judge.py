"""The judge: one schema-constrained call per checkable claim on the evidence sentences chosen for
it, label probabilities read from the logprobs at the label token, bias-corrected, then citations,
figures and names checked in code against the cited sentences."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

from pydantic import BaseModel, Field

from .calibration import Calibration, label_distribution, label_probabilities
from .citations import check_citations
from .combiner import Combiner, features
from .evidence import NumberedPassages, Similarity, cited_evidence, number_passages, select_evidence
from .fences import data_line
from .figures import missing_figures
from .llm import ChatBackend, ChatRequest, continued
from .models import LABELS, EvidencePassage, Label, Usage, Verdict
from .names import missing_names
from .prompts import PromptTemplate
from .structured import call_structured

__all__ = ["Judge", "JudgeOutput", "Judgement", "NumberedPassages", "judge_schema", "number_passages"]

log = logging.getLogger("verify")
LABEL_PREFIX = '```json\n{\n  "label": "'  # what the embedded model writes before the label under the schema


class JudgeOutput(BaseModel):
    label: Label
    evidence: list[str] = Field(default_factory=list, description="sentence ids such as '2.3'")
    rationale: str = ""


def judge_schema(numbered: NumberedPassages, max_citations: int, *, rationale: bool = False, cite: bool = True) -> dict:
    """Label first (its token's probabilities are read), then the deciding sentence ids, which can
    only be ids of sentences that were shown (unless code chooses them); a rationale only when asked."""
    ids = list(numbered.sentences)
    properties: dict = {"label": {"type": "string", "enum": [label.value for label in LABELS]}}
    if cite:
        properties["evidence"] = {
            "type": "array",
            "minItems": 1 if ids else 0,
            "maxItems": max_citations,
            "items": {"type": "string", "enum": ids} if ids else {"type": "string"},
        }
    if rationale:
        properties["rationale"] = {"type": "string", "maxLength": 100}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
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
        calibration: Calibration | Combiner | None,
        max_reasks: int,
        max_citations: int,
        logprobs: bool,
        figure_check: bool = True,
        name_check: bool = True,
        evidence_sentences: int = 0,
        similarity: Similarity | None = None,
        rationale: bool = False,
        model_cites: bool = True,
        prefill: bool = False,
        min_support: float = 0.0,
    ) -> None:
        self.backend = backend
        self.prompt = prompt
        self.calibration = calibration
        self.max_reasks = max_reasks
        self.max_citations = max_citations
        self.logprobs = logprobs
        self.figure_check = figure_check
        self.name_check = name_check
        self.evidence_sentences = evidence_sentences
        self.similarity = similarity
        self.rationale = rationale
        self.model_cites = model_cites
        self.min_support = min_support  # "supported" below this probability becomes "unverifiable"
        # label-only answers read from one continued token (see llm.continued)
        self.prefill = prefill and not rationale and not model_cites

    def prepare(self, claim_text: str, passages: list[EvidencePassage]) -> NumberedPassages:
        """The evidence sentences shown for this claim (deterministic, so a stored run re-scores)."""
        return select_evidence(claim_text, passages, max_sentences=self.evidence_sentences, similarity=self.similarity)

    async def judge(self, claim_id: str, claim_text: str, passages: list[EvidencePassage]) -> Judgement:
        numbered = self.prepare(claim_text, passages)
        request = ChatRequest(
            messages=self.prompt.render(claim=data_line(claim_text), evidence=numbered.text),
            schema=judge_schema(numbered, self.max_citations, rationale=self.rationale, cite=self.model_cites),
            schema_name="verdict",
            logprobs=self.logprobs,
            max_tokens=200 if self.rationale else 60 if self.model_cites else 16,
        )
        spent = Usage()
        if self.prefill:
            result = await self.backend.acomplete(continued(request, LABEL_PREFIX))
            spent.add(result.usage)
            probs = label_distribution(result.logprobs[0]) if result.logprobs else None
            if probs is not None:
                output = JudgeOutput(label=max(probs, key=probs.__getitem__))
                text = output.model_dump_json(include={"label"})
                verdict = self.decide(claim_id, claim_text, numbered, output, text, probs)
                return Judgement(verdict, spent, 1)
            log.info("the endpoint did not continue the label answer; asking with the schema")
        out = await call_structured(self.backend, request, JudgeOutput, max_reasks=self.max_reasks)
        spent.add(out.usage)
        raw_probs = label_probabilities(out.result.text, out.result.logprobs)
        verdict = self.decide(claim_id, claim_text, numbered, out.value, out.result.text, raw_probs)
        return Judgement(verdict, spent, out.attempts)

    def _unsupported_because(self, claim_text: str, numbered: NumberedPassages, cited_ids: list[str]) -> str | None:
        """Why the cited sentences cannot support the claim (figures or names of the claim absent)."""
        cited_text, titles = cited_evidence(numbered, cited_ids)
        if self.figure_check and (missing := missing_figures(claim_text, cited_text)):
            return "figures of the claim stated in no cited sentence: " + ", ".join(missing)
        if self.name_check and (missing := missing_names(claim_text, cited_text + titles)):
            return "names of the claim in no cited sentence: " + ", ".join(missing)
        return None

    def _supporting_sentences(self, claim_text: str, numbered: NumberedPassages) -> list[str] | None:
        """The first set of up to ``max_citations`` of the three closest sentences, in rank order, that
        holds every figure and name of the claim; None if there is none."""
        top = numbered.ranked[:3]
        for size in range(1, self.max_citations + 1):
            for combo in itertools.combinations(top, size):
                if not self._unsupported_because(claim_text, numbered, list(combo)):
                    return list(combo)
        return None

    def cited_ids(self, numbered: NumberedPassages, output: JudgeOutput) -> list[str]:
        """The sentence ids a verdict first rests on: the model's, or when code cites, the shown sentence
        closest to the claim. The combiner's features are computed on these, in fitting as in use."""
        ids = [sid.strip() for sid in output.evidence]
        if not self.model_cites and not ids:
            return numbered.ranked[:1]
        return ids

    def decide(
        self,
        claim_id: str,
        claim_text: str,
        numbered: NumberedPassages,
        output: JudgeOutput,
        raw_output: str,
        raw_probs: dict[Label, float] | None,
    ) -> Verdict:
        """Everything after the model call, in code: calibration (label priors, or the fitted combiner
        of label probabilities and code features), citation checks, then the figure and name checks on
        the cited sentences. A pure function of the model's output, so a stored run can be re-scored
        without the model."""
        passages = numbered.passages
        model_label = output.label
        probs = raw_probs
        label, confidence = model_label, None
        ids = self.cited_ids(numbered, output)
        by_code = not self.model_cites and not output.evidence
        if probs is not None:
            if isinstance(self.calibration, Combiner):
                probs = self.calibration.apply(features(claim_text, numbered, ids, probs))
            elif self.calibration is not None:
                probs = self.calibration.apply(probs)
            label = max(probs, key=lambda lab: probs[lab])
            confidence = probs[label]
        cited = [numbered.sentences.get(sid, (0, sid)) for sid in ids]
        citations, dropped = check_citations(cited, passages)
        downgraded_from = reason = None
        if label == Label.SUPPORTED and probs is not None and probs[label] < self.min_support:
            downgraded_from, label = label, Label.UNVERIFIABLE
            reason = f"P(supported) {probs[Label.SUPPORTED]:.2f} is under the {self.min_support:.2f} support needs"
        elif label != Label.UNVERIFIABLE and not citations:
            downgraded_from, label = label, Label.UNVERIFIABLE
            reason = (
                "no citation survived verification"
                if dropped
                else "no evidence sentence to cite"
                if by_code
                else "the model gave no citation"
            )
        elif label == Label.SUPPORTED:
            reason = self._unsupported_because(claim_text, numbered, ids)
            if reason and by_code:  # other close sentences may hold what the closest one lacks
                found = self._supporting_sentences(claim_text, numbered)
                if found:
                    reason = None
                    citations, dropped = check_citations([numbered.sentences[sid] for sid in found], passages)
            if reason:
                downgraded_from, label = label, Label.UNVERIFIABLE
        if downgraded_from is not None:
            confidence = probs[Label.UNVERIFIABLE] if probs else None
        # the model's rationale is kept only when it argues for the final label
        rationale = output.rationale.strip() if label == model_label else ""
        return Verdict(
            claim_id=claim_id,
            label=label,
            rationale=rationale,
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
