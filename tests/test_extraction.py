from __future__ import annotations

import asyncio
import json
import math
from datetime import date

import pytest

from verify.dates import find_article_date
from verify.errors import AuthenticationError, BackendError
from verify.extraction import ClaimExtractor, ExtractionResult, make_windows
from verify.kinds import KindClassifier, checkable_probability, kind_for
from verify.llm import ChatResult, TokenLogprob
from verify.models import ClaimKind, Usage
from verify.prompts import PromptTemplate
from verify.sentences import split_sentences
from verify.testing import FakeChatModel, extraction_answer

ARTICLE = (
    "Finland joined NATO on 4 April 2023. "
    "Sweden joined NATO on 7 March 2024. "
    "Hungary approved the Swedish bid by 188 votes to 6. "
    "The enlargement was a reckless provocation."
)
S1, S2, S3, S4 = (
    "Finland joined NATO on 4 April 2023.",
    "Sweden joined NATO on 7 March 2024.",
    "Hungary approved the Swedish bid by 188 votes to 6.",
    "The enlargement was a reckless provocation.",
)


def extract(
    prompt: PromptTemplate,
    chat: FakeChatModel,
    text: str = ARTICLE,
    *,
    window: int = 10,
    context: int = 3,
    max_reasks: int = 1,
) -> ExtractionResult:
    extractor = ClaimExtractor(chat, prompt, window_sentences=window, context_sentences=context, max_reasks=max_reasks)
    return asyncio.run(extractor.extract(text))


def claim(sentence: int, text: str, kind: str = "fact") -> dict:
    return {"sentence": sentence, "claim": text, "kind": kind}


@pytest.mark.parametrize(("count", "size", "context"), [(23, 10, 3), (10, 10, 3), (7, 3, 0), (5, 1, 2), (1, 4, 4)])
def test_make_windows_targets_every_sentence_exactly_once(count: int, size: int, context: int):
    sentences = split_sentences(" ".join(f"Sentence number {i} is here." for i in range(count)))
    assert len(sentences) == count
    windows = make_windows(sentences, size, context)
    targets = [s.index for w in windows for s in w.targets]
    assert targets == list(range(count))
    assert all(1 <= len(w.targets) <= size for w in windows)


def test_make_windows_context_is_the_sentences_just_before_the_targets():
    sentences = split_sentences(" ".join(f"Sentence number {i} is here." for i in range(12)))
    windows = make_windows(sentences, 5, 2)
    assert [s.index for s in windows[0].context] == []
    assert [s.index for s in windows[1].context] == [3, 4]
    assert [s.index for s in windows[2].context] == [8, 9]


