"""Fitting the judge's combiner (:mod:`verify.combiner`) on a stored development run.

The run must have been made with the current judge prompt and model; features are recomputed from
each item's stored output and the passages it was shown, so fitting costs no model call. Fit on the
development split only: the recorded figures come from applying the result to the test split.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..combiner import FEATURES, Combiner, features
from ..errors import ConfigError
from ..models import LABELS, Label
from ..verifier import Verifier
from .rescore import NoModel, passages_by_item, redecide, stored_output, write_rescored_run
from .runner import judge_prompt_version, verdict_fields
from .summary import read_items


def judged_records(run_dir: Path) -> list[dict[str, Any]]:
    """The items of a stored run that the model answered with label probabilities."""
    return [r for r in read_items(run_dir) if r.get("raw_output") and r.get("label_probs_raw")]


def feature_rows(verifier: Verifier, run_dir: Path) -> tuple[list[dict[str, float]], list[Label], dict[str, Any]]:
    meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    if meta["mode"] not in ("judge", "retrieval"):
        raise ConfigError(f"a combiner is fitted on a judge or retrieval run, not a {meta['mode']} run")
    if meta["model"] != verifier.model_name or judge_prompt_version(meta) != verifier.judge_prompt.version:
        raise ConfigError(f"{run_dir} was not run with the current model and judge prompt")
    records = judged_records(run_dir)
    passages = passages_by_item(meta, run_dir, records, verifier)
    judge = verifier.make_judge(chat=NoModel())
    rows, gold = [], []
    for rec in records:
        numbered = judge.prepare(rec["claim"], passages[rec["id"]])
        output, probs = stored_output(rec)
        assert probs is not None  # records without raw probabilities were left out above
        rows.append(features(rec["claim"], numbered, judge.cited_ids(numbered, output), probs))
        gold.append(Label(rec["gold"]))
    return rows, gold, meta


def fit_combiner(verifier: Verifier, run_dir: Path, *, c: float = 0.5) -> Combiner:
    rows, gold, meta = feature_rows(verifier, run_dir)
    fitted_on = f"{run_dir} ({meta['mode']} mode, {len(rows)} items, split {meta.get('split')}), C={c}"
    return fit_rows(
        rows, gold, model=meta["model"], prompt_hash=verifier.judge_prompt.version, c=c, fitted_on=fitted_on
    )


def fit_rows(
    rows: list[dict[str, float]], gold: list[Label], *, model: str, prompt_hash: str, c: float, fitted_on: str
) -> Combiner:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    if len(set(gold)) < len(LABELS):
        raise ConfigError("the run must hold items of every label to fit a combiner")
    x = np.array([[r[f] for f in FEATURES] for r in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    y = np.array([LABELS.index(g) for g in gold])
    lr = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
    classes = [LABELS[i] for i in lr.classes_]
    return Combiner(
        model=model,
        prompt_hash=prompt_hash,
        coef={lab: dict(zip(FEATURES, map(float, lr.coef_[i]), strict=True)) for i, lab in enumerate(classes)},
        intercept={lab: float(lr.intercept_[i]) for i, lab in enumerate(classes)},
        mean=dict(zip(FEATURES, map(float, mean), strict=True)),
        scale=dict(zip(FEATURES, map(float, scale), strict=True)),
        source="fitted",
        fitted_on=fitted_on,
    )


def cross_fitted_run(verifier: Verifier, run_dir: Path, out_dir: Path, *, folds: int, c: float) -> dict[str, Any]:
    """The run re-scored with out-of-fold combiners: each item is decided by a combiner fitted on the
    other folds (folds by the sha256 of the item id), so the figures are an honest estimate on the
    development data itself. Written as a run that ``compare`` can set beside the original."""
    if (out_dir / "items.jsonl").exists():
        raise ConfigError(f"{out_dir} already holds a run")
    rows, gold, meta = feature_rows(verifier, run_dir)
    records = judged_records(run_dir)
    fold = [int(hashlib.sha256(r["id"].encode()).hexdigest(), 16) % folds for r in records]
    passages = passages_by_item(meta, run_dir, records, verifier)
    for k in range(folds):
        train = [i for i, f in enumerate(fold) if f != k]
        comb = fit_rows(
            [rows[i] for i in train],
            [gold[i] for i in train],
            model=meta["model"],
            prompt_hash=verifier.judge_prompt.version,
            c=c,
            fitted_on=f"fold {k}",
        )
        judge = verifier.make_judge(calibration=comb, chat=NoModel())
        for i, rec in enumerate(records):
            if fold[i] == k:
                rec.update(verdict_fields(redecide(judge, rec, passages[rec["id"]])))
    new_meta = {**meta, "calibration": f"combiner, {folds}-fold cross-fitted, C={c}", "rescored_from": str(run_dir)}
    return write_rescored_run(run_dir, out_dir, records, new_meta)
