"""Which sentences voice a quoted commentator, and the quoted words the kind step scores."""

from verify.quotes import commentator_names, commentator_quotes, quoted_words
from verify.sentences import split_sentences

ARTICLE = (
    "Ministers met in Brussels on 28 November.\n\n"
    '"The council will change nothing at all," says Anna Berg, a political analyst at a Moscow institute. '
    '"It is a waiting room with a new sign."\n\n'
    'Defence Minister Pal Jonson said: "Sweden is ready to host the alliance\'s forces in peacetime." '
    '"We have waited long enough for this," he added.\n\n'
    "Berg expects the talks to drag on. "
    '"Nothing will be decided before 2025, whatever the press writes," she predicts.\n\n'
    'As Berg put it, "the guarantees guarantee nothing but more invoices."\n\n'
    'The bloc still talks of "open doors" for Ukraine.'
)


def quotes_of(text: str) -> dict[str, str]:
    sentences = split_sentences(text)
    return {sentences[i].text: words for i, words in commentator_quotes(text, sentences).items()}


def test_quoted_words_and_the_words_around_them() -> None:
    inside, outside = quoted_words('"The council will change nothing at all," says Anna Berg, an analyst.')
    assert inside == "The council will change nothing at all"
    assert outside == "says Anna Berg, an analyst."
    # a scare quote is not a speaker's words
    assert quoted_words('The bloc still talks of "open doors".') == ("", 'The bloc still talks of "open doors".')


def test_a_commentator_is_known_by_role_word_beside_the_name() -> None:
    sentences = split_sentences(ARTICLE)
    assert commentator_names(sentences) == {"Berg"}
    assert commentator_names(split_sentences('"It will fail," said political scientist Marina Kozlova.')) == {"Kozlova"}


def test_commentator_quotes_are_scored_on_their_words() -> None:
    found = quotes_of(ARTICLE)
    assert found == {
        '"The council will change nothing at all," says Anna Berg, a political analyst at a Moscow institute.': (
            "The council will change nothing at all"
        ),
        # the quotation goes on in the next sentence of the same paragraph
        '"It is a waiting room with a new sign."': "It is a waiting room with a new sign.",
        # a view reported without quotation marks: scored without "Berg expects"
        "Berg expects the talks to drag on.": "the talks to drag on.",
        # "she" is Berg, named in the sentence before
        '"Nothing will be decided before 2025, whatever the press writes," she predicts.': (
            "Nothing will be decided before 2025, whatever the press writes"
        ),
        # named by surname alone, after the article gave her role
        'As Berg put it, "the guarantees guarantee nothing but more invoices."': (
            "the guarantees guarantee nothing but more invoices."
        ),
    }


def test_an_officials_quote_stays_an_attribution() -> None:
    found = quotes_of(ARTICLE)
    assert not any("Jonson" in sentence or "he added" in sentence for sentence in found)


def test_a_report_with_a_quotation_inside_it_is_not_a_commentator_quote() -> None:
    text = (
        "Viktor Pashin, a senior fellow at a Moscow centre, spoke on Monday. The centre he leads published its "
        'annual review of the northern flank in Helsinki and Oslo, calling it "a front line in all but name".'
    )
    assert quotes_of(text) == {}


def test_a_quotation_in_a_new_paragraph_needs_its_own_speaker() -> None:
    text = '"This summit will fail like the last one," says Anna Berg, an analyst.\n\n"The summit opened on time."'
    assert list(quotes_of(text)) == ['"This summit will fail like the last one," says Anna Berg, an analyst.']


def test_reported_views_are_scored_without_the_attribution() -> None:
    text = (
        '"This summit will fail like the last one," says Anna Berg, an analyst. '
        "By next summer, Berg predicts, half of the members will have left the bloc. "
        "She predicts that the talks will drag on into next year. "
        "Kremlin spokesman Dmitry Peskov said on 2 November that Russia would achieve all of its aims."
    )
    found = quotes_of(text)
    assert found["By next summer, Berg predicts, half of the members will have left the bloc."] == (
        "By next summer, half of the members will have left the bloc."
    )
    assert found["She predicts that the talks will drag on into next year."] == (
        "the talks will drag on into next year."
    )
    assert not any("Peskov" in sentence for sentence in found)
