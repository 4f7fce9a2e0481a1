from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from verify.calibration import Calibration, find_calibration, label_probabilities
from verify.llm import TokenLogprob
from verify.models import Label

S, D, U = Label.SUPPORTED, Label.DISPUTED, Label.UNVERIFIABLE
TEXT = '{"label": "supported", "evidence": ["1.1"], "rationale": "ok"}'
HEAD = '{"label": "'


def tokens(label_token: str, top: dict[str, float]) -> list[TokenLogprob]:
    """The answer as three tokens: everything before the label, the label token, the rest."""
    alternatives = tuple((tok, math.log(p)) for tok, p in top.items())
    rest = TEXT[len(HEAD) + len(label_token) :]
    return [
        TokenLogprob(HEAD, 0.0),
        TokenLogprob(label_token, math.log(top[label_token]), alternatives),
        TokenLogprob(rest, 0.0),
    ]


def test_label_probabilities_read_the_label_token_and_sum_to_one():
    probs = label_probabilities(TEXT, tokens("supported", {"supported": 0.5, "disputed": 0.3, "unverifiable": 0.2}))
    assert probs == pytest.approx({S: 0.5, D: 0.3, U: 0.2})
    assert sum(probs.values()) == pytest.approx(1.0)


def test_partial_label_tokens_map_to_their_labels():
    probs = label_probabilities(TEXT, tokens("support", {"support": 0.6, "dis": 0.25, "un": 0.15}))
    assert probs == pytest.approx({S: 0.6, D: 0.25, U: 0.15})


def test_non_label_alternatives_are_ignored_and_the_rest_renormalised():
    probs = label_probabilities(TEXT, tokens("supported", {"supported": 0.6, "dis": 0.2, "yes": 0.1, "un": 0.1}))
    assert probs == pytest.approx({S: 0.6 / 0.9, D: 0.2 / 0.9, U: 0.1 / 0.9})


def test_a_label_missing_from_the_alternatives_gets_a_small_floor():
    probs = label_probabilities(TEXT, tokens("supported", {"supported": 0.9, "disputed": 0.1}))
    assert sum(probs.values()) == pytest.approx(1.0)
    assert 0 < probs[U] < probs[D] < probs[S]


def test_label_token_with_leading_quote_is_understood():
    text = '{"label":"disputed"}'
    lps = [
        TokenLogprob('{"label":', 0.0),
        TokenLogprob('"dis', math.log(0.8), (('"dis', math.log(0.8)), ('"support', math.log(0.2)))),
        TokenLogprob('puted"}', 0.0),
    ]
    probs = label_probabilities(text, lps)
    assert probs[D] > probs[S] > probs[U]
    assert probs[D] > 0.5


def test_no_logprobs_or_no_label_gives_none():
    assert label_probabilities(TEXT, None) is None
    assert label_probabilities(TEXT, []) is None
    assert label_probabilities('{"verdict": "x"}', [TokenLogprob('{"verdict": "x"}', 0.0)]) is None


def test_fit_takes_the_mean_probability_per_label():
    cal = Calibration.fit(
        [{S: 0.8, D: 0.1, U: 0.1}, {S: 0.6, D: 0.3, U: 0.1}], model="m", prompt_hash="abc", fitted_on="gold"
    )
    assert cal.priors == pytest.approx({S: 0.7, D: 0.2, U: 0.1})
    assert (cal.model, cal.prompt_hash, cal.fitted_on) == ("m", "abc", "gold")


def test_fit_on_nothing_is_an_error():
    with pytest.raises(ValueError):
        Calibration.fit([], model="m", prompt_hash="abc", fitted_on="gold")


def test_apply_divides_by_the_priors_and_renormalises():
    cal = Calibration(model="m", prompt_hash="abc", priors={S: 0.5, D: 0.25, U: 0.25}, source="t")
    out = cal.apply({S: 0.5, D: 0.25, U: 0.25})
    assert out == pytest.approx({S: 1 / 3, D: 1 / 3, U: 1 / 3})
    out = cal.apply({S: 0.4, D: 0.4, U: 0.2})
    assert sum(out.values()) == pytest.approx(1.0)
    assert out[D] == pytest.approx(2 * out[S])


def test_to_json_and_load_round_trip(tmp_path: Path):
    cal = Calibration(
        model="qwen",
        prompt_hash="0123abcd",
        priors={S: 0.5, D: 0.3, U: 0.2},
        source="fitted",
        fitted_on="judge_gold.jsonl",
    )
    path = tmp_path / "cal.json"
    path.write_text(cal.to_json(), encoding="utf-8")
    loaded = Calibration.load(path)
    assert (loaded.model, loaded.prompt_hash, loaded.fitted_on) == ("qwen", "0123abcd", "judge_gold.jsonl")
    assert loaded.priors == pytest.approx(cal.priors)
    assert set(loaded.priors) == {S, D, U}
    assert loaded.source == str(path)


def write_cal(directory: Path, name: str, model: str, prompt_hash: str) -> Path:
    path = directory / name
    path.write_text(
        json.dumps(
            {
                "model": model,
                "prompt_hash": prompt_hash,
                "priors": {"supported": 0.5, "disputed": 0.3, "unverifiable": 0.2},
            }
        ),
        encoding="utf-8",
    )
    return path


def test_find_calibration_matches_model_and_prompt_hash_prefix(tmp_path: Path):
    write_cal(tmp_path, "a-other-model.json", "other-model", "abc12345")
    write_cal(tmp_path, "b-other-prompt.json", "qwen", "ffff0000")
    wanted = write_cal(tmp_path, "c-wanted.json", "qwen", "abc12345")
    (tmp_path / "0-broken.json").write_text("{not json", encoding="utf-8")
    found = find_calibration(tmp_path, "qwen", "abc12345" + "9" * 58)
    assert found is not None
    assert found.source == str(wanted)


def test_find_calibration_ignores_other_models_and_prompt_versions(tmp_path: Path):
    write_cal(tmp_path, "a.json", "qwen", "abc12345")
    assert find_calibration(tmp_path, "other-model", "abc12345" + "0" * 58) is None
    assert find_calibration(tmp_path, "qwen", "abd123" + "0" * 58) is None
    # The file's hash must be a prefix of the prompt's, not the other way round.
    assert find_calibration(tmp_path, "qwen", "abc") is None


def test_find_calibration_without_directory_is_none(tmp_path: Path):
    assert find_calibration(tmp_path / "missing", "qwen", "abc") is None
