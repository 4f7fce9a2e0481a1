"""The figure check's number reading."""

from __future__ import annotations

from verify.figures import figures, missing_figures


def test_figures_are_normalised():
    assert figures("about 5,759 warheads in January 2023") == {"5759", "2023"}
    assert figures("the 32nd member, a 15-year period, 40 000 troops, 0.50 and 2.0") == {
        "32",
        "15",
        "40000",
        "0.5",
        "2",
    }
    assert figures("NATO has thirty-one members") == set()
    assert figures("CO2, F-16 and Su-35 jets, COVID-19, the G7; a fleet of 40 MiG-29s") == {"40"}
    assert figures("melts in 1938-43") == {"1938", "1943"}
    assert figures("fifteen years, the third summit", words=True) == {"15", "3"}
    assert figures("NATO has thirty-one members; someone alone", words=True) == {"31"}


def test_missing_figures_lists_what_no_evidence_text_states():
    passages = [
        "The House passed the bill by 368 votes to 57 on 10 May 2022.",
        "It set up fifteen years of consultations.",
    ]
    assert missing_figures("The bill passed 368 to 57 in May 2022 after 15 years.", passages) == []
    assert missing_figures("The bill passed 386 to 57 in May 2021.", passages) == ["386", "2021"]
    assert missing_figures("The bill passed.", []) == []
