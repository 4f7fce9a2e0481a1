from __future__ import annotations

import asyncio
import math

import pytest

from verify.calibration import Calibration
from verify.errors import InvalidOutputError
from verify.judge import Judge, Judgement, number_passages
from verify.models import EvidencePassage, Label
from verify.prompts import PromptTemplate
from verify.testing import FakeChatModel

PASSAGES = [
    EvidencePassage(
        id="p-finland",
        doc_id="finland",
        title="Finland joins NATO",
        publisher="NATO",
        date="2023-04-04",
        text="Finland joined NATO on 4 April 2023. It became the 31st member of the Alliance. "
        "Pekka Haavisto handed over the instrument of accession.",
    ),
    EvidencePassage(
        id="p-sweden",
        doc_id="sweden",
        text="Sweden joined NATO on 7 March 2024. Hungary had approved its accession in February.",
    ),
]
CLAIM = "Finland became NATO's 31st member in April 2023."


def make_judge(prompt: PromptTemplate, chat: FakeChatModel, calibration: Calibration | None = None, **kw) -> Judge:
    options = {"max_reasks": 1, "max_citations": 2, "logprobs": True, **kw}
    return Judge(chat, prompt, calibration=calibration, **options)


def run_judge(judge: Judge, passages: list[EvidencePassage] = PASSAGES) -> Judgement:
    return asyncio.run(judge.judge("c001", CLAIM, passages))


def answer(label: str, evidence: list[str], rationale: str = "The passage states it.") -> dict:
    return {"label": label, "evidence": evidence, "rationale": rationale}


def test_number_passages_gives_sentence_ids_per_passage():
    numbered = number_passages(PASSAGES)
    assert numbered.sentences["1.2"] == (1, "It became the 31st member of the Alliance.")
    assert numbered.sentences["2.1"] == (2, "Sweden joined NATO on 7 March 2024.")
    assert set(numbered.sentences) == {"1.1", "1.2", "1.3", "2.1", "2.2"}
    assert "(1.2) It became the 31st member" in numbered.text
    assert "Finland joins NATO" in numbered.text


def test_the_request_offers_the_claim_passages_and_sentence_ids(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("supported", ["1.2"]))
    run_judge(make_judge(judge_prompt, chat))
    request = chat.requests[0]
    assert request.schema_name == "verdict"
    assert CLAIM in request.messages[-1]["content"]
    assert "(2.1) Sweden joined NATO" in request.messages[-1]["content"]
    assert request.schema["properties"]["evidence"]["items"]["enum"] == ["1.1", "1.2", "1.3", "2.1", "2.2"]
    assert list(request.schema["properties"]) == ["label", "evidence"]  # label first; no rationale by default
    user = request.messages[-1]["content"]
    assert user.index("(1.1)") < user.index(CLAIM)  # evidence before the claim, for the prefix cache


def test_fixed_instructions_are_byte_identical_across_claims(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("supported", ["1.2"]), answer("disputed", ["2.1"]))
    judge = make_judge(judge_prompt, chat)
    asyncio.run(judge.judge("c1", CLAIM, PASSAGES))
    asyncio.run(judge.judge("c2", "Sweden joined NATO in 2023.", PASSAGES[1:]))
    first, second = (r.messages for r in chat.requests)
    assert first[0] == second[0] and first[0]["role"] == "system"
    assert "{" not in first[0]["content"].replace('{"label"', "")  # no template field in the fixed part


def test_evidence_is_cut_to_the_best_sentences_with_their_own_ids(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("supported", ["2.1"]))
    judge = make_judge(judge_prompt, chat, evidence_sentences=1)
    asyncio.run(judge.judge("c1", "Sweden joined NATO on 7 March 2024.", PASSAGES))
    request = chat.requests[0]
    assert request.schema["properties"]["evidence"]["items"]["enum"] == ["2.1"]
    assert "(2.1) Sweden joined NATO" in request.messages[-1]["content"]
    assert "Finland" not in request.messages[-1]["content"]


def test_rationale_is_asked_for_only_when_configured(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("supported", ["1.2"], "It matches."))
    verdict = run_judge(make_judge(judge_prompt, chat, rationale=True)).verdict
    assert list(chat.requests[0].schema["properties"]) == ["label", "evidence", "rationale"]
    assert verdict.rationale == "It matches."


