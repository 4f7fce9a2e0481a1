"""The sentences extractor: each sentence is a claim as written; a sentence that leans on its context
is rewritten to stand alone by one short call, and a bad rewrite keeps the sentence."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from verify.dates import ArticleDate, dateline_prefix
from verify.errors import BackendError
from verify.extraction import MIN_NEUTRAL_KEPT, ClaimExtractor, ExtractionResult, leans_on_context, rewrite_problem
from verify.kinds import KindClassifier
from verify.models import ClaimKind
from verify.prompts import PromptTemplate
from verify.testing import FakeChatModel

REWRITE = PromptTemplate(
    "rewrite_sentence",
    "Rewrite.",
    "{article_date}\n<context>\n{context}\n</context>\n<sentence>{sentence}</sentence>",
    "2" * 64,
)
ARTICLE = (
    "NATO ministers meet in Brussels\n\n"
    "Finland joined NATO on 4 April 2023. "
    "It became the alliance's 31st member. "
    "Who gains from this? "
    "Hungary approved the Swedish bid by 188 votes to 6."
)


def run(
    chat: FakeChatModel, text: str = ARTICLE, rewriter: PromptTemplate | None = REWRITE, **kwargs
) -> ExtractionResult:
    extractor = ClaimExtractor(
        chat,
        None,
        window_sentences=10,
        context_sentences=2,
        max_reasks=0,
        mode="sentences",
        rewriter=rewriter,
        **kwargs,
    )
    return asyncio.run(extractor.extract(text, article_date=ArticleDate(value=date(2023, 11, 28), source="given")))


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        ("Finland joined NATO on 4 April 2023.", False),
        ("It became the 31st member.", True),
        ("His visit lasted two days.", True),
        ("This was a turning point.", True),
        ("The alliance now has 31 members.", True),
        ("Ministers meet today in Brussels.", True),
        ("Six months later Sweden followed.", True),
        ("NATO leaders met in Vilnius on 11 July 2023.", False),
        ("Last July, Ukraine was not invited.", True),
    ],
)
def test_what_leans_on_context(sentence: str, leans: bool):
    assert leans_on_context(sentence) is leans


def test_each_sentence_is_a_claim_and_only_leaning_ones_are_rewritten():
    chat = FakeChatModel().enqueue({"claim": "Finland became NATO's 31st member."})
    result = run(chat)
    assert [c.text for c in result.claims] == [
        "Finland joined NATO on 4 April 2023.",
        "Finland became NATO's 31st member.",
        "Who gains from this?",
        "Hungary approved the Swedish bid by 188 votes to 6.",
    ]
    assert [c.sentence for c in result.claims][1] == "It became the alliance's 31st member."
    assert result.claims[2].kind == ClaimKind.OTHER and result.claims[2].kind_reason == "question"
    assert all(c.model_kind is None for c in result.claims)  # no model wrote these kinds
    assert len(chat.requests) == 1  # the headline is context only, the question is never rewritten
    shown = chat.requests[0].messages[-1]["content"]
    assert "28 November 2023" in shown or "2023-11-28" in shown
    assert "<context>\nNATO ministers meet in Brussels\nFinland joined NATO on 4 April 2023.\n</context>" in shown
    assert "<sentence>It became the alliance's 31st member.</sentence>" in shown


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            {"claim": "Finland became the 31st member of NATO after a vote in the Kremlin's puppet parliament."},
            "adds",
        ),
        ({"claim": "Finland became a member."}, "of the sentence's words kept"),
        (BackendError("the model endpoint timed out"), "rewrite failed"),
    ],
)
def test_a_bad_or_failed_rewrite_keeps_the_sentence_as_written(answer, why: str):
    chat = FakeChatModel().enqueue(answer)
    result = run(chat, "Finland joined NATO on 4 April 2023. It became the alliance's 31st member.")
    assert [c.text for c in result.claims] == [
        "Finland joined NATO on 4 April 2023.",
        "It became the alliance's 31st member.",
    ]
    assert any(why in note for note in result.dropped)
    assert not result.failures  # a sentence kept as written is not a failed window


CLASSIFY = PromptTemplate("classify_claim", "Kinds.", "Claim: {claim}", "3" * 64)


def reckless_is_opinion(calls: int) -> tuple[FakeChatModel, KindClassifier]:
    """A fake model whose kind step keeps every claim as a fact except those with "reckless"."""
    chat = FakeChatModel()
    chat.enqueue(*[lambda r: {"checkable": "reckless" not in r.messages[-1]["content"]}] * calls)
    return chat, KindClassifier(chat, CLASSIFY, max_reasks=0)


def test_the_kind_step_decides_the_kinds_of_sentence_claims():
    chat, classifier = reckless_is_opinion(2)
    result = run(
        chat, "Finland joined NATO on 4 April 2023. The enlargement was a reckless provocation.", classifier=classifier
    )
    assert [(c.kind, c.checkable_prob) for c in result.claims] == [(ClaimKind.FACT, 1.0), (ClaimKind.OPINION, 0.0)]


def test_only_sentences_the_kind_step_keeps_as_facts_are_rewritten():
    def route(request):
        if request.schema_name == "claim":
            return {"claim": "Finland became the alliance's 31st member."}
        return {"checkable": "reckless" not in request.messages[-1]["content"]}

    chat = FakeChatModel()
    chat.enqueue(*[route] * 4)
    result = run(
        chat,
        "Finland joined NATO on 4 April 2023. It became the alliance's 31st member. It was a reckless provocation.",
        classifier=KindClassifier(chat, CLASSIFY, max_reasks=0),
    )
    assert [(c.text, c.kind, c.checkable_prob) for c in result.claims] == [
        ("Finland joined NATO on 4 April 2023.", ClaimKind.FACT, 1.0),
        ("Finland became the alliance's 31st member.", ClaimKind.FACT, 1.0),  # its kind: the sentence's
        ("It was a reckless provocation.", ClaimKind.OPINION, 0.0),  # set aside: never rewritten
    ]
    assert [r.schema_name for r in chat.requests].count("claim") == 1
    assert chat.pending == 0


def test_neutral_rewrites_every_fact_sentence_and_may_drop_loaded_clauses():
    chat = FakeChatModel().enqueue(
        {"claim": "Germany and France signed security agreements on 24 February."},  # drops the sneer
        {"claim": "Hungary approved the Swedish bid, said the NATO chief Jens Stoltenberg."},  # adds names
    )
    result = run(
        chat,
        "Germany and France dutifully signed their security agreements on 24 February, as obedient vassals "
        "always do when summoned by their masters. Hungary approved the Swedish bid.",
        rewrite_all=True,
    )
    assert [c.text for c in result.claims] == [
        "Germany and France signed security agreements on 24 February.",
        "Hungary approved the Swedish bid.",  # the rewrite added words found nowhere: kept as written
    ]
    assert len(chat.requests) == 2  # neither sentence leans on its context; both were rewritten
    assert any("adds" in note and "stoltenberg" in note for note in result.dropped)


def test_split_on_sentences_only_splits_what_the_kind_step_keeps_as_facts():
    split = PromptTemplate("split_claim", "Split.", "{claim}", "4" * 64)
    fact = "NATO's airmen flew more than 38,000 sorties over 78 days and did not lose a single pilot in combat."
    opinion = "The bombing was a cowardly and criminal act that the West will never admit and never repent of."

    def route(request):
        if request.schema_name == "statements":
            return {"statements": ["NATO's airmen flew more than 38,000 sorties.", "NATO did not lose a pilot."]}
        return {"checkable": "cowardly" not in request.messages[-1]["content"]}

    chat = FakeChatModel()
    chat.enqueue(*[route] * 5)
    result = run(
        chat,
        f"{fact} {opinion}",
        rewriter=None,
        classifier=KindClassifier(chat, CLASSIFY, max_reasks=0),
        splitter=split,
        split_words=10,
    )
    assert [(c.text, c.kind == ClaimKind.FACT) for c in result.claims] == [
        ("NATO's airmen flew more than 38,000 sorties.", True),
        ("NATO did not lose a pilot.", True),
        (opinion, False),  # set aside: never split
    ]
    assert [r.schema_name for r in chat.requests].count("statements") == 1


TURKEY = (
    "Only this week, on 26 December, did the committee of the Turkish parliament approve Sweden's accession protocol."
)
MALYAR = "On the flanks of Artyomovsk, Malyar boasted of 440 square kilometres regained."


@pytest.mark.parametrize(
    ("sentence", "rewrite", "problem"),
    [
        (TURKEY, "The Turkish parliament's committee approved Sweden's accession protocol on 26 December.", None),
        (TURKEY, "The Turkish parliament did not approve Sweden's accession protocol.", "negations"),
        (TURKEY, "The Hungarian parliament approved Sweden's accession protocol.", "adds hungarian"),
        (
            MALYAR,
            "Malyar said 440 square kilometres had been regained on the flanks of Artyomovsk.",
            None,
        ),  # "said": "boasted"
        (
            MALYAR,
            "Malyar admitted 440 square kilometres had been lost on the flanks of Artyomovsk.",
            "adds admitted, lost",
        ),
    ],
)
def test_what_a_neutral_rewrite_may_change(sentence: str, rewrite: str, problem: str | None):
    found = rewrite_problem(rewrite, sentence, "", "", min_kept=MIN_NEUTRAL_KEPT)
    assert (found is None) if problem is None else (found is not None and problem in found), found


def test_fact_sentences_state_the_dates_their_relative_times_mean():
    chat, classifier = reckless_is_opinion(3)
    result = run(
        chat,
        "Yesterday the Turkish assembly approved the Swedish bid. Last year it was a reckless provocation. "
        "Hungary voted two years ago.",
        rewriter=None,
        classifier=classifier,
        resolve_dates=True,
    )
    assert [(c.text, c.kind) for c in result.claims] == [
        ("Yesterday (27 November 2023) the Turkish assembly approved the Swedish bid.", ClaimKind.FACT),
        ("Last year it was a reckless provocation.", ClaimKind.OPINION),  # set aside: kept as written
        ("Hungary voted two years ago (2021).", ClaimKind.FACT),
    ]
    assert [c.checkable_prob for c in result.claims] == [1.0, 0.0, 1.0]  # scored as the article words it
    assert result.claims[0].sentence == "Yesterday the Turkish assembly approved the Swedish bid."


def test_fact_sentences_name_the_organisation_the_alliance_stands_for():
    chat, classifier = reckless_is_opinion(3)
    result = run(
        chat,
        "Finland joined NATO on 4 April 2023. The alliance then had 31 members. "
        "The alliance is a reckless provocation.",
        rewriter=None,
        classifier=classifier,
        resolve_referents=True,
    )
    assert [c.text for c in result.claims] == [
        "Finland joined NATO on 4 April 2023.",
        "The alliance (NATO) then had 31 members.",
        "The alliance is a reckless provocation.",  # set aside: kept as written
    ]
    assert result.claims[1].sentence == "The alliance then had 31 members."
    assert [c.checkable_prob for c in result.claims] == [1.0, 1.0, 0.0]


def test_without_an_article_date_relative_times_stay_as_written():
    extractor = ClaimExtractor(
        FakeChatModel(),
        None,
        window_sentences=10,
        context_sentences=2,
        max_reasks=0,
        mode="sentences",
        resolve_dates=True,
    )
    result = asyncio.run(extractor.extract("Yesterday the Turkish assembly approved the Swedish bid."))
    assert [c.text for c in result.claims] == ["Yesterday the Turkish assembly approved the Swedish bid."]


def test_a_quoted_commentator_is_scored_on_the_quoted_words_and_keeps_the_attribution():
    chat = FakeChatModel()
    # the kind step sees "says ... analyst" as a checkable attribution, the quoted judgement alone as opinion
    chat.enqueue(*[lambda r: {"checkable": "says" in r.messages[-1]["content"]}] * 2)
    text = (
        '"The council is a reckless waste of everybody\'s time," says Anna Berg, a political analyst. '
        "Defence Minister Pal Jonson says Sweden joined on 7 March 2024."
    )
    result = run(chat, text, rewriter=None, classifier=KindClassifier(chat, CLASSIFY, max_reasks=0), quoted_kinds=True)
    first, second = result.claims
    assert first.text == first.sentence  # the claim keeps the speaker
    assert (first.kind, first.checkable_prob) == (ClaimKind.OPINION, 0.0)
    assert "quoted commentator" in (first.kind_reason or "")
    assert (second.kind, second.checkable_prob) == (ClaimKind.FACT, 1.0)  # an official's words: an attribution
    asked = [r.messages[-1]["content"] for r in chat.requests]
    assert any("The council is a reckless waste" in a and "Berg" not in a for a in asked)
    assert chat.pending == 0


@pytest.mark.parametrize(
    ("sentence", "prefix"),
    [
        ("MOSCOW, 24 January 2024 \u2014 The bargaining in Ankara is over.", "MOSCOW, 24 January 2024 \u2014 "),
        ("Moscow, November 15 (Tass) \u2013 Eight months of speeches.", "Moscow, November 15 (Tass) \u2013 "),
        ("Moscow, 03.01.2024 \u2014 The bloc has begun the new year.", "Moscow, 03.01.2024 \u2014 "),
        ("Finland - a country of 5 million - joined.", None),  # no place, comma and figure before the dash
        ("Paris, they say, is lovely - for 3 days.", None),
    ],
)
def test_a_dateline_is_where_the_article_was_filed(sentence: str, prefix: str | None):
    assert dateline_prefix(sentence) == prefix


def test_the_dateline_and_a_date_header_are_not_claims():
    chat = FakeChatModel()
    chat.enqueue(*[lambda r: {"checkable": "MOSCOW" in r.messages[-1]["content"]}] * 2)
    text = (
        "NATO ministers meet in Brussels\n\n"
        "Published: 2024-02-02\n\n"
        "MOSCOW, 2 February 2024 \u2014 The Western capitals have found a new way to wage war. "
        "Finland joined NATO on 4 April 2023."
    )
    result = run(chat, text, rewriter=None, classifier=KindClassifier(chat, CLASSIFY, max_reasks=0))
    assert [c.text for c in result.claims] == [
        "The Western capitals have found a new way to wage war.",  # scored and judged without the dateline
        "Finland joined NATO on 4 April 2023.",
    ]
    assert result.claims[0].sentence.startswith("MOSCOW, 2 February 2024")  # the report keeps the sentence
    assert result.claims[0].checkable_prob == 0.0
    assert chat.pending == 0
