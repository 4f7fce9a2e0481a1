from __future__ import annotations

from verify.citations import check_citations, locate_quote
from verify.models import EvidencePassage

P1 = EvidencePassage(
    id="p-finland",
    doc_id="finland",
    text="Finland became the 31st member of NATO on 4 April 2023.\nThe ceremony took place  in Brussels.",
)
P2 = EvidencePassage(id="p-sweden", doc_id="sweden", text="Sweden became the 32nd member of NATO on 7 March 2024.")


def test_locate_quote_exact_match_gives_offsets():
    quote = "the 31st member of NATO"
    start, end = locate_quote(quote, P1.text)
    assert P1.text[start:end] == quote
    assert start == P1.text.index(quote)


def test_locate_quote_tolerates_whitespace_differences():
    where = locate_quote("  2023. The ceremony took place in   Brussels ", P1.text)
    assert where is not None
    assert P1.text[where[0] : where[1]] == "2023.\nThe ceremony took place  in Brussels"


def test_locate_quote_absent_or_empty_is_none():
    assert locate_quote("the 30th member of NATO", P1.text) is None
    assert locate_quote("   ", P1.text) is None


def test_exact_quote_becomes_a_citation_of_that_passage():
    valid, dropped = check_citations([(2, "on 7 March 2024")], [P1, P2])
    assert dropped == []
    assert [(c.passage_id, c.quote, c.start) for c in valid] == [
        ("p-sweden", "on 7 March 2024", P2.text.index("on 7 March 2024"))
    ]


def test_whitespace_tolerant_citation_stores_the_passages_own_text():
    valid, dropped = check_citations([(1, "NATO on 4 April 2023. The ceremony took place in Brussels.")], [P1, P2])
    assert dropped == []
    assert len(valid) == 1
    assert valid[0].quote == "NATO on 4 April 2023.\nThe ceremony took place  in Brussels."
    assert P1.text[valid[0].start :].startswith(valid[0].quote)


def test_wrong_passage_number_is_dropped_with_reason():
    valid, dropped = check_citations([(3, "on 7 March 2024"), (0, "Finland")], [P1, P2])
    assert valid == []
    assert [(d.passage_id, d.quote) for d in dropped] == [(None, "on 7 March 2024"), (None, "Finland")]
    assert "3" in dropped[0].reason
    assert "0" in dropped[1].reason


def test_quote_not_in_cited_passage_is_dropped_with_reason():
    # The quote is real, but from passage 2, while the model cited passage 1.
    valid, dropped = check_citations([(1, "Sweden became the 32nd member")], [P1, P2])
    assert valid == []
    assert len(dropped) == 1
    assert dropped[0].passage_id == "p-finland"
    assert dropped[0].quote == "Sweden became the 32nd member"
    assert "not in" in dropped[0].reason


def test_same_quote_cited_twice_is_kept_once():
    valid, dropped = check_citations([(1, "on 4 April 2023"), (1, "on 4 April  2023")], [P1, P2])
    assert dropped == []
    assert len(valid) == 1
