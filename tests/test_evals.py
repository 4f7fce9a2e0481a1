"""The eval harness on fakes: datasets, metrics, the runner's resume, summaries, compare, calibrate."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from verify import Verifier, VerifyConfig
from verify.errors import ConfigError, InputError
from verify.evals import metrics as m
from verify.evals.cli import cmd_calibrate
from verify.evals.compare import compare_runs
from verify.evals.datasets import load_articles, load_climate_fever, load_dataset, stratified_sample
from verify.evals.runner import RunLog, match_claims, passage_found, run_items, run_meta, token_f1
from verify.evals.summary import finish_run, read_items, wall_time
from verify.models import EvidencePassage, Label
from verify.testing import FakeChatModel, HashEmbedder, extraction_answer

S, D, U = Label.SUPPORTED, Label.DISPUTED, Label.UNVERIFIABLE
ROOT = Path(__file__).resolve().parents[1]


def _cf_line(cid: str, label: str) -> str:
    ev = [
        {
            "evidence_id": f"Art:{i}",
            "evidence_label": "SUPPORTS",
            "article": "Art",
            "evidence": f"Sentence {cid} {i}.",
            "entropy": 0.0,
            "votes": [],
        }
        for i in range(2)
    ]
    return json.dumps({"claim_id": cid, "claim": f"claim {cid}", "claim_label": label, "evidences": ev})


def test_climate_fever_labels_are_mapped_explicitly_and_originals_kept(tmp_path: Path) -> None:
    path = tmp_path / "cf.jsonl"
    labels = ["SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO", "DISPUTED"]
    path.write_text("\n".join(_cf_line(str(i), lab) for i, lab in enumerate(labels)) + "\n")
    items = load_climate_fever(path)
    assert [it.label for it in items] == [S, D, U, D]
    assert [it.original_label for it in items] == labels
    assert load_dataset(path)[0].passages[0].doc_id == "Art"  # format detected
    custom = load_dataset(
        path,
        label_map={
            "SUPPORTS": "supported",
            "REFUTES": "disputed",
            "NOT_ENOUGH_INFO": "unverifiable",
            "DISPUTED": "unverifiable",
        },
    )
    assert custom[3].label == U


def test_generic_jsonl_accepts_plain_string_passages_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"claim": "c", "label": "disputed", "passages": ["p one", "p two"]}\n')
    (item,) = load_dataset(path)
    assert item.label == D and [p.text for p in item.passages] == ["p one", "p two"]
    path.write_text('{"claim": "c", "label": "maybe", "passages": []}\n')
    with pytest.raises(InputError, match=r"g\.jsonl:1"):
        load_dataset(path)
    path.write_text("{not json\n")
    with pytest.raises(InputError, match="not valid JSON"):
        load_dataset(path)


def test_stratified_sample_balances_original_labels_and_is_seeded(tmp_path: Path) -> None:
    path = tmp_path / "cf.jsonl"
    lines = [_cf_line(f"s{i}", "SUPPORTS") for i in range(40)] + [_cf_line(f"r{i}", "REFUTES") for i in range(5)]
    path.write_text("\n".join(lines))
    items = load_dataset(path)
    sample = stratified_sample(items, 10, seed=1)
    counts = {lab: sum(1 for it in sample if it.original_label == lab) for lab in ("SUPPORTS", "REFUTES")}
    assert counts == {"SUPPORTS": 5, "REFUTES": 5}
    assert [it.id for it in sample] == [it.id for it in stratified_sample(items, 10, seed=1)]
    assert [it.id for it in sample] != [it.id for it in stratified_sample(items, 10, seed=2)]
    assert len(stratified_sample(items, 20, seed=1)) == 20  # REFUTES runs out, SUPPORTS fills up


def test_stratified_order_keeps_every_prefix_balanced(tmp_path: Path) -> None:
    path = tmp_path / "cf.jsonl"
    labels = ["SUPPORTS"] * 12 + ["REFUTES"] * 9 + ["NOT_ENOUGH_INFO"] * 6
    path.write_text("\n".join(_cf_line(f"x{i}", lab) for i, lab in enumerate(labels)))
    items = load_dataset(path)
    everything = stratified_sample(items, None, seed=3)
    assert sorted(it.id for it in everything) == sorted(it.id for it in items)
    for n in (3, 6, 9, 18):  # while every label still has items, a prefix holds n/3 of each
        prefix = everything[:n]
        assert {lab: sum(it.original_label == lab for it in prefix) for lab in set(labels)} == {
            lab: n // 3 for lab in set(labels)
        }
    assert [it.id for it in stratified_sample(items, 9, seed=3)] == [it.id for it in everything[:9]]


def test_metrics_on_a_hand_computed_example() -> None:
    gold = [S, S, D, D, U, U]
    pred = [S, D, D, None, U, S]
    assert m.accuracy(gold, pred) == pytest.approx(3 / 6)
    # recalls: S 1/2, D 1/2, U 1/2
    assert m.balanced_accuracy(gold, pred) == pytest.approx(0.5)
    # precisions: S 1/2, D 1/2, U 1/1 ; F1: S .5, D .5, U 2/3
    assert m.macro_f1(gold, pred) == pytest.approx((0.5 + 0.5 + 2 / 3) / 3)
    assert m.confusion(gold, pred)["disputed"]["error"] == 1
    assert m.false_support_rate(gold, pred) == pytest.approx(1 / 4)  # of D, D, U, U only the last U
    lo, hi = m.bootstrap_ci(gold, pred, m.accuracy, resamples=200)
    assert 0.0 <= lo <= 0.5 <= hi <= 1.0


def test_merged_original_labels_are_also_scored_apart() -> None:
    from verify.evals.summary import summarize_items

    def rec(i: int, gold: str, original: str, pred: str) -> dict:
        return {"id": str(i), "gold": gold, "original_label": original, "prediction": pred, "model_label": pred}

    records = [
        rec(0, "supported", "SUPPORTS", "supported"),
        rec(1, "disputed", "REFUTES", "disputed"),
        rec(2, "disputed", "DISPUTED", "supported"),
        rec(3, "disputed", "DISPUTED", "supported"),
        rec(4, "unverifiable", "NOT_ENOUGH_INFO", "unverifiable"),
    ]
    summary = summarize_items(records)
    assert summary["accuracy_by_original_label"] == {
        "DISPUTED": 0.0,
        "NOT_ENOUGH_INFO": 1.0,
        "REFUTES": 1.0,
        "SUPPORTS": 1.0,
    }
    split = summary["headline_without_original"]
    assert set(split) == {"DISPUTED", "REFUTES"}
    assert split["DISPUTED"]["items"] == 3 and split["DISPUTED"]["accuracy"]["value"] == 1.0
    assert split["REFUTES"]["items"] == 4 and split["REFUTES"]["accuracy"]["value"] == 0.5


def test_calibration_error_is_zero_when_confidence_matches_accuracy() -> None:
    conf = [0.75] * 4
    assert m.expected_calibration_error(conf, [True, True, True, False]) == pytest.approx(0.0)
    assert m.expected_calibration_error(conf, [False] * 4) == pytest.approx(0.75)


def test_paired_bootstrap_flags_a_real_difference_only() -> None:
    gold = [S, D, U] * 20
    same = list(gold)
    worse = [S] * 60
    point, lo, hi = m.paired_bootstrap_diff(gold, same, worse, m.accuracy, resamples=300)
    assert point < 0 and hi < 0
    point, lo, hi = m.paired_bootstrap_diff(gold, same, same, m.accuracy, resamples=300)
    assert point == 0 and lo == 0 and hi == 0


def test_token_f1_and_claim_matching_are_one_to_one() -> None:
    assert token_f1("Finland joined NATO in 2023", "Finland joined NATO in 2023") == 1.0
    assert token_f1("Finland joined NATO", "grain deal ended") == 0.0
    articles = load_articles(ROOT / "evals" / "articles")
    gold = articles[0]
    extracted = [
        {"id": "c001", "text": gold.claims[0].text, "span": {"start": 0, "end": 1}},
        {"id": "c002", "text": gold.claims[0].text, "span": {"start": 0, "end": 1}},
    ]
    matches = match_claims(gold, extracted)
    assert len(matches) == 1 and matches[0][0] == 0


def test_passage_found_uses_document_and_word_containment() -> None:
    gold = EvidencePassage(id="g", doc_id="doc", text="Finland became the 31st member of NATO on 4 April 2023.")
    chunk = EvidencePassage(
        id="x", doc_id="doc", text="Intro. Finland became the 31st member of NATO on 4 April 2023. More."
    )
    other = EvidencePassage(id="y", doc_id="other", text=chunk.text)
    assert passage_found(gold, [chunk])
    assert not passage_found(gold, [other])


def _judge_answer(label: str):
    return lambda request: {"label": label, "evidence": ["1.1"], "rationale": "r"}


@pytest.fixture()
def verifier(tmp_path: Path) -> Verifier:
    config = VerifyConfig(
        extractor="windows", kind_classifier=False, store_path=tmp_path / "chroma", calibration="off", concurrency=1
    )
    return Verifier(config, chat=FakeChatModel(), embedder=HashEmbedder())


def _items(tmp_path: Path) -> list:
    path = tmp_path / "g.jsonl"
    rows = [
        {"id": f"i{i}", "claim": f"claim {i}", "label": lab, "passages": [f"Passage {i} says it."]}
        for i, lab in enumerate(["supported", "disputed", "unverifiable"])
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return load_dataset(path)


def test_run_resumes_without_redoing_items_and_refuses_a_changed_setup(tmp_path: Path, verifier: Verifier) -> None:
    items = _items(tmp_path)
    chat: FakeChatModel = verifier.chat  # type: ignore[assignment]
    meta = run_meta(verifier, mode="judge", dataset="g", command="test", extra={})
    run_dir = tmp_path / "run"
    chat.enqueue(_judge_answer("supported"), _judge_answer("disputed"))
    log = RunLog(run_dir, meta, resume=False)
    with pytest.raises(AssertionError, match="no answer queued"):  # "crash" on the third item
        asyncio.run(run_items(verifier, items, log))
    assert len(log.records) == 2
    with pytest.raises(ConfigError, match="--resume"):
        RunLog(run_dir, meta, resume=False)
    with pytest.raises(ConfigError, match="model"):
        RunLog(run_dir, {**meta, "model": "other"}, resume=True)
    chat.enqueue(_judge_answer("unverifiable"))
    log = RunLog(run_dir, meta, resume=True)
    asyncio.run(run_items(verifier, items, log))
    assert chat.pending == 0 and len(log.records) == 3
    summary = finish_run(run_dir, list(log.records.values()), meta)
    assert summary["headline"]["accuracy"]["value"] == 1.0
    assert summary["citations_verified_rate"] == 1.0
    assert summary["headline_without_original"] == {}  # no original label shares a gold label
    assert {p.name for p in run_dir.iterdir()} >= {
        "items.jsonl",
        "summary.json",
        "report.md",
        "confusion.png",
        "meta.json",
    }


def test_a_line_cut_by_a_crash_is_skipped_and_its_item_redone(tmp_path: Path, verifier: Verifier) -> None:
    meta = run_meta(verifier, mode="judge", dataset="g", command="test", extra={})
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "meta.json").write_text(json.dumps(meta))
    (run_dir / "items.jsonl").write_text(json.dumps({"id": "i0", "gold": "supported"}) + '\n{"id": "i1", "go')
    assert [r["id"] for r in read_items(run_dir)] == ["i0"]
    log = RunLog(run_dir, meta, resume=True)
    assert log.done("i0") and not log.done("i1")
    (run_dir / "wall.jsonl").write_text(json.dumps({"items": 2, "seconds": 10.0}) + '\n{"items": 1, "sec')
    assert wall_time(run_dir) == {"wall_seconds": 10.0, "wall_seconds_per_item": 5.0}


def test_backend_failure_is_an_error_row_scored_as_wrong(tmp_path: Path, verifier: Verifier) -> None:
    from verify.errors import InvalidOutputError

    items = _items(tmp_path)
    verifier.chat.enqueue(_judge_answer("supported"), InvalidOutputError("bad"), _judge_answer("unverifiable"))  # type: ignore[attr-defined]
    meta = run_meta(verifier, mode="judge", dataset="g", command="test", extra={})
    log = RunLog(tmp_path / "run", meta, resume=False)
    asyncio.run(run_items(verifier, items, log))
    summary = finish_run(tmp_path / "run", list(log.records.values()), meta)
    assert summary["errors"] == 1
    assert summary["headline"]["accuracy"]["value"] == pytest.approx(2 / 3)
    assert summary["confusion"]["disputed"]["error"] == 1


def test_calibrate_then_compare(tmp_path: Path, verifier: Verifier) -> None:
    verifier._chat = FakeChatModel(label_logprobs={"supported": -0.2, "disputed": -2.0, "unverifiable": -3.0})
    items = _items(tmp_path)
    meta = run_meta(verifier, mode="judge", dataset="g", command="test", extra={})
    runs = []
    for name, labels in (("a", ["supported"] * 3), ("b", ["supported", "disputed", "unverifiable"])):
        verifier.chat.enqueue(*[_judge_answer(lab) for lab in labels])  # type: ignore[attr-defined]
        log = RunLog(tmp_path / name, meta, resume=False)
        asyncio.run(run_items(verifier, items, log))
        finish_run(tmp_path / name, list(log.records.values()), meta)
        runs.append(tmp_path / name)
    out = tmp_path / "cal.json"
    import argparse

    cmd_calibrate(argparse.Namespace(run_dir=runs[0], out=out))
    cal = json.loads(out.read_text())
    assert cal["model"] == verifier.model_name and cal["prompt_hash"] == verifier.judge_prompt.version
    assert sum(cal["priors"].values()) == pytest.approx(1.0, abs=1e-4)
    assert cal["priors"]["supported"] > cal["priors"]["disputed"] > cal["priors"]["unverifiable"]
    assert (runs[1] / "reliability.png").exists()
    table = compare_runs(runs[0], runs[1])
    assert "accuracy" in table and "too few shared items" in table


def test_pipeline_mode_ingests_evidence_into_the_run_directory(
    tmp_path: Path, small_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``verify eval run ARTICLES --mode pipeline --evidence DIR`` needs no configured store: the corpus
    is ingested inside the run directory, and the run scores extraction and verdicts against the gold."""
    import verify.verifier
    from verify.cli import main

    article = "Nordic states\n\nFinland became the 31st member of NATO on 4 April 2023. It was a provocation."
    gold = {
        "article": "n1.txt",
        "claims": [
            {
                "id": "c1",
                "text": "Finland became the 31st member of NATO on 4 April 2023.",
                "source_sentence": "Finland became the 31st member of NATO on 4 April 2023.",
                "kind": "fact",
                "label": "supported",
                "evidence": [{"doc": "finland", "quote": "Finland became the 31st member of NATO on 4 April 2023."}],
            }
        ],
    }
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "n1.txt").write_text(article, encoding="utf-8")
    (articles / "n1.gold.json").write_text(json.dumps(gold), encoding="utf-8")

    def route(request):  # the kind classifier and the judge may run in either order
        if request.schema_name == "checkable":
            return {"checkable": "provocation" not in request.messages[-1]["content"]}
        return {"label": "supported"}  # code picks the cited sentence

    chat = FakeChatModel()
    chat.enqueue(
        extraction_answer(
            [
                {"sentence": 2, "claim": "Finland became the 31st member of NATO on 4 April 2023", "kind": "fact"},
                {"sentence": 3, "claim": "Finland's accession was a provocation", "kind": "opinion"},
            ]
        ),
        route,  # the kind classifier (the opinion claim is dropped as ungrounded in "It was a provocation.")
        route,  # then the judge
    )
    monkeypatch.setenv("VERIFY_STORE", str(tmp_path / "no-store"))  # the configured store does not exist
    monkeypatch.setenv("VERIFY_CALIBRATION", "off")
    monkeypatch.setenv("VERIFY_KIND_COMBINER", "off")  # the recorded probability is the classifier's own
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())
    monkeypatch.setattr(verify.verifier.Verifier, "_build_chat", lambda self: chat)
    out = tmp_path / "run"
    rc = main(["eval", "run", str(articles), "--mode", "pipeline", "--evidence", str(small_corpus), "--out", str(out)])
    assert rc == 0
    assert chat.pending == 0
    assert (out / "chroma").is_dir() and not (tmp_path / "no-store").exists()
    record = json.loads((out / "items.jsonl").read_text().splitlines()[0])
    assert record["gold"][0]["prediction"] == "supported"
    assert record["gold"][0]["span_ok"] is True
    assert [(e["kind"], e["checkable_prob"]) for e in record["extracted"]] == [("fact", 1.0)]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["extraction"]["recall"] == 1.0
    assert summary["end_to_end"]["judged_only"]["claims"] == 1
    wall = [json.loads(line) for line in (out / "wall.jsonl").read_text().splitlines()]
    assert [w["items"] for w in wall] == [1]
    assert summary["cost"]["wall_seconds_per_item"] == pytest.approx(wall[0]["seconds"])
    from verify.evals.compare import compare_runs

    table = compare_runs(out, out)  # two judged runs: the end-to-end figures are compared too
    assert re.search(r"e2e_macro_f1\s+1\.000\s+1\.000", table) and "e2e_false_support" in table


