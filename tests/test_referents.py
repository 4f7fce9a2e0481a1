from __future__ import annotations

import pytest

from verify.referents import resolve_referents


@pytest.mark.parametrize(
    ("claim", "before", "resolved"),
    [
        ("The alliance has 31 members.", "Finland joined NATO in April.", "The alliance (NATO) has 31 members."),
        ("the alliance's summit set no date.", "NATO met.", "the alliance's (NATO's) summit set no date."),
        # the organisation named most often among those the phrase can stand for; on a tie, none
        ("The bloc agreed.", "The EU met. NATO met. The European Union decided.", "The bloc (EU) agreed."),
        ("The bloc agreed.", "NATO leaders gathered. Then the European Union met.", "The bloc agreed."),
        ("The alliance agreed.", "NATO leaders gathered. Then the European Union met.", "The alliance (NATO) agreed."),
        ("The alliance grew.", "NATO took in former Warsaw Pact states. NATO grew.", "The alliance (NATO) grew."),
        (
            "The alliance was dissolved in 1991.",
            "NATO grew as the Warsaw Pact fell.",
            "The alliance was dissolved in 1991.",
        ),
        # earlier in the claim counts too, and a claim that names the organisation is left alone
        ("The EU said the bloc would pay.", "NATO met.", "The EU said the bloc would pay."),
        ("NATO said the alliance would grow.", "", "NATO said the alliance would grow."),
        # nothing named before: nothing added; a name is not a referent; resolved once only
        ("The alliance grew.", "Nobody was named.", "The alliance grew."),
        ("The North Atlantic alliance grew.", "NATO met.", "The North Atlantic alliance grew."),
        ("The alliance (NATO) grew.", "NATO met.", "The alliance (NATO) grew."),
        # "NATO" inside another word is not a mention
        ("The alliance grew.", "The DONATOR paid.", "The alliance grew."),
    ],
)
def test_the_alliance_and_the_bloc_are_followed_by_the_organisation_named_most(claim: str, before: str, resolved: str):
    assert resolve_referents(claim, before) == resolved
