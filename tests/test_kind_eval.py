"""Kind mode of the eval harness (``verify eval run evals/kind_gold.jsonl``): the kind step alone."""

from __future__ import annotations

import asyncio
import json
import math
import re
from pathlib import Path

import pytest

import verify.verifier
from verify import VerifyConfig
from verify.cli import main
from verify.errors import ConfigError
from verify.evals.kind_items import auc, best_threshold, fit_from_run, is_kind_dataset, load_kind_items, shares
from verify.kind_combiner import FEATURES
from verify.kinds import KindClassifier
from verify.llm import ChatRequest, ChatResult, TokenLogprob
from verify.models import Usage
from verify.prompts import load_prompt
from verify.testing import FakeChatModel, HashEmbedder

ROOT = Path(__file__).resolve().parents[1]

ITEMS = [  # (id, text, sentence, gold kind, split, P(checkable) the fake model gives)
    ("k1", "Finland joined NATO on 4 April 2023.", "Finland joined NATO on 4 April 2023.", "fact", "dev", 0.9),
    ("k2", "NATO has 31 members.", "NATO, they say, has 31 members.", "fact", "dev", 0.5),
    ("k3", "The summit was a farce.", "The summit was a farce.", "opinion", "dev", 0.3),
    ("k4", "Will the alliance ever learn?", "Will the alliance ever learn?", "other", "dev", 0.95),
    ("k5", "Sweden will join next year.", "Sweden will join next year.", "prediction", "test", 0.2),
]


def _answer(prob: float):
    def route(request: ChatRequest) -> ChatResult:
        assert request.schema_name == "checkable"
        token = "true" if prob >= 0.5 else "false"
        top = (("true", math.log(prob)), ("false", math.log(1 - prob)))
        return ChatResult(
            text=json.dumps({"checkable": token == "true"}),
            usage=Usage(calls=1, prompt_tokens=40, completion_tokens=5),
            logprobs=[TokenLogprob('{"checkable": ', 0.0), TokenLogprob(token, dict(top)[token], top)],
        )

    return route


@pytest.fixture
def gold(tmp_path: Path) -> Path:
    path = tmp_path / "kind_gold.jsonl"
    rows = [
        {"id": i, "text": t, "sentence": s, "kind": k, "tags": ["x"] if i == "k3" else [], "split": sp}
        for i, t, s, k, sp, _ in ITEMS
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _fake(monkeypatch: pytest.MonkeyPatch, probs: dict[str, float]) -> FakeChatModel:
    def route(request: ChatRequest) -> ChatResult:
        text = request.messages[-1]["content"]
        item = next(i for i in ITEMS if i[1] in text)
        return _answer(probs[item[0]])(request)

    chat = FakeChatModel()
    chat.enqueue(*[route] * len(probs))
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())
    monkeypatch.setattr(verify.verifier.Verifier, "_build_chat", lambda self: chat)
    monkeypatch.setenv("VERIFY_CHECKABLE_THRESHOLD", "0.6")
    monkeypatch.setenv("VERIFY_KIND_COMBINER", "off")  # the shipped one is fitted for the shipped prompt
    return chat


def test_a_kind_gold_file_runs_in_kinds_mode_and_scores_the_split(monkeypatch, gold: Path, tmp_path: Path, capsys):
    assert is_kind_dataset(gold) and not is_kind_dataset(ROOT / "evals" / "judge_gold.jsonl")
    chat = _fake(monkeypatch, {i[0]: i[5] for i in ITEMS if i[4] == "dev"})
    out = tmp_path / "run"
    assert main(["eval", "run", str(gold), "--split", "dev", "--out", str(out)]) == 0
    assert chat.pending == 0
    records = {r["id"]: r for r in map(json.loads, (out / "items.jsonl").read_text().splitlines())}
    assert set(records) == {"k1", "k2", "k3", "k4"}
    assert records["k1"]["checkable_prob"] == pytest.approx(0.9)
    assert records["k4"]["question"] is True and records["k1"]["question"] is False
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "kinds"
    kinds = summary["kinds"]
    # threshold 0.6: k2 (fact, 0.5) is set aside, k3 (0.3) set aside, k4 is a question: set aside
    assert kinds["threshold"] == 0.6
    assert kinds["facts_aside"] == pytest.approx(0.5)
    assert kinds["non_facts_aside"] == pytest.approx(1.0)
    assert kinds["auc"] == pytest.approx(1.0)  # facts 0.9, 0.5 above non-facts 0.3 and the question (0)
    assert kinds["by_tag"]["x"]["non_facts_aside"] == 1.0
    assert "gold non-facts set aside" in (out / "report.md").read_text()
    # every request carried the claim inside the statement block
    assert all(re.search(r"<statement>.+</statement>", r.messages[-1]["content"]) for r in chat.requests)