def _cli_on_fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeChatModel:
    """``verify`` on the command line with a fake model (returned, for queuing answers) and embedder."""
    import verify.verifier

    chat = FakeChatModel()
    monkeypatch.setenv("VERIFY_CALIBRATION", "off")
    monkeypatch.setenv("VERIFY_CONCURRENCY", "1")
    monkeypatch.setenv("VERIFY_STORE", str(tmp_path / "chroma"))
    monkeypatch.setattr(verify.verifier, "make_embedder", lambda name: HashEmbedder())
    monkeypatch.setattr(verify.verifier.Verifier, "_build_chat", lambda self: chat)
    return chat


def test_an_interrupted_run_writes_a_partial_summary_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during ``verify eval run`` keeps what finished, summarises it marked partial, exits 130;
    ``--resume`` then judges only the rest and the summary is whole again."""
    from verify.cli import main

    def interrupt(request: object) -> dict:
        raise KeyboardInterrupt

    _items(tmp_path)  # writes g.jsonl
    chat = _cli_on_fakes(tmp_path, monkeypatch)
    out = tmp_path / "run"
    args = ["eval", "run", str(tmp_path / "g.jsonl"), "--out", str(out)]
    chat.enqueue(_judge_answer("supported"), interrupt)
    assert main(args) == 130
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial"] == {"done": 1, "planned": 3} and summary["items"] == 1
    assert "Partial run: 1 of 3" in (out / "report.md").read_text()
    chat.enqueue(_judge_answer("disputed"), _judge_answer("unverifiable"))
    assert main([*args, "--resume"]) == 0
    assert chat.pending == 0
    summary = json.loads((out / "summary.json").read_text())
    assert "partial" not in summary and summary["items"] == 3


def test_rescore_reproduces_a_run_and_measures_a_code_side_change(tmp_path: Path) -> None:
    """Re-scoring with the run's own settings gives the same predictions; switching the figure check on
    changes only the verdict whose figure is in no passage; the model is never called."""
    from verify.evals.rescore import rescore_run

    data = tmp_path / "g.jsonl"
    rows = [
        {"id": "a", "claim": "Finland joined in 2023.", "label": "supported", "passages": ["Finland joined in 2023."]},
        {"id": "b", "claim": "Sweden joined in 2023.", "label": "disputed", "passages": ["Sweden joined in 2024."]},
        {"id": "c", "claim": "Norway joined early.", "label": "unverifiable", "passages": ["Norway is a founder."]},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    items = load_dataset(data)
    chat = FakeChatModel(label_logprobs={"supported": -0.1, "disputed": -2.5, "unverifiable": -3.0})
    chat.enqueue(*[_judge_answer("supported")] * 3)
    config = VerifyConfig(
        extractor="windows",
        kind_classifier=False,
        store_path=tmp_path / "chroma",
        calibration="off",
        concurrency=1,
        figure_check=False,
    )
    verifier = Verifier(config, chat=chat, embedder=HashEmbedder())
    meta = run_meta(verifier, mode="judge", dataset=str(data), command="test", extra={})
    log = RunLog(tmp_path / "run", meta, resume=False)
    asyncio.run(run_items(verifier, items, log))
    finish_run(tmp_path / "run", list(log.records.values()), meta)

    same = rescore_run(verifier, tmp_path / "run", tmp_path / "same")
    assert same["headline"]["accuracy"]["value"] == pytest.approx(1 / 3)
    checked = Verifier(config.model_copy(update={"figure_check": True}), chat=FakeChatModel())
    summary = rescore_run(checked, tmp_path / "run", tmp_path / "checked")
    rescored = {r["id"]: r for r in map(json.loads, (tmp_path / "checked" / "items.jsonl").read_text().splitlines())}
    assert {k: r["prediction"] for k, r in rescored.items()} == {
        "a": "supported",
        "b": "unverifiable",
        "c": "supported",
    }
    assert rescored["b"]["downgrade_reason"].endswith("2023")
    assert summary["downgrade_rate"] == pytest.approx(1 / 3)
    assert "accuracy" in compare_runs(tmp_path / "same", tmp_path / "checked")
    with pytest.raises(ConfigError, match="already holds"):
        rescore_run(checked, tmp_path / "run", tmp_path / "checked")


def test_the_kind_threshold_sweep_trades_non_facts_against_facts(tmp_path: Path) -> None:
    from verify.evals.kinds import shares_at, sweep

    def row(gold_kind: str, prob: float) -> dict:
        return {
            "gold_kind": gold_kind,
            "claim_id": "c",
            "kind": "fact",
            "model_kind": "fact",
            "checkable_prob": prob,
            "text": "Some statement.",
        }

    rows = [row("fact", 0.9), row("fact", 0.4), row("opinion", 0.3), row("opinion", 0.6)]
    assert shares_at(rows, 0.5) == (0.5, 0.5)
    assert shares_at(rows, 0.35) == (0.5, 0.0)
    assert shares_at(rows, 0.95) == (1.0, 1.0)
    question = {**row("other", 0.9), "kind": "other", "kind_reason": "question"}
    assert shares_at([*rows, question], 0.5) == (2 / 3, 0.5)  # a question stays aside at any threshold
    (tmp_path / "items.jsonl").write_text(json.dumps({"id": "a", "gold": rows}) + "\n", encoding="utf-8")
    report = sweep(tmp_path, max_facts_aside=0.0)
    assert "| 0.35 | 0.500 | 0.000 |" in report
    assert "threshold 0.05 (0.000)" not in report and "threshold 0.35 (0.500)" in report


def test_compare_of_runs_with_different_items_scores_both_on_the_shared_items(tmp_path: Path) -> None:
    def record(i: int, prediction: str) -> dict:
        gold = ("supported", "disputed", "unverifiable")[i % 3]
        return {
            "id": f"i{i}",
            "claim": "c",
            "gold": gold,
            "original_label": gold,
            "tags": [],
            "prediction": prediction if prediction != "gold" else gold,
            "model_label": gold,
        }

    small = [record(i, "supported") for i in range(30)]  # 1/3 right
    large = [record(i, "gold") for i in range(30)] + [record(i, "supported") for i in range(30, 90)]
    for name, recs in (("small", small), ("large", large)):
        meta = {
            "mode": "judge",
            "dataset": "g",
            "model": "m",
            "backend": "fake",
            "prompt_hashes": {},
            "command": "test",
        }
        (tmp_path / name).mkdir()
        finish_run(tmp_path / name, recs, meta)
        (tmp_path / name / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    table = compare_runs(tmp_path / "small", tmp_path / "large")
    assert "shared items: 30" in table and "computed on the shared items" in table
    accuracy_row = next(line for line in table.splitlines() if line.startswith("accuracy"))
    assert "+0.667" in accuracy_row  # 1/3 -> 1 on the 30 shared items, not 1/3 -> 0.556 over all 90


def test_combiner_is_fitted_on_a_dev_run_and_found_for_the_judge_prompt(tmp_path: Path, verifier: Verifier) -> None:
    from verify.combiner import find_combiner
    from verify.evals.combine import cross_fitted_run, fit_combiner

    path = tmp_path / "g.jsonl"
    rows = [
        {
            "id": f"i{i}",
            "claim": f"Claim {i} about Finland in 2023.",
            "label": lab,
            "split": "dev",
            "passages": [f"Finland joined in 2023. Passage {i} says more."],
        }
        for i, lab in enumerate(["supported", "disputed", "unverifiable"] * 10)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    verifier._chat = FakeChatModel(label_logprobs={"supported": -0.2, "disputed": -2.0, "unverifiable": -3.0})
    verifier.chat.enqueue(*[_judge_answer(r["label"]) for r in rows])  # type: ignore[attr-defined]
    meta = run_meta(verifier, mode="judge", dataset=str(path), command="test", extra={"split": "dev"})
    log = RunLog(tmp_path / "run", meta, resume=False)
    asyncio.run(run_items(verifier, load_dataset(path), log))
    finish_run(tmp_path / "run", list(log.records.values()), meta)

    comb = fit_combiner(verifier, tmp_path / "run")
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "c.json").write_text(comb.to_json())
    found = find_combiner(tmp_path / "cal", verifier.model_name, verifier.judge_prompt.sha256)
    assert found is not None and "30 items" in found.fitted_on
    summary = cross_fitted_run(verifier, tmp_path / "run", tmp_path / "cv", folds=2, c=0.5)
    assert summary["items"] == 30 and (tmp_path / "cv" / "report.md").exists()


def test_combiner_features_in_fitting_use_the_sentence_the_judge_cites(tmp_path: Path) -> None:
    """When code cites, the features a combiner is fitted on must be those it is applied to: computed on
    the closest shown sentence, not on the model's (empty) list of sentence ids."""
    from verify.combiner import features
    from verify.evals.combine import feature_rows

    config = VerifyConfig(
        extractor="windows",
        kind_classifier=False,
        store_path=tmp_path / "chroma",
        calibration="off",
        concurrency=1,
        judge_citations="code",
    )
    verifier = Verifier(config, chat=FakeChatModel(), embedder=HashEmbedder())
    path = tmp_path / "g.jsonl"
    rows = [
        {
            "id": "i0",
            "claim": "Finland joined NATO in 2023.",
            "label": "supported",
            "passages": ["Finland joined NATO in 2023. The weather was fine."],
        }
    ]
    path.write_text(json.dumps(rows[0]))
    verifier._chat = FakeChatModel(label_logprobs={"supported": -0.2, "disputed": -2.0, "unverifiable": -3.0})
    verifier.chat.enqueue({"label": "supported"})  # type: ignore[attr-defined]
    meta = run_meta(verifier, mode="judge", dataset=str(path), command="test", extra={})
    log = RunLog(tmp_path / "run", meta, resume=False)
    asyncio.run(run_items(verifier, load_dataset(path), log))
    finish_run(tmp_path / "run", list(log.records.values()), meta)
    fitted, _, _ = feature_rows(verifier, tmp_path / "run")
    assert fitted[0]["cited_overlap"] == 1.0 and fitted[0]["figures_missing_in_cited"] == 0.0
    judge = verifier.make_judge()
    numbered = judge.prepare(rows[0]["claim"], load_dataset(path)[0].passages)
    probs = {Label(k): float(v) for k, v in log.records["i0"]["label_probs_raw"].items()}
    assert fitted[0] == features(rows[0]["claim"], numbered, numbered.ranked[:1], probs)


