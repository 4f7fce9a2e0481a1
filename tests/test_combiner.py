from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from verify.combiner import FEATURES, Combiner, features, find_combiner
from verify.evidence import number_passages
from verify.judge import Judge
from verify.models import LABELS, EvidencePassage, Label
from verify.prompts import PromptTemplate
from verify.testing import FakeChatModel

PASSAGES = [
    EvidencePassage(
        id="p1",
        doc_id="finland",
        title="Finland joins NATO",
        text="Finland joined NATO on 4 April 2023. Turkey did not block the accession.",
    )
]
EVEN = {label: 1 / 3 for label in LABELS}


def only(feature: str, weight: float, label: Label = Label.UNVERIFIABLE) -> Combiner:
    coef = {lab: dict.fromkeys(FEATURES, 0.0) for lab in LABELS}
    coef[label][feature] = weight
    return Combiner(
        model="fake-chat",
        prompt_hash="0" * 12,
        coef=coef,
        intercept=dict.fromkeys(LABELS, 0.0),
        mean=dict.fromkeys(FEATURES, 0.0),
        scale=dict.fromkeys(FEATURES, 1.0),
        source="test",
    )


def test_features_see_figures_names_overlap_and_negation_of_the_cited_sentence():
    numbered = number_passages(PASSAGES)
    right = features("Finland joined NATO on 4 April 2023.", numbered, ["1.1"], EVEN)
    assert right["cited_overlap"] == 1.0 and right["figures_missing_in_cited"] == 0.0
    assert right["names_missing_in_cited"] == 0.0 and right["negation_differs"] == 0.0
    wrong = features("Sweden joined NATO on 4 April 2022.", numbered, ["1.1"], EVEN)
    assert wrong["figures_missing_in_cited"] == 1.0 and wrong["figures_missing_in_shown"] == 1.0
    assert wrong["names_missing_in_cited"] == 1.0
    assert features("Turkey blocked the accession.", numbered, ["1.2"], EVEN)["negation_differs"] == 1.0
    assert right["log_p_supported"] == pytest.approx(math.log(1 / 3))


def test_apply_is_a_softmax_over_standardised_features():
    probs = only("names_missing_in_cited", 2.0).apply(dict.fromkeys(FEATURES, 1.0))
    assert sum(probs.values()) == pytest.approx(1.0)
    assert probs[Label.UNVERIFIABLE] == pytest.approx(math.exp(2) / (math.exp(2) + 2))


def test_json_round_trip_and_lookup_by_model_and_prompt(tmp_path: Path):
    comb = only("cited_overlap", 1.5, Label.SUPPORTED)
    (tmp_path / "c.json").write_text(comb.to_json(), encoding="utf-8")
    loaded = find_combiner(tmp_path, "fake-chat", "0" * 64)
    assert loaded is not None and loaded.coef == comb.coef
    assert find_combiner(tmp_path, "other-model", "0" * 64) is None


def test_the_judge_takes_its_label_from_the_combiner(judge_prompt: PromptTemplate):
    # the model says 'supported'; the combiner weighs the name missing from the cited sentence
    logprobs = {"supported": math.log(0.8), "disputed": math.log(0.1), "unverifiable": math.log(0.1)}
    chat = FakeChatModel(label_logprobs=logprobs).enqueue({"label": "supported", "evidence": ["1.1"]})
    judge = Judge(
        chat,
        judge_prompt,
        calibration=only("names_missing_in_cited", 5.0, Label.DISPUTED),
        max_reasks=1,
        max_citations=2,
        logprobs=True,
        name_check=False,
    )
    verdict = asyncio.run(judge.judge("c1", "Sweden joined NATO on 4 April 2023.", PASSAGES)).verdict
    assert verdict.model_label == Label.SUPPORTED
    assert verdict.label == Label.DISPUTED
    assert verdict.label_probs_raw[Label.SUPPORTED] == pytest.approx(0.8)
