from __future__ import annotations

import asyncio
import json

import pytest

from verify.extraction import ClaimExtractor, ExtractionResult, make_windows
from verify.models import ClaimKind
from verify.prompts import PromptTemplate
from verify.sentences import split_sentences
from verify.testing import FakeChatModel

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
        {"claims": [claim(2, "Sweden joined NATO on 7 March 2024"), claim(3, "Hungary approved the bid")]}
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
    chat = FakeChatModel().enqueue({"claims": []})
    extract(extract_prompt, chat)
    user = chat.requests[0].messages[-1]["content"]
    for number, sentence in enumerate([S1, S2, S3, S4], 1):
        assert f"TARGET {number}: {sentence}" in user
    assert chat.requests[0].schema_name == "claims"


def test_kinds_are_kept_and_only_facts_are_checkable(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(
        {"claims": [claim(1, "Finland joined NATO on 4 April 2023"), claim(4, S4, "opinion")]}
    )
    result = extract(extract_prompt, chat)
    assert [(c.kind, c.checkable) for c in result.claims] == [
        (ClaimKind.FACT, True),
        (ClaimKind.OPINION, False),
    ]


def test_ungrounded_claim_is_dropped_and_reported(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(
        {
            "claims": [
                claim(1, "Finland joined NATO on 4 April 2023"),
                claim(1, "The moon is made of green cheese"),
            ]
        }
    )
    result = extract(extract_prompt, chat)
    assert [c.text for c in result.claims] == ["Finland joined NATO on 4 April 2023"]
    assert len(result.dropped) == 1
    assert "moon is made of green cheese" in result.dropped[0]


def test_sentence_outside_the_window_triggers_a_reask_with_the_error(extract_prompt: PromptTemplate):
    bad = {"claims": [claim(3, "Hungary approved the bid")]}  # sentence 3 is not in window 1 (1-2)
    chat = FakeChatModel().enqueue(
        bad,
        {"claims": [claim(1, "Finland joined NATO on 4 April 2023")]},
        {"claims": [claim(3, "Hungary approved the Swedish bid")]},
    )
    result = extract(extract_prompt, chat, window=2, context=0)
    assert len(chat.requests) == 3
    reask = chat.requests[1].messages
    assert reask[-2] == {"role": "assistant", "content": json.dumps(bad)}
    assert "[3]" in reask[-1]["content"]
    assert "TARGET" in reask[-1]["content"]
    assert [c.sentence for c in result.claims] == [S1, S3]
    assert result.failed_windows == []


def test_window_still_invalid_after_max_reasks_is_reported_not_raised(extract_prompt: PromptTemplate):
    bad = {"claims": [claim(4, "The enlargement was a provocation", "opinion")]}
    chat = FakeChatModel().enqueue(bad, bad, {"claims": [claim(3, "Hungary approved the Swedish bid")]})
    result = extract(extract_prompt, chat, window=2, context=0, max_reasks=1)
    assert len(chat.requests) == 3
    assert len(result.failed_windows) == 1
    first, last, message = result.failed_windows[0]
    assert (first, last) == (1, 2)
    assert "[4]" in message
    assert [c.sentence for c in result.claims] == [S3]


def test_duplicate_claims_across_windows_are_removed(extract_prompt: PromptTemplate):
    text = "Finland joined NATO in 2023. Officials said Finland joined NATO in 2023."
    chat = FakeChatModel().enqueue(
        {"claims": [claim(1, "Finland joined NATO in 2023")]},
        {"claims": [claim(2, "Finland joined NATO in 2023")]},
    )
    result = extract(extract_prompt, chat, text, window=1, context=0)
    assert len(chat.requests) == 2
    assert [(c.id, c.sentence) for c in result.claims] == [("c001", "Finland joined NATO in 2023.")]


def test_claim_ids_follow_article_order_not_answer_order(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue(
        {
            "claims": [
                claim(2, "Sweden joined NATO on 7 March 2024"),
                claim(1, "Finland joined NATO on 4 April 2023"),
            ]
        },
        {
            "claims": [
                claim(4, S4, "opinion"),
                claim(3, "Hungary approved the Swedish bid by 188 votes to 6"),
            ]
        },
    )
    result = extract(extract_prompt, chat, window=2, context=0)
    assert [c.id for c in result.claims] == ["c001", "c002", "c003", "c004"]
    assert [c.sentence for c in result.claims] == [S1, S2, S3, S4]


def test_usage_and_raw_outputs_cover_every_window(extract_prompt: PromptTemplate):
    chat = FakeChatModel().enqueue({"claims": []}, {"claims": []})
    result = extract(extract_prompt, chat, window=2, context=1)
    assert result.windows == 2
    assert result.usage.calls == 2
    assert result.raw_outputs == ['{"claims": []}', '{"claims": []}']
