"""Re-scoring a stored judge-level run without the model: each item's raw output and raw label
probabilities go through the current post-model steps (calibration, citation checks, the figure
check) again, and the result is written as a new run that ``compare`` can set beside the original.
What the model wrote is not re-generated, so the comparison isolates the code-side change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..judge import Judge, JudgeOutput
from ..llm import ChatRequest, ChatResult
from ..models import EvidencePassage, Label, Verdict
from ..store import EvidenceStore
from ..verifier import Verifier
from .datasets import load_dataset
from .runner import judge_prompt_version, verdict_fields
from .summary import finish_run, read_items


class NoModel:
    """Re-scoring never calls the model; starting one would only cost time."""

    name = "none"

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        raise AssertionError("rescore must not call the model")


def passages_by_item(
    meta: dict[str, Any], run_dir: Path, records: list[dict[str, Any]], verifier: Verifier
) -> dict[str, list[EvidencePassage]]:
    if meta["mode"] == "judge":
        items = load_dataset(Path(meta["dataset"]), meta.get("format") or "auto", meta.get("label_map"))
        return {it.id: it.passages for it in items}
    store = EvidenceStore(verifier.embedder, path=run_dir / "chroma", collection="eval")
    by_id = {p.id: p for p in store.all_passages()}
    return {rec["id"]: [by_id[pid] for pid in rec["retrieved"]] for rec in records if rec.get("retrieved")}


def rescore_run(verifier: Verifier, run_dir: Path, out_dir: Path) -> dict[str, Any]:
    meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    if meta["mode"] not in ("judge", "retrieval"):
        raise ConfigError(f"rescore works on judge and retrieval runs, not {meta['mode']} runs")
    if meta["model"] != verifier.model_name or judge_prompt_version(meta) != verifier.judge_prompt.version:
        raise ConfigError(
            f"{run_dir} was run with {meta['model']} / judge prompt {judge_prompt_version(meta)}; "
            f"the current setup is {verifier.model_name} / {verifier.judge_prompt.version}"
        )
    if (out_dir / "items.jsonl").exists():
        raise ConfigError(f"{out_dir} already holds a run")
    records = read_items(run_dir)
    passages = passages_by_item(meta, run_dir, records, verifier)
    judge = verifier.make_judge(chat=NoModel())
    for rec in records:
        if rec.get("raw_output") is not None:
            if rec["id"] not in passages:
                raise InputError(f"{run_dir}: no passages for item {rec['id']}")
            rec.update(verdict_fields(redecide(judge, rec, passages[rec["id"]])))
    new_meta = {
        **meta,
        "calibration": verifier.calibration.source if verifier.calibration else None,
        "config": verifier.config.redacted(),
        "rescored_from": str(run_dir),
    }
    return write_rescored_run(run_dir, out_dir, records, new_meta)


def stored_output(rec: dict[str, Any]) -> tuple[JudgeOutput, dict[Label, float] | None]:
    """An item record's stored model output and raw label probabilities."""
    raw_probs = rec.get("label_probs_raw")
    probs = {Label(k): float(p) for k, p in raw_probs.items()} if raw_probs else None
    return JudgeOutput.model_validate_json(rec["raw_output"]), probs


def redecide(judge: Judge, rec: dict[str, Any], passages: list[EvidencePassage]) -> Verdict:
    """The verdict the judge's post-model steps give a stored item record now."""
    output, probs = stored_output(rec)
    return judge.decide(
        rec["id"], rec["claim"], judge.prepare(rec["claim"], passages), output, rec["raw_output"], probs
    )


def write_rescored_run(run_dir: Path, out_dir: Path, records: list[dict[str, Any]], meta: dict[str, Any]) -> dict:
    """Write re-decided records as a run of their own; the model's cost (wall time) is the original's."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    with (out_dir / "items.jsonl").open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, default=str) + "\n")
    if (run_dir / "wall.jsonl").exists():
        (out_dir / "wall.jsonl").write_text((run_dir / "wall.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    return finish_run(out_dir, records, meta)