def test_claims_get_the_exact_span_of_their_sentence(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(
        extraction_answer([claim(2, "Sweden joined NATO on 7 March 2024"), claim(3, "Hungary approved the bid")])
    )
    result = extract(extract_prompt, chat)
    assert [c.sentence for c in result.claims] == [S2, S3]
    for c, sentence in zip(result.claims, [S2, S3], strict=True):
        assert (c.span.start, c.span.end) == (
            ARTICLE.index(sentence),
            ARTICLE.index(sentence) + len(sentence),
        )
        assert ARTICLE[c.span.start : c.span.end] == c.sentence


def test_the_prompt_shows_every_target_sentence_numbered(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(extraction_answer([]))
    extract(extract_prompt, chat)
    user = chat.requests[0].messages[-1]["content"]
    for number, sentence in enumerate([S1, S2, S3, S4], 1):
        assert f"TARGET {number}: {sentence}" in user
    assert chat.requests[0].schema_name == "claims"


def test_kinds_are_kept_and_only_facts_are_checkable(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(
        extraction_answer([claim(1, "Finland joined NATO on 4 April 2023"), claim(4, S4, "opinion")])
    )
    result = extract(extract_prompt, chat)
    assert [(c.kind, c.checkable) for c in result.claims] == [
        (ClaimKind.FACT, True),
        (ClaimKind.OPINION, False),
    ]


def test_ungrounded_claim_is_dropped_and_reported(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(
        extraction_answer(
            [
                claim(1, "Finland joined NATO on 4 April 2023"),
                claim(1, "The moon is made of green cheese"),
            ]
        )
    )
    result = extract(extract_prompt, chat)
    assert [c.text for c in result.claims] == ["Finland joined NATO on 4 April 2023"]
    assert len(result.dropped) == 1
    assert "moon is made of green cheese" in result.dropped[0]


def test_sentence_outside_the_window_triggers_a_reask_with_the_error(extract_prompt: PromptTemplate):
    bad = extraction_answer([claim(3, "Hungary approved the bid")])  # sentence 3 is not in window 1 (1-2)
    chat = FakeChatModel().enqueue(
        bad,
        extraction_answer([claim(1, "Finland joined NATO on 4 April 2023")]),
        extraction_answer([claim(3, "Hungary approved the Swedish bid")]),
    )
    result = extract(extract_prompt, chat, window=2, context=0)
    assert len(chat.requests) == 3
    reask = chat.requests[1].messages
    assert reask[-2] == {"role": "assistant", "content": json.dumps(bad)}
    assert "[3]" in reask[-1]["content"]
    assert "TARGET" in reask[-1]["content"]
    assert [c.sentence for c in result.claims] == [S1, S3]
    assert result.failures == []


def test_window_still_invalid_after_max_reasks_is_reported_not_raised(extract_prompt: PromptTemplate):
    bad = extraction_answer([claim(4, "The enlargement was a provocation", "opinion")])
    chat = FakeChatModel().enqueue(bad, bad, extraction_answer([claim(3, "Hungary approved the Swedish bid")]))
    result = extract(extract_prompt, chat, window=2, context=0, max_reasks=1)
    assert len(chat.requests) == 3
    assert len(result.failures) == 1
    failure = result.failures[0]
    assert (failure.first_sentence, failure.last_sentence) == (1, 2)
    assert failure.error_type == "InvalidOutputError"
    assert "[4]" in failure.message
    assert [c.sentence for c in result.claims] == [S3]


def test_duplicate_claims_across_windows_are_removed(extract_prompt: PromptTemplate):
    text = "Finland joined NATO in 2023. Officials said Finland joined NATO in 2023."
    chat = FakeChatModel().enqueue(
        extraction_answer([claim(1, "Finland joined NATO in 2023")]),
        extraction_answer([claim(2, "Finland joined NATO in 2023")]),
    )
    result = extract(extract_prompt, chat, text, window=1, context=0)
    assert len(chat.requests) == 2
    assert [(c.id, c.sentence) for c in result.claims] == [("c001", "Finland joined NATO in 2023.")]


def test_claim_ids_follow_article_order_not_answer_order(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(
        extraction_answer(
            [
                claim(2, "Sweden joined NATO on 7 March 2024"),
                claim(1, "Finland joined NATO on 4 April 2023"),
            ]
        ),
        extraction_answer(
            [
                claim(4, S4, "opinion"),
                claim(3, "Hungary approved the Swedish bid by 188 votes to 6"),
            ]
        ),
    )
    result = extract(extract_prompt, chat, window=2, context=0)
    assert [c.id for c in result.claims] == ["c001", "c002", "c003", "c004"]
    assert [c.sentence for c in result.claims] == [S1, S2, S3, S4]


def test_usage_and_raw_outputs_cover_every_window(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(extraction_answer([]), extraction_answer([]))
    result = extract(extract_prompt, chat, window=2, context=1)
    assert result.windows == 2
    assert result.usage.calls == 2
    assert result.raw_outputs == ['{"claims": []}', '{"claims": []}']


# ----- failures, truncation, dates, headlines and questions -----------------------------------------


def test_a_transport_error_fails_its_window_only(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(
        BackendError("the model endpoint timed out"),
        extraction_answer([claim(3, "Hungary approved the Swedish bid by 188 votes to 6")]),
    )
    result = extract(extract_prompt, chat, window=2, context=0)
    assert [c.sentence for c in result.claims] == [S3]
    assert len(result.failures) == 1
    failure = result.failures[0]
    assert (failure.first_sentence, failure.last_sentence, failure.error_type) == (1, 2, "BackendError")
    assert "timed out" in failure.message


def test_a_fatal_error_still_stops_the_article(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(AuthenticationError("rejected"), extraction_answer([]))
    with pytest.raises(AuthenticationError):
        extract(extract_prompt, chat, window=2, context=0)


def test_an_answer_cut_by_the_token_limit_is_split_and_redone_not_reasked(extract_prompt: PromptTemplate):
    cut = ChatResult(text='{"claims": [{"sentence": 1, "claim": "Finl', usage=Usage(calls=1), finish_reason="length")
    chat = FakeChatModel().enqueue(
        cut,
        extraction_answer([claim(1, "Finland joined NATO on 4 April 2023")]),
        extraction_answer([claim(2, "Sweden joined NATO on 7 March 2024")]),
    )
    result = extract(extract_prompt, chat, text=f"{S1} {S2}", window=2, context=0)
    assert len(chat.requests) == 3  # the cut answer was not re-asked: its window was redone as two halves
    first_half, second_half = (r.messages[-1]["content"] for r in chat.requests[1:])
    assert "TARGET 1:" in first_half and "TARGET 2:" not in first_half
    assert "TARGET 2:" in second_half and "CONTEXT 1:" in second_half
    assert [c.sentence for c in result.claims] == [S1, S2]
    assert result.failures == []
    assert result.usage.calls == 3


def test_a_single_sentence_cut_by_the_token_limit_is_a_window_failure(extract_prompt: PromptTemplate):
    cut = ChatResult(text='{"claims": [', usage=Usage(calls=1), finish_reason="length")
    chat = FakeChatModel().enqueue(cut, extraction_answer([]), extraction_answer([]), extraction_answer([]))
    result = extract(extract_prompt, chat, window=1, context=0)
    assert len(chat.requests) == 4  # no re-ask of the cut answer with the same budget
    assert [(f.first_sentence, f.error_type) for f in result.failures] == [(1, "TruncatedOutputError")]


def test_the_article_date_is_in_the_prompt_after_the_fixed_instructions(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(extraction_answer([]))
    extractor = ClaimExtractor(chat, extract_prompt, window_sentences=10, context_sentences=3, max_reasks=0)
    asyncio.run(extractor.extract(ARTICLE, article_date=find_article_date(ARTICLE, "2023-12-06")))
    system, user = chat.requests[0].messages
    assert "2023" not in system["content"].split("Example.")[0]  # nothing per-article before the fixed part
    assert user["content"].startswith("Article date: 6 December 2023 (Wednesday).")


def test_without_a_date_the_prompt_says_it_is_unknown(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(extraction_answer([]))
    extract(extract_prompt, chat)
    assert chat.requests[0].messages[-1]["content"].startswith("Article date: unknown.")


HEADLINED = "Thirty-One Steps East: the bloc marches on\n\nMOSCOW, 6 December 2023 — " + ARTICLE + " Who benefits?"


def test_the_headline_is_context_never_a_target(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(extraction_answer([claim(2, "Finland joined NATO on 4 April 2023")]))
    result = extract(extract_prompt, chat, text=HEADLINED)
    user = chat.requests[0].messages[-1]["content"]
    assert "CONTEXT 1: Thirty-One Steps East" in user
    assert "TARGET 1:" not in user
    assert result.headline == "Thirty-One Steps East: the bloc marches on"


@pytest.mark.parametrize("model_kind", ["fact", "other"])
def test_a_claim_from_a_question_is_set_aside_as_other(extract_prompt: PromptTemplate, model_kind: str):
    chat = FakeChatModel().enqueue(extraction_answer([claim(6, "Who benefits?", model_kind)]))
    result = extract(extract_prompt, chat, text=HEADLINED)
    assert [(c.kind, c.kind_reason, c.checkable) for c in result.claims] == [(ClaimKind.OTHER, "question", False)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Headline here\n\nMOSCOW, 6 December 2023 — The bloc met.", date(2023, 12, 6)),
        ("Headline\n\nMoscow, December 6, 2023 (agency) – The bloc met.", date(2023, 12, 6)),
        ("Headline\n\nPublished: 2024-02-02\n\nThe bloc met.", date(2024, 2, 2)),
        ("Headline\n\nMoscow, 03.01.2024 — The bloc met.", date(2024, 1, 3)),
        ("Headline\n\nMoscow, November 15 (agency) – The bloc met.", None),  # no year: not a known date
        ("Headline\n\nHalf a year has passed since the summit of 11-12 July 2023 in Vilnius.", None),  # an event
        ("Headline\n\nThe bloc met.\n\nOn 4 April 2023 Finland joined.", None),
    ],
)
def test_the_article_date_is_read_from_the_dateline_only(text: str, expected: date | None):
    found = find_article_date(text)
    assert (found.value if found else None) == expected


def test_a_given_date_wins_over_the_dateline():
    found = find_article_date("Headline\n\nMOSCOW, 6 December 2023 — The bloc met.", "2024-01-02")
    assert found is not None and found.value == date(2024, 1, 2) and found.source == "given"


# ----- the kind classifier ------------------------------------------------------------------------


def test_checkable_probability_is_read_from_the_boolean_token():
    logprobs = [
        TokenLogprob('{"checkable": ', 0.0),
        TokenLogprob("false", math.log(0.7), (("false", math.log(0.7)), ("true", math.log(0.2)), ("tr", -9.0))),
        TokenLogprob("}", 0.0),
    ]
    assert checkable_probability(logprobs) == pytest.approx(0.2 / 0.9)
    assert checkable_probability(None) is None


@pytest.mark.parametrize(
    ("extracted", "probability", "text", "expected"),
    [
        (ClaimKind.FACT, 0.9, "Finland joined NATO in 2023.", ClaimKind.FACT),
        (ClaimKind.OPINION, 0.9, "Finland joined NATO in 2023.", ClaimKind.FACT),
        (ClaimKind.FACT, 0.1, "The summit was a farce.", ClaimKind.OPINION),
        (ClaimKind.FACT, 0.1, "The council will change nothing.", ClaimKind.PREDICTION),
        (ClaimKind.OTHER, 0.1, "Who believes that?", ClaimKind.OTHER),
        (ClaimKind.FACT, None, "no answer", ClaimKind.FACT),
    ],
)
def test_kind_from_the_classifier_probability(extracted, probability, text, expected):
    assert kind_for(extracted, probability, 0.5, text) == expected


def with_kind_step(chat: FakeChatModel, extract_prompt: PromptTemplate) -> ClaimExtractor:
    classify = PromptTemplate("classify_claim", "Sort statements.", "Statement: {claim}", "0" * 64)
    return ClaimExtractor(
        chat,
        extract_prompt,
        window_sentences=10,
        context_sentences=3,
        max_reasks=0,
        classifier=KindClassifier(chat, classify, max_reasks=0),
    )


def test_the_classifier_sets_kinds_and_its_failure_keeps_the_extractors(extract_prompt: PromptTemplate):

    def route(request):
        if "reckless" in request.messages[-1]["content"]:
            raise BackendError("the model endpoint timed out")
        return {"checkable": "Hungary" not in request.messages[-1]["content"]}

    chat = FakeChatModel().enqueue(
        extraction_answer(
            [
                claim(1, "Finland joined NATO on 4 April 2023", "opinion"),
                claim(3, "Hungary approved the Swedish bid by 188 votes to 6"),
                claim(4, "The enlargement was a reckless provocation"),
            ]
        ),
        route,
        route,
        route,
    )
    extractor = with_kind_step(chat, extract_prompt)
    result = asyncio.run(extractor.extract(ARTICLE))
    assert [(c.kind, c.model_kind, c.checkable_prob) for c in result.claims] == [
        (ClaimKind.FACT, ClaimKind.OPINION, 1.0),
        (ClaimKind.OPINION, ClaimKind.FACT, 0.0),
        (ClaimKind.FACT, ClaimKind.FACT, None),  # the classifier failed: the extractor's kind stays
    ]
    assert result.claims[1].kind_reason == "classifier: P(checkable) 0.00"
    assert any("kind not classified" in note for note in result.dropped)
    assert result.usage.calls == 1 + 2
    assert result.windows == 1  # the kind step's calls are usage, not windows


def test_the_kind_step_never_turns_a_question_into_a_fact(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(extraction_answer([claim(6, "Who benefits?", "other")]), {"checkable": True})
    extractor = with_kind_step(chat, extract_prompt)
    result = asyncio.run(extractor.extract(HEADLINED))
    assert [(c.kind, c.kind_reason) for c in result.claims] == [(ClaimKind.OTHER, "question")]
    assert chat.pending == 1  # the question was not even sent to the kind step


# ----- the kind read from the extractor's own logprobs --------------------------------------------


def with_kind_tokens(answer: dict, fact_probs: list[float]) -> ChatResult:
    """The answer as tokens, each kind value one token whose alternatives give P(fact) and P(opinion)."""
    text = json.dumps(answer)
    pieces = text.split('"kind": "')
    tokens = [TokenLogprob(pieces[0] + '"kind": "', 0.0)]
    for i, (piece, p) in enumerate(zip(pieces[1:], fact_probs, strict=True)):
        value, rest = piece.split('"', 1)
        top = (("fact", math.log(p)), ("opinion", math.log(1 - p)), ("other", -20.0))
        rest = '"' + rest + ('"kind": "' if i < len(fact_probs) - 1 else "")
        tokens += [TokenLogprob(value, dict(top).get(value, -20.0), top), TokenLogprob(rest, 0.0)]
    return ChatResult(text=text, usage=Usage(calls=1), logprobs=tokens)


def test_kind_positions_are_found_in_the_token_texts():
    from verify.kinds import kind_distributions

    answer = {"1": [{"claim": "A kind of deal", "kind": "fact"}], "2": [{"claim": "x y z", "kind": "opinion"}]}
    result = with_kind_tokens(answer, [0.8, 0.3])
    probs = kind_distributions(result.logprobs)
    assert probs is not None
    assert [round(p[ClaimKind.FACT], 3) for p in probs] == [0.8, 0.3]  # "kind of" in a claim is not a position
    assert kind_distributions(None) is None


def test_the_kind_is_decided_from_the_extractors_p_fact_without_extra_calls(extract_prompt: PromptTemplate):
    answer = extraction_answer(
        [
            claim(1, "Finland joined NATO on 4 April 2023", "opinion"),  # written opinion, P(fact) 0.7
            claim(3, "Hungary approved the Swedish bid by 188 votes to 6"),  # written fact, P(fact) 0.4
            claim(4, "The enlargement was a reckless provocation", "opinion"),
        ]
    )
    chat = FakeChatModel().enqueue(with_kind_tokens(answer, [0.7, 0.4, 0.1]))
    extractor = ClaimExtractor(
        chat,
        extract_prompt,
        window_sentences=10,
        context_sentences=3,
        max_reasks=0,
        checkable_threshold=0.55,
        kind_logprobs=True,
    )
    result = asyncio.run(extractor.extract(ARTICLE))
    assert chat.requests[0].logprobs is True
    assert [(c.kind, c.model_kind, round(c.checkable_prob or 0, 2)) for c in result.claims] == [
        (ClaimKind.FACT, ClaimKind.OPINION, 0.7),
        (ClaimKind.OPINION, ClaimKind.FACT, 0.4),
        (ClaimKind.OPINION, ClaimKind.OPINION, 0.1),
    ]
    assert result.claims[1].kind_reason == "extractor's P(fact) 0.40"
    assert result.usage.calls == 1


def test_without_kind_logprobs_the_kinds_stay_as_written(extract_prompt: PromptTemplate):
    answer = extraction_answer([claim(1, "Finland joined NATO on 4 April 2023", "opinion")])
    chat = FakeChatModel().enqueue(ChatResult(text=json.dumps(answer), usage=Usage(calls=1), logprobs=None))
    extractor = ClaimExtractor(
        chat, extract_prompt, window_sentences=10, context_sentences=3, max_reasks=0, kind_logprobs=True
    )
    result = asyncio.run(extractor.extract(ARTICLE))
    assert [(c.kind, c.checkable_prob) for c in result.claims] == [(ClaimKind.OPINION, None)]


# ----- the split step for long claims -------------------------------------------------------------

LONG = (
    "Finland joined NATO on 4 April 2023 and Sweden joined NATO on 7 March 2024, "
    "after Hungary approved the bid by 188 votes to 6."
)


def with_splitter(chat: FakeChatModel, extract_prompt: PromptTemplate) -> ClaimExtractor:
    split = PromptTemplate("split_claim", "Split claims.", "Claim: {claim}", "1" * 64)
    return ClaimExtractor(
        chat, extract_prompt, window_sentences=10, context_sentences=3, max_reasks=0, splitter=split, split_words=20
    )


def test_a_long_fact_claim_is_replaced_by_its_grounded_statements(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(
        extraction_answer([claim(1, LONG), claim(1, "Hungary approved the bid by 188 votes to 6")]),
        {"statements": ["Finland joined NATO on 4 April 2023.", "Sweden joined NATO on 7 March 2024.", "Mars is red."]},
    )
    result = asyncio.run(with_splitter(chat, extract_prompt).extract(LONG))
    assert [c.text for c in result.claims] == [
        "Finland joined NATO on 4 April 2023.",
        "Sweden joined NATO on 7 March 2024.",
        "Hungary approved the bid by 188 votes to 6",  # short: not sent to the split step
    ]
    assert len(chat.requests) == 2 and chat.requests[1].schema_name == "statements"
    assert any("Mars is red" in note for note in result.dropped)  # not grounded in the sentence


def test_a_failed_split_keeps_the_claim_whole(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(extraction_answer([claim(1, LONG)]), BackendError("timed out"))
    result = asyncio.run(with_splitter(chat, extract_prompt).extract(LONG))
    assert [c.text for c in result.claims] == [LONG]
    assert any("split of" in note for note in result.dropped)


@pytest.mark.parametrize(
    ("text", "resolved"),
    [
        ("Yesterday the assembly voted.", "Yesterday (1 March 2024) the assembly voted."),
        ("They meet today and tomorrow.", "They meet today (2 March 2024) and tomorrow (3 March 2024)."),
        ("It was approved last month.", "It was approved last month (February 2024)."),
        ("Deliveries start next month.", "Deliveries start next month (April 2024)."),
        ("Last year the EU paid.", "Last year (2023) the EU paid."),
        ("This week, on Tuesday, it passed.", "This week (the week of 26 February 2024), on Tuesday, it passed."),
        ("Finland applied two years ago.", "Finland applied two years ago (2022)."),
        ("It began 10 years ago.", "It began 10 years ago (2014)."),
        ("the grandchildren of today's Ukrainians", "the grandchildren of today's Ukrainians"),
        ("on Monday, next July, six months later", "on Monday, next July, six months later"),
        ("yesterday (1 March 2024) already", "yesterday (1 March 2024) already"),
    ],
)
def test_relative_times_are_followed_by_the_date_they_mean(text: str, resolved: str):
    from verify.dates import resolve_relative

    assert resolve_relative(text, date(2024, 3, 2)) == resolved


def test_a_relative_month_crosses_the_year():
    from verify.dates import resolve_relative

    assert resolve_relative("last month", date(2024, 1, 10)) == "last month (December 2023)"
    assert resolve_relative("next month", date(2023, 12, 10)) == "next month (January 2024)"
