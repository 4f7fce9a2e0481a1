from __future__ import annotations

from verify.evidence import context_of, number_passages, overlap, select_evidence
from verify.models import EvidencePassage

PASSAGES = [
    EvidencePassage(
        id="p1",
        doc_id="summit",
        title="Vilnius summit",
        text="Leaders met in Vilnius on 11 July 2023. The weather was warm. "
        "They agreed that Ukraine's future is in NATO. Turkey lifted its veto on Sweden the day before.",
    ),
    EvidencePassage(id="p2", doc_id="other", text="The alliance has 31 members. Its headquarters is in Brussels."),
]


def test_overlap_is_the_share_of_the_claims_content_words():
    assert overlap("NATO has 31 members", "The alliance has 31 members.") == 2 / 3
    assert overlap("", "anything") == 0.0


def test_all_sentences_are_shown_when_they_fit():
    shown = select_evidence("anything", PASSAGES, max_sentences=10)
    assert list(shown.sentences) == ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2"]
    assert shown.text == number_passages(PASSAGES).text


def test_the_best_sentences_keep_their_ids_and_passage_order():
    shown = select_evidence("Turkey lifted its veto on Sweden's accession.", PASSAGES, max_sentences=1)
    assert list(shown.sentences) == ["1.4"]
    assert shown.text == "Vilnius summit\n(1.4) Turkey lifted its veto on Sweden the day before."


def test_one_header_per_document_and_repeated_sentences_shown_once():
    first = EvidencePassage(id="a", doc_id="d", title="T", date="2023-07-11", text="One fact here. Two more facts.")
    second = EvidencePassage(id="b", doc_id="d", title="T", date="2023-07-11", text="Two more facts. Three facts.")
    shown = select_evidence("facts", [first, second])
    assert shown.text == "T (2023-07-11)\n(1.1) One fact here. (1.2) Two more facts. (2.2) Three facts."
    assert "2.1" not in shown.sentences


def test_a_sentence_that_leans_on_the_one_before_brings_it():
    shown = select_evidence("Allies agreed Ukraine's future is in NATO.", PASSAGES, max_sentences=1)
    assert list(shown.sentences) == ["1.2", "1.3"]  # "They agreed ..." brings the sentence before it


def test_similarity_scores_are_added_to_word_overlap():
    def prefers_brussels(claim: str, texts: list[str]) -> list[float]:
        return [5.0 if "Brussels" in t else 0.0 for t in texts]

    shown = select_evidence("Where does the alliance sit?", PASSAGES, max_sentences=1, similarity=prefers_brussels)
    assert list(shown.sentences) == ["2.1", "2.2"]  # "Its headquarters ..." leans on 2.1


def test_context_of_a_cited_sentence_includes_what_it_leans_on():
    numbered = number_passages(PASSAGES)
    assert context_of(numbered, "1.3").startswith("The weather was warm. They agreed")
    assert context_of(numbered, "1.1") == "Leaders met in Vilnius on 11 July 2023."
