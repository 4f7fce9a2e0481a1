"""Probe for issue #11: do two yes/no questions, read from the answer token's probabilities, add to
the judge's combiner? (Measured on 2026-12-03: no; evals/RESULTS.md section 16.)

For each item of a stored retrieval-mode judge run, the same evidence sentences the judge was shown
(``Judge.prepare``) and the claim are put to the model twice with ``prompts/judge_question.md``:
"does the evidence state the claim?" and "does it state something that cannot be true together with
it?", each answered by one continued token. Then the combiner's out-of-fold figures (5 folds by the
sha256 of the item id, C = 0.5, the default floor of 0.60 on "supported") are compared with and
without the two answers as features, with a paired bootstrap over items.

    python evals/tools/probe_judge_questions.py RUN_DIR ANSWERS.json           # asks the model
    python evals/tools/probe_judge_questions.py RUN_DIR ANSWERS.json --score   # the comparison only
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from verify.config import VerifyConfig
from verify.evals.combine import feature_rows, judged_records
from verify.evals.rescore import NoModel, passages_by_item
from verify.fences import data_line
from verify.llm import ChatRequest, TokenLogprob, continued
from verify.models import LABELS, Label
from verify.prompts import load_prompt
from verify.verifier import Verifier

QUESTIONS = {
    "states": "Does the evidence state the claim, with the same numbers, dates, names and outcome?",
    "contradicts": "Does the evidence state something that cannot be true together with the claim, such as a "
    "different number, date, person, place or outcome for the same event?",
}
PREFIX = '{"answer": "'
SUPPORTED, UNVERIFIABLE = LABELS.index(Label.SUPPORTED), LABELS.index(Label.UNVERIFIABLE)


def p_yes(logprobs: list[TokenLogprob] | None) -> float | None:
    if not logprobs:
        return None
    mass = {"yes": 0.0, "no": 0.0}
    for token, logprob in logprobs[0].top or ((logprobs[0].token, logprobs[0].logprob),):
        if (piece := token.strip().lower()) in mass:
            mass[piece] += math.exp(logprob)
    total = mass["yes"] + mass["no"]
    return mass["yes"] / total if total else None


async def ask(verifier: Verifier, run_dir: Path, out: Path) -> None:
    prompt = load_prompt(verifier.config.prompts_dir, "judge_question")
    meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    records = judged_records(run_dir)
    passages = passages_by_item(meta, run_dir, records, verifier)
    judge, chat = verifier.make_judge(chat=NoModel()), verifier.chat
    answers: dict[str, dict[str, float | None]] = json.loads(out.read_text()) if out.exists() else {}
    gate = asyncio.Semaphore(verifier.config.concurrency)
    spent = {"calls": 0, "prompt_tokens": 0, "cached_tokens": 0}
    started = time.perf_counter()

    async def one(rec: dict[str, Any]) -> None:
        numbered = judge.prepare(rec["claim"], passages[rec["id"]])
        got: dict[str, float | None] = {}
        async with gate:  # one item's two questions in turn: the second reuses the first's prefix
            for name, question in QUESTIONS.items():
                messages = prompt.render(claim=data_line(rec["claim"]), evidence=numbered.text, question=question)
                request = ChatRequest(messages=messages, schema=None, schema_name="answer", logprobs=True)
                result = await chat.acomplete(continued(request, PREFIX))
                spent["calls"] += 1
                spent["prompt_tokens"] += result.usage.prompt_tokens
                spent["cached_tokens"] += result.usage.cached_tokens
                got[name] = p_yes(result.logprobs)
        answers[rec["id"]] = got

    await asyncio.gather(*(one(r) for r in records if r["id"] not in answers))
    out.write_text(json.dumps(answers, indent=1), encoding="utf-8")
    print(f"{len(records)} items, {time.perf_counter() - started:.0f} s, {spent}")


def out_of_fold(rows: list[dict[str, float]], gold: list[Label], ids: list[str], floor: float = 0.60) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    names = list(rows[0])
    x = np.array([[r[f] for f in names] for r in rows])
    y = np.array([LABELS.index(g) for g in gold])
    fold = np.array([int(hashlib.sha256(i.encode()).hexdigest(), 16) % 5 for i in ids])
    probs = np.zeros((len(rows), len(LABELS)))
    for k in range(5):
        train, held = fold != k, fold == k
        mean, scale = x[train].mean(0), x[train].std(0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=0.5, max_iter=2000).fit((x[train] - mean) / scale, y[train])
        probs[np.ix_(held, model.classes_)] = model.predict_proba((x[held] - mean) / scale)
    labels = probs.argmax(1)
    return np.where((labels == SUPPORTED) & (probs[:, SUPPORTED] < floor), UNVERIFIABLE, labels)


def figures(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    from sklearn.metrics import f1_score

    not_supported = y != SUPPORTED
    false_support = ((pred == SUPPORTED) & not_supported).sum() / not_supported.sum()
    return np.array([f1_score(y, pred, average="macro", labels=[0, 1, 2]), false_support, (pred == y).mean()])


def score(verifier: Verifier, run_dir: Path, out: Path) -> None:
    rows, gold, _ = feature_rows(verifier, run_dir)
    ids = [r["id"] for r in judged_records(run_dir)]
    answers = json.loads(out.read_text(encoding="utf-8"))
    keep = [i for i, item in enumerate(ids) if None not in answers.get(item, {None: None}).values()]
    rows, gold, ids = [rows[i] for i in keep], [gold[i] for i in keep], [ids[i] for i in keep]
    asked = [
        {**row, **{f"log_p_{q}": math.log(max(answers[item][q], 1e-6)) for q in QUESTIONS}}
        for row, item in zip(rows, ids, strict=True)
    ]
    without_label = [
        {k: v for k, v in row.items() if not k.startswith("log_p_") or k[6:] in QUESTIONS} for row in asked
    ]
    y = np.array([LABELS.index(g) for g in gold])
    preds = {
        "combiner as shipped (14 features)": out_of_fold(rows, gold, ids),
        "plus the two answers": out_of_fold(asked, gold, ids),
        "the two answers instead of the label probabilities": out_of_fold(without_label, gold, ids),
    }
    base = preds["combiner as shipped (14 features)"]
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, len(y), len(y)) for _ in range(1000)]
    print(f"{len(y)} items, out of fold: macro-F1, false support, accuracy")
    for name, pred in preds.items():
        line = "  {}: {:.3f}, {:.3f}, {:.3f}".format(name, *figures(pred, y))
        if pred is not base:
            diff = np.array([figures(pred[b], y[b]) - figures(base[b], y[b]) for b in draws])
            lo, hi = np.percentile(diff, [2.5, 97.5], axis=0)
            line += f"; paired macro-F1 [{lo[0]:+.3f}, {hi[0]:+.3f}], false support [{lo[1]:+.3f}, {hi[1]:+.3f}]"
        print(line)
    for q in QUESTIONS:
        means = ", ".join(
            f"{g.value} {np.mean([answers[i][q] for i, gg in zip(ids, gold, strict=True) if gg == g]):.2f}"
            for g in LABELS
        )
        print(f"  mean P(yes) to '{q}' by gold label: {means}")


def main() -> None:
    verifier = Verifier(VerifyConfig.load())
    run_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    if "--score" in sys.argv:
        score(verifier, run_dir, out)
    else:
        asyncio.run(ask(verifier, run_dir, out))


if __name__ == "__main__":
    main()