def test_sentence_id_evidence_becomes_an_exact_citation(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("supported", ["1.2", " 2.1 "]))
    verdict = run_judge(make_judge(judge_prompt, chat)).verdict
    assert verdict.label == Label.SUPPORTED
    assert verdict.downgraded_from is None
    assert [(c.passage_id, c.quote) for c in verdict.citations] == [
        ("p-finland", "It became the 31st member of the Alliance."),
        ("p-sweden", "Sweden joined NATO on 7 March 2024."),
    ]
    first = verdict.citations[0]
    assert PASSAGES[0].text[first.start : first.start + len(first.quote)] == first.quote
    assert verdict.retrieved_passage_ids == ["p-finland", "p-sweden"]
    assert verdict.claim_id == "c001"


def test_supported_with_only_an_invalid_sentence_id_is_downgraded(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("supported", ["9.9"]))
    verdict = run_judge(make_judge(judge_prompt, chat)).verdict
    assert verdict.label == Label.UNVERIFIABLE
    assert verdict.model_label == Label.SUPPORTED
    assert verdict.downgraded_from == Label.SUPPORTED
    assert verdict.downgrade_reason
    assert verdict.citations == []
    assert [d.quote for d in verdict.dropped_citations] == ["9.9"]


def test_disputed_without_any_evidence_is_downgraded(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("disputed", []))
    verdict = run_judge(make_judge(judge_prompt, chat)).verdict
    assert (verdict.label, verdict.downgraded_from) == (Label.UNVERIFIABLE, Label.DISPUTED)
    assert verdict.downgrade_reason


def test_unverifiable_without_valid_evidence_is_not_a_downgrade(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("unverifiable", ["7.1"]))
    verdict = run_judge(make_judge(judge_prompt, chat)).verdict
    assert verdict.label == Label.UNVERIFIABLE
    assert verdict.downgraded_from is None


def test_supported_claim_with_a_figure_in_no_passage_is_downgraded(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("supported", ["1.1", "1.2"]))
    judge = make_judge(judge_prompt, chat)
    verdict = asyncio.run(
        judge.judge("c002", "Finland joined NATO on 4 April 2022 as the 31st member.", PASSAGES)
    ).verdict
    assert (verdict.label, verdict.downgraded_from) == (Label.UNVERIFIABLE, Label.SUPPORTED)
    assert verdict.downgrade_reason and verdict.downgrade_reason.endswith(": 2022")
    assert verdict.citations[0].quote == "Finland joined NATO on 4 April 2023."  # kept, for the editor


def test_figure_check_reads_the_cited_sentences_not_every_passage(judge_prompt: PromptTemplate):
    # 2023 is in passage 1 but not in the cited sentence of passage 2: the citation decides
    chat = FakeChatModel().enqueue(answer("supported", ["2.1"]))
    verdict = asyncio.run(make_judge(judge_prompt, chat).judge("c1", "Sweden joined NATO in 2023.", PASSAGES)).verdict
    assert (verdict.label, verdict.downgraded_from) == (Label.UNVERIFIABLE, Label.SUPPORTED)
    assert verdict.downgrade_reason == "figures of the claim stated in no cited sentence: 2023"


def test_a_cited_sentence_that_leans_on_the_one_before_is_checked_with_it(judge_prompt: PromptTemplate):
    # "It became the 31st member" names no country and no date: they are in sentence 1.1
    chat = FakeChatModel().enqueue(answer("supported", ["1.2"]))
    verdict = run_judge(make_judge(judge_prompt, chat)).verdict
    assert verdict.label == Label.SUPPORTED and verdict.downgraded_from is None


def test_name_check_downgrades_support_for_an_actor_in_no_cited_sentence(judge_prompt: PromptTemplate):
    claim = "Hungary joined NATO on 7 March 2024."
    chat = FakeChatModel().enqueue(answer("supported", ["2.1"]), answer("supported", ["2.1"]))
    verdict = asyncio.run(make_judge(judge_prompt, chat).judge("c1", claim, PASSAGES)).verdict
    assert (verdict.label, verdict.downgraded_from) == (Label.UNVERIFIABLE, Label.SUPPORTED)
    assert verdict.downgrade_reason == "names of the claim in no cited sentence: hungary"
    assert verdict.rationale == ""  # the model argued for 'supported'
    off = asyncio.run(make_judge(judge_prompt, chat, name_check=False).judge("c2", claim, PASSAGES)).verdict
    assert off.label == Label.SUPPORTED


def test_figure_check_leaves_disputed_alone_and_can_be_switched_off(judge_prompt: PromptTemplate):
    claim = "Finland joined NATO on 4 April 2022."
    chat = FakeChatModel().enqueue(answer("disputed", ["1.1"]), answer("supported", ["1.1"]))
    disputed = asyncio.run(make_judge(judge_prompt, chat).judge("c1", claim, PASSAGES)).verdict
    assert disputed.label == Label.DISPUTED and disputed.downgraded_from is None
    off = asyncio.run(make_judge(judge_prompt, chat, figure_check=False).judge("c2", claim, PASSAGES)).verdict
    assert off.label == Label.SUPPORTED


