from __future__ import annotations

import itertools

import pytest

from verify.sentences import split_sentences


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


ARTICLE = (
    "NATO grows again\n\n"
    "Mr. Stoltenberg met U.S. officials in Washington. Growth was 3.5 percent in 2023, "
    'he said.\n\nHe added: "We will not back down." Then he left for Brussels.  \n'
    "A second line of the same paragraph?  Yes!\n\n\n"
    "Gen. Milley agreed. J. Smith did not."
)


def test_every_span_maps_back_to_the_original_text():
    sentences = split_sentences(ARTICLE)
    assert len(sentences) >= 8
    for sentence in sentences:
        assert ARTICLE[sentence.start : sentence.end] == sentence.text
        assert sentence.text == sentence.text.strip()


def test_sentences_are_numbered_in_order_without_overlap():
    sentences = split_sentences(ARTICLE)
    assert [s.index for s in sentences] == list(range(len(sentences)))
    assert all(a.end <= b.start for a, b in itertools.pairwise(sentences))


def test_headline_and_paragraphs_are_separate_sentences():
    assert texts("Headline without a stop\n\nFirst paragraph.\n\nSecond paragraph.") == [
        "Headline without a stop",
        "First paragraph.",
        "Second paragraph.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Smith met Mrs. Jones. They talked.", ["Mr. Smith met Mrs. Jones.", "They talked."]),
        ("He met U.S. officials. They agreed.", ["He met U.S. officials.", "They agreed."]),
        ("He served in the U.S. Army. He left in 2001.", ["He served in the U.S. Army.", "He left in 2001."]),
        ("Gen. Milley spoke. Dr. Lee replied.", ["Gen. Milley spoke.", "Dr. Lee replied."]),
        ("J. Smith wrote it. He agreed.", ["J. Smith wrote it.", "He agreed."]),
    ],
)
def test_abbreviations_and_initials_do_not_end_a_sentence(text: str, expected: list[str]):
    assert texts(text) == expected


def test_decimals_and_amounts_do_not_end_a_sentence():
    assert texts("Growth was 3.5 percent. It cost $1.2 billion. Spending hit 2.07% of GDP.") == [
        "Growth was 3.5 percent.",
        "It cost $1.2 billion.",
        "Spending hit 2.07% of GDP.",
    ]


def test_closing_quote_stays_with_its_sentence_and_opening_quote_starts_the_next():
    assert texts('He said "We will win." "Never," she replied. Then they left.') == [
        'He said "We will win."',
        '"Never," she replied.',
        "Then they left.",
    ]


def test_curly_quotes_and_question_and_exclamation_marks():
    assert texts("Was it \u201cabsurd?\u201d Yes! It was.") == [
        "Was it \u201cabsurd?\u201d",
        "Yes!",
        "It was.",
    ]


def test_sentence_starting_with_a_number_is_split():
    assert texts("The summit ended. 31 members signed.") == ["The summit ended.", "31 members signed."]


def test_cyrillic_sentences_are_split():
    assert texts("Первое предложение. Второе предложение.") == ["Первое предложение.", "Второе предложение."]


def test_empty_and_whitespace_text_have_no_sentences():
    assert split_sentences("") == []
    assert split_sentences("  \n\n \t ") == []


def test_ordinal_at_end_of_sentence_ends_the_sentence():
    assert texts("Finland joined on April 1st. Sweden followed.") == [
        "Finland joined on April 1st.",
        "Sweden followed.",
    ]