def test_a_cached_rerun_scores_the_same_answers_without_model_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--cache DIR`` answers a repeated run from the response cache: a code-side change is then
    measured on the model answers of the first run, and the summary says how many were cached."""
    from verify.cli import main

    _items(tmp_path)
    chat = _cli_on_fakes(tmp_path, monkeypatch)
    args = ["eval", "run", str(tmp_path / "g.jsonl"), "--cache", str(tmp_path / "cache")]
    chat.enqueue(_judge_answer("supported"), _judge_answer("disputed"), _judge_answer("unverifiable"))
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert chat.pending == 0 and len(chat.requests) == 3
    assert main([*args, "--out", str(tmp_path / "b")]) == 0  # nothing queued: any model call would fail
    assert len(chat.requests) == 3

    def predictions(run: str) -> list[tuple[str, str]]:
        rows = [json.loads(line) for line in (tmp_path / run / "items.jsonl").read_text().splitlines()]
        return sorted((r["id"], r["prediction"]) for r in rows)

    assert predictions("a") == predictions("b") and len(predictions("b")) == 3
    assert {p for _, p in predictions("b")} == {"supported", "disputed", "unverifiable"}
    cost = [json.loads((tmp_path / r / "summary.json").read_text())["response_cache"] for r in "ab"]
    assert cost == [{"hits": 0, "misses": 3}, {"hits": 3, "misses": 0}]
    assert json.loads((tmp_path / "b" / "meta.json").read_text())["response_cache"] == str(tmp_path / "cache")