def test_label_probabilities_from_logprobs_give_the_confidence(judge_prompt: PromptTemplate):
    logprobs = {"supported": math.log(0.7), "disputed": math.log(0.2), "unverifiable": math.log(0.1)}
    chat = FakeChatModel(label_logprobs=logprobs).enqueue(answer("supported", ["1.2"]))
    verdict = run_judge(make_judge(judge_prompt, chat)).verdict
    assert chat.requests[0].logprobs is True
    assert verdict.label == Label.SUPPORTED
    assert verdict.confidence == pytest.approx(0.7)
    assert verdict.label_probs == pytest.approx({Label.SUPPORTED: 0.7, Label.DISPUTED: 0.2, Label.UNVERIFIABLE: 0.1})


def test_without_logprobs_there_is_no_confidence(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("supported", ["1.2"]))
    verdict = run_judge(make_judge(judge_prompt, chat, logprobs=False)).verdict
    assert chat.requests[0].logprobs is False
    assert verdict.confidence is None
    assert verdict.label_probs is None


def test_calibration_priors_can_flip_the_label(judge_prompt: PromptTemplate):
    # The model favours 'supported' (0.6) over 'disputed' (0.3), but it says 'supported' 90% of the
    # time on the calibration set and 'disputed' 5%: corrected, 'disputed' wins (0.3/0.05 > 0.6/0.9).
    logprobs = {"supported": math.log(0.6), "disputed": math.log(0.3), "unverifiable": math.log(0.1)}
    calibration = Calibration(
        model="fake-chat",
        prompt_hash=judge_prompt.sha256,
        priors={Label.SUPPORTED: 0.9, Label.DISPUTED: 0.05, Label.UNVERIFIABLE: 0.05},
        source="test",
    )
    chat = FakeChatModel(label_logprobs=logprobs).enqueue(answer("supported", ["1.2"], "It matches."))
    verdict = run_judge(make_judge(judge_prompt, chat, calibration)).verdict
    assert verdict.label == Label.DISPUTED
    assert verdict.model_label == Label.SUPPORTED
    assert verdict.downgraded_from is None
    assert verdict.rationale == ""  # written for 'supported', so not shown beside 'disputed'
    assert verdict.confidence == pytest.approx(verdict.label_probs[Label.DISPUTED])
    assert verdict.confidence > 0.5


def test_calibration_that_agrees_with_the_model_keeps_the_label(judge_prompt: PromptTemplate):
    logprobs = {"supported": math.log(0.6), "disputed": math.log(0.3), "unverifiable": math.log(0.1)}
    calibration = Calibration(
        model="fake-chat",
        prompt_hash=judge_prompt.sha256,
        priors={Label.SUPPORTED: 1 / 3, Label.DISPUTED: 1 / 3, Label.UNVERIFIABLE: 1 / 3},
        source="test",
    )
    chat = FakeChatModel(label_logprobs=logprobs).enqueue(answer("supported", ["1.2"], "It matches."))
    verdict = run_judge(make_judge(judge_prompt, chat, calibration)).verdict
    assert verdict.label == Label.SUPPORTED
    assert verdict.rationale == "It matches."


