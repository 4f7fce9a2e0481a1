"""Reading label probabilities at the label token, whatever whitespace the model put around it."""

from __future__ import annotations

import pytest

from verify.calibration import label_probabilities
from verify.llm import TokenLogprob as T
from verify.models import Label

TOP = (("dis", -0.7), ("supported", -1.0), ("un", -2.0), ("unsupported", -3.6), ("The", -4.0))


@pytest.mark.parametrize(
    "tokens",
    [
        [T('{"', 0), T("label", 0), T('":', 0), T(' "', 0), T("dis", -0.7, TOP), T("puted", 0)],
        # pretty-printed: newline and indentation tokens whose text may not add up to the message text
        [T("{\n", 0), T("  ", 0), T(' "', 0), T("label", 0), T('":', 0), T(' "', 0), T("dis", -0.7, TOP)],
        [T("{", 0), T('"label', 0), T('":"', 0), T("dis", -0.7, TOP)],
    ],
)
def test_label_probabilities_found_after_the_label_key(tokens: list[T]) -> None:
    probs = label_probabilities('{"label": "disputed"}', tokens)
    assert probs is not None
    assert max(probs, key=probs.__getitem__) == Label.DISPUTED
    assert probs[Label.SUPPORTED] > probs[Label.UNVERIFIABLE]
    assert sum(probs.values()) == pytest.approx(1.0)


def test_no_probabilities_when_the_label_token_is_not_a_label() -> None:
    tokens = [T('{"', 0), T("label", 0), T('":', 0), T(' "', 0), T("maybe", -0.1, (("maybe", -0.1),))]
    assert label_probabilities('{"label": "maybe"}', tokens) is None