def test_two_kind_runs_compare_on_their_shared_items(monkeypatch, gold: Path, tmp_path: Path, capsys):
    dev = {i[0]: i[5] for i in ITEMS if i[4] == "dev"}
    _fake(monkeypatch, dev)
    assert main(["eval", "run", str(gold), "--split", "dev", "--out", str(tmp_path / "a")]) == 0
    _fake(monkeypatch, {**dev, "k3": 0.8})  # B lets the opinion through
    assert main(["eval", "run", str(gold), "--split", "dev", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("non_facts_aside"))
    assert row.split()[1:4] == ["1.000", "0.500", "-0.500"]
    assert "shared items: 4" in text


def test_shares_auc_and_threshold_fit():
    recs = [
        {"gold_kind": "fact", "checkable_prob": 0.8},
        {"gold_kind": "fact", "checkable_prob": 0.4},
        {"gold_kind": "opinion", "checkable_prob": 0.4},
        {"gold_kind": "other", "checkable_prob": 0.9, "question": True},
        {"gold_kind": "opinion", "checkable_prob": None},  # a failed call is left out
    ]
    assert shares(recs, 0.5) == {"non_facts_aside": 1.0, "facts_aside": 0.5}
    # pairs (fact, non-fact): 0.8 beats both; 0.4 ties the opinion (half) and beats the question
    assert auc(recs) == pytest.approx((2 + 1.5) / 4)
    assert best_threshold(recs, 0.0) == 0.01  # no fact may be set aside: only thresholds <= 0.40 qualify
    assert best_threshold(recs, 0.5) == 0.41  # the lowest threshold that sets the opinion aside


def test_a_prompt_with_a_sentence_field_sees_the_source_sentence(tmp_path: Path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    base = (ROOT / "prompts" / "classify_claim.md").read_text(encoding="utf-8")
    fields = "<sentence>{sentence}</sentence>\n<statement>{claim}</statement>"
    (prompts / "classify_claim.md").write_text(base.replace("<statement>{claim}</statement>", fields))
    chat = FakeChatModel().enqueue(_answer(0.7), _answer(0.7))
    with_sentence = KindClassifier(chat, load_prompt(prompts, "classify_claim"), max_reasks=0)
    plain = KindClassifier(chat, load_prompt(ROOT / "prompts", "classify_claim"), max_reasks=0)
    score, _ = asyncio.run(with_sentence.score("NATO has 31 members.", sentence="NATO, they say, has <31>."))
    asyncio.run(plain.score("NATO has 31 members.", sentence="NATO, they say, has 31."))
    assert score.prob == score.raw == pytest.approx(0.7)
    assert "<sentence>NATO, they say, has \u203931\u203a.</sentence>" in chat.requests[0].messages[-1]["content"]
    assert "they say" not in chat.requests[1].messages[-1]["content"]


def test_the_shipped_kind_gold_loads_with_both_splits():
    items = load_kind_items(ROOT / "evals" / "kind_gold.jsonl")
    assert {it.split for it in items} == {"dev", "test"}
    assert is_kind_dataset(ROOT / "evals" / "kind_gold.jsonl")


def test_a_kind_combiner_is_fitted_on_dev_found_for_its_prompt_and_applied(monkeypatch, tmp_path: Path, capsys):
    """The model's P(checkable) is the same 0.7 for every claim here, so only the code features
    (figures, names, future wording) can separate facts from opinions: the fitted combiner must."""
    facts = [f"Finland sent {n} shells to Kyiv in March {2000 + n}." for n in range(12)]
    words = ["odd", "vain", "rash", "sad", "bad", "mad", "wild", "grim", "dim", "dull"]
    opinions = [f"The alliance will regret its {w} choice." for w in words]
    rows = [{"id": f"f{i}", "text": t, "sentence": t, "kind": "fact", "split": "dev"} for i, t in enumerate(facts)] + [
        {"id": f"o{i}", "text": t, "sentence": t, "kind": "opinion", "split": "dev"} for i, t in enumerate(opinions)
    ]
    gold = tmp_path / "kinds.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    chat = FakeChatModel()
    chat.enqueue(*[_answer(0.7)] * len(rows))
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())
    monkeypatch.setattr(verify.verifier.Verifier, "_build_chat", lambda self: chat)
    cal = tmp_path / "calibration"
    monkeypatch.setenv("VERIFY_CALIBRATION", "off")
    config = tmp_path / "verify.toml"
    config.write_text(f'calibration_dir = "{cal}"\n', encoding="utf-8")
    run = tmp_path / "dev"
    assert main(["eval", "run", str(gold), "--split", "dev", "--out", str(run), "--config", str(config)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["kinds"]["non_facts_aside"] == 0.0  # 0.7 >= 0.6: every opinion gets through

    assert main(["eval", "combine", str(run), "--cv", "5", "--cv-out", str(tmp_path / "cv")]) == 0
    cv = json.loads((tmp_path / "cv" / "summary.json").read_text())["kinds"]
    assert cv["non_facts_aside"] > 0.5 and cv["facts_aside"] <= 0.08
    assert main(["eval", "compare", str(run), str(tmp_path / "cv")]) == 0

    out = cal / "kinds.json"
    assert main(["eval", "combine", str(run), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["kind"] == "kind-combiner" and 0 < data["threshold"] < 1
    with verify.verifier.Verifier(VerifyConfig.load(config)) as verifier:
        classifier = verifier.make_kind_classifier()
        assert classifier.combiner is not None and classifier.threshold == data["threshold"]
        chat.enqueue(_answer(0.7), _answer(0.7))
        fact, _ = asyncio.run(classifier.score("Sweden sent 40 tanks to Kyiv in May 2023."))
        opinion, _ = asyncio.run(classifier.score("The alliance will regret its foolish choice."))
    assert fact.raw == opinion.raw == pytest.approx(0.7)
    assert fact.prob >= classifier.threshold > opinion.prob
    # a dev run with the combiner applied is refused as a fitting set, and so is a test run
    with pytest.raises(ConfigError):
        fit_from_run(tmp_path / "cv")


def test_a_kind_combiner_for_another_prompt_is_not_used(tmp_path: Path, monkeypatch):
    from verify.kind_combiner import KindCombiner

    comb = KindCombiner(
        model="m", prompt_hash="0" * 12, coef=dict.fromkeys(FEATURES, 0.0), intercept=0.0,
        mean=dict.fromkeys(FEATURES, 0.0), scale=dict.fromkeys(FEATURES, 1.0), threshold=0.5, source="x",
    )  # fmt: skip
    (tmp_path / "k.json").write_text(comb.to_json())
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())
    config = VerifyConfig.load(None, calibration_dir=tmp_path, model="m", calibration="off")
    with verify.verifier.Verifier(config, chat=FakeChatModel()) as verifier:
        assert verifier.kind_combiner is None
    with pytest.raises(ConfigError, match="kind prompt"):
        verify.verifier.Verifier(config.model_copy(update={"kind_combiner": str(tmp_path / "k.json")}))


def test_a_continued_kind_answer_costs_one_token_and_falls_back_to_the_schema_when_not_continued():
    prompt = load_prompt(ROOT / "prompts", "classify_claim")
    continued = _answer(0.8)  # the value token and its alternatives, as the server writes after the prefix
    chat = FakeChatModel().enqueue(continued)
    score, usage = asyncio.run(KindClassifier(chat, prompt, max_reasks=0, prefill=True).score("NATO has 31 members."))
    request = chat.requests[0]
    assert request.schema is None and request.max_tokens == 1
    assert request.messages[-1] == {"role": "assistant", "content": '{"checkable":'}
    assert score.raw == pytest.approx(0.8) and usage.calls == 1
    refused = ChatResult(text="I think", usage=Usage(calls=1), logprobs=[TokenLogprob("I", 0.0)])
    chat = FakeChatModel().enqueue(refused, _answer(0.3))
    score, usage = asyncio.run(KindClassifier(chat, prompt, max_reasks=0, prefill=True).score("NATO has 31 members."))
    assert [r.schema is None for r in chat.requests] == [True, False]
    assert score.raw == pytest.approx(0.3) and usage.calls == 2