def test_invalid_json_twice_raises_invalid_output_error(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue("not json", '{"label": "supported", ')
    with pytest.raises(InvalidOutputError):
        run_judge(make_judge(judge_prompt, chat, max_reasks=1))
    assert len(chat.requests) == 2


def test_invalid_json_then_valid_answer_succeeds_on_reask(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue("not json", answer("supported", ["1.1"]))
    judgement = run_judge(make_judge(judge_prompt, chat, max_reasks=1))
    assert judgement.attempts == 2
    assert judgement.usage.calls == 2
    assert judgement.verdict.citations[0].quote == "Finland joined NATO on 4 April 2023."


def test_unknown_label_is_rejected(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(answer("true", ["1.1"]), answer("maybe", ["1.1"]))
    with pytest.raises(InvalidOutputError):
        run_judge(make_judge(judge_prompt, chat, max_reasks=1))


def test_code_cites_the_closest_sentence_when_the_model_writes_only_the_label(judge_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue({"label": "disputed"})
    judge = make_judge(judge_prompt, chat, model_cites=False)
    verdict = asyncio.run(judge.judge("c1", "Sweden joined NATO on 7 March 2023.", PASSAGES)).verdict
    assert list(chat.requests[0].schema["properties"]) == ["label"]
    assert chat.requests[0].max_tokens <= 16
    assert verdict.label == Label.DISPUTED
    assert [c.quote for c in verdict.citations] == ["Sweden joined NATO on 7 March 2024."]


def test_code_citation_adds_a_close_sentence_when_the_first_lacks_a_figure(judge_prompt: PromptTemplate):
    claim = "Finland joined NATO in April 2023 and Sweden in March 2024."
    chat = FakeChatModel().enqueue({"label": "supported"}, {"label": "supported"})
    verdict = asyncio.run(make_judge(judge_prompt, chat, model_cites=False).judge("c1", claim, PASSAGES)).verdict
    assert verdict.label == Label.SUPPORTED and verdict.downgraded_from is None
    assert {c.quote for c in verdict.citations} == {
        "Finland joined NATO on 4 April 2023.",
        "Sweden joined NATO on 7 March 2024.",
    }
    claim = "Finland joined NATO in April 2023 and Sweden in March 2025."
    verdict = asyncio.run(make_judge(judge_prompt, chat, model_cites=False).judge("c2", claim, PASSAGES)).verdict
    assert (verdict.label, verdict.downgraded_from) == (Label.UNVERIFIABLE, Label.SUPPORTED)
    assert verdict.downgrade_reason == "figures of the claim stated in no cited sentence: 2025"


def _continuation(label_logprobs: dict[str, float] | None):
    """An answer to a continued request: one label token and its alternatives, or (None) a server
    that wrote something else."""
    from verify.llm import ChatResult, TokenLogprob
    from verify.models import Usage

    def reply(request):
        assert request.schema is None and request.max_tokens == 1 and request.messages[-1]["role"] == "assistant"
        if label_logprobs is None:
            return ChatResult(text="Sure", usage=Usage(calls=1), logprobs=[TokenLogprob("Sure", 0.0)])
        top = tuple(sorted(label_logprobs.items(), key=lambda kv: -kv[1]))
        usage = Usage(calls=1, completion_tokens=1)
        return ChatResult(text=top[0][0], usage=usage, logprobs=[TokenLogprob(*top[0], top)])

    return reply


def test_a_continued_label_answer_costs_one_call_and_gives_the_label_probabilities(judge_prompt: PromptTemplate):
    chat = FakeChatModel()
    chat.enqueue(_continuation({"supported": math.log(0.7), "disputed": math.log(0.2), "unverifiable": math.log(0.1)}))
    judgement = run_judge(make_judge(judge_prompt, chat, model_cites=False, prefill=True))
    assert len(chat.requests) == 1 and judgement.usage.calls == 1
    assert judgement.verdict.label == Label.SUPPORTED
    raw = judgement.verdict.label_probs_raw
    assert raw is not None and raw[Label.SUPPORTED] == pytest.approx(0.7) and raw[Label.DISPUTED] == pytest.approx(0.2)
    assert judgement.verdict.citations  # code cites the closest sentence, as on the schema path


def test_a_server_that_does_not_continue_the_answer_falls_back_to_the_schema(judge_prompt: PromptTemplate):
    logprobs = {"supported": math.log(0.8), "disputed": math.log(0.1), "unverifiable": math.log(0.1)}
    chat = FakeChatModel(label_logprobs=logprobs)
    chat.enqueue(_continuation(None), {"label": "supported"})
    judgement = run_judge(make_judge(judge_prompt, chat, model_cites=False, prefill=True))
    assert [r.schema is None for r in chat.requests] == [True, False]
    assert judgement.usage.calls == 2 and judgement.verdict.label == Label.SUPPORTED


def test_support_under_the_minimum_probability_becomes_unverifiable(judge_prompt: PromptTemplate):
    logprobs = {"supported": math.log(0.6), "disputed": math.log(0.1), "unverifiable": math.log(0.3)}
    for floor, expected in ((0.5, Label.SUPPORTED), (0.7, Label.UNVERIFIABLE)):
        chat = FakeChatModel(label_logprobs=logprobs).enqueue({"label": "supported"})
        verdict = run_judge(make_judge(judge_prompt, chat, model_cites=False, min_support=floor)).verdict
        assert verdict.label == expected
        if expected == Label.UNVERIFIABLE:
            assert verdict.downgraded_from == Label.SUPPORTED and "under the 0.70" in (verdict.downgrade_reason or "")
            assert verdict.confidence == pytest.approx(0.3)
