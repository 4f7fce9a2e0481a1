"""Kind mode of the eval harness (``verify eval run evals/kind_gold.jsonl``): the kind step alone."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

import verify.verifier
from verify.cli import main
from verify.evals.kind_items import auc, best_threshold, is_kind_dataset, load_kind_items, shares
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
    assert best_threshold(recs, 0.0) == 0.05  # no fact may be set aside: only thresholds <= 0.4 qualify
    assert best_threshold(recs, 0.5) == 0.45


def test_a_prompt_with_a_sentence_field_sees_the_source_sentence(tmp_path: Path):
    import asyncio

    prompts = tmp_path / "prompts"
    prompts.mkdir()
    base = (ROOT / "prompts" / "classify_claim.md").read_text(encoding="utf-8")
    fields = "<sentence>{sentence}</sentence>\n<statement>{claim}</statement>"
    (prompts / "classify_claim.md").write_text(base.replace("<statement>{claim}</statement>", fields))
    chat = FakeChatModel().enqueue(_answer(0.7), _answer(0.7))
    with_sentence = KindClassifier(chat, load_prompt(prompts, "classify_claim"), max_reasks=0)
    plain = KindClassifier(chat, load_prompt(ROOT / "prompts", "classify_claim"), max_reasks=0)
    prob, _ = asyncio.run(with_sentence.probability("NATO has 31 members.", sentence="NATO, they say, has <31>."))
    asyncio.run(plain.probability("NATO has 31 members.", sentence="NATO, they say, has 31."))
    assert prob == pytest.approx(0.7)
    assert "<sentence>NATO, they say, has \u203931\u203a.</sentence>" in chat.requests[0].messages[-1]["content"]
    assert "they say" not in chat.requests[1].messages[-1]["content"]


def test_the_shipped_kind_gold_loads_with_both_splits():
    items = load_kind_items(ROOT / "evals" / "kind_gold.jsonl")
    assert {it.split for it in items} == {"dev", "test"}
    assert is_kind_dataset(ROOT / "evals" / "kind_gold.jsonl")
