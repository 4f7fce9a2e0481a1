from __future__ import annotations

from verify.names import claim_names, missing_names


def test_claim_names_are_capitalised_non_ordinary_words_and_months():
    assert claim_names("The Hungarian parliament approved Finland's accession in March 2023.") == [
        "hungarian",
        "finland",
        "march",
    ]
    assert claim_names("According to Jens Stoltenberg, NATO will grow.") == ["jens", "stoltenberg", "nato"]


def test_demonyms_possessives_and_variants_match():
    evidence = ["Hungary's National Assembly voted on 27 March 2023 to approve the Finnish bid."]
    assert missing_names("The Hungarian parliament approved Finland's accession in March.", evidence) == []
    assert missing_names("US officials met in Kyiv.", ["American officials met in Kiev."]) == []


def test_a_wrong_actor_or_month_is_missing():
    evidence = ["Turkey's parliament ratified Finland's accession on 30 March 2023."]
    assert missing_names("Hungary's parliament ratified Finland's accession in March 2023.", evidence) == ["hungary"]
    assert missing_names("Turkey ratified Finland's accession in April 2023.", evidence) == ["april"]


def test_a_first_name_may_be_absent_when_the_surname_is_there():
    assert missing_names("Jens Stoltenberg opened the summit.", ["Stoltenberg opened the summit."]) == []
    assert missing_names("Joe Biden opened the summit.", ["Macron opened the summit."]) == ["joe", "biden"]
