"""``verify eval``: run, rescore, compare, calibrate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..calibration import Calibration
from ..errors import ConfigError, InputError
from ..models import Label
from .summary import read_items


def add_eval_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = sub.add_parser(
        "eval",
        help="measure judge accuracy, retrieval and extraction on gold sets",
        description="Eval harness. See evals/README.md for datasets and metrics.",
    )
    esub = parser.add_subparsers(dest="eval_command", required=True)

    run = esub.add_parser(
        "run",
        help="run an eval and write a results directory",
        description="Judge-level datasets (JSONL): modes 'judge' (gold passages given) and "
        "'retrieval' (passages ingested, then retrieved). Kind gold (JSONL with 'kind' and 'sentence', "
        "e.g. evals/kind_gold.jsonl): mode 'kinds' (the kind step alone). Annotated article folders: modes "
        "'extraction' and 'pipeline' (full check). Writes items.jsonl, summary.json, report.md "
        "and PNG plots to --out.",
    )
    run.add_argument("dataset", type=Path, help="JSONL file (generic or CLIMATE-FEVER) or a folder of *.gold.json")
    run.add_argument(
        "--mode",
        choices=["judge", "retrieval", "kinds", "extraction", "pipeline"],
        help="default: judge for JSONL (kinds for kind gold), pipeline for article folders",
    )
    run.add_argument("--format", choices=["auto", "generic", "climate-fever"], default="auto")
    run.add_argument(
        "--label-map",
        type=json.loads,
        help='JSON object mapping dataset labels to ours, e.g. \'{"SUPPORTS": "supported", "REFUTES": "disputed"}\'',
    )
    run.add_argument(
        "--evidence",
        type=Path,
        help="retrieval mode: ingest this corpus instead of the items' passages; pipeline mode: ingest it into "
        "a store inside the run directory instead of using the configured store",
    )
    run.add_argument("--limit", type=int, help="stratified sample of this many items (by original label)")
    run.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    run.add_argument(
        "--split",
        choices=["dev", "test"],
        help="only the articles or items of this split (dev: look, tune, fit; test: report only)",
    )
    run.add_argument(
        "--exclude-sample",
        metavar="N:SEED",
        help="leave out the items that --limit N --seed SEED would pick (e.g. a calibration holdout)",
    )
    run.add_argument("--calibration", help="'auto', 'off' or a calibration JSON (default: config)")
    run.add_argument("--out", type=Path, help="results directory (default: runs/<mode>-<timestamp>)")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    run.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="answer repeated model requests from the response cache in DIR (as batch runs do): a code "
        "change after the model calls is then scored on the same answers, at no model cost; the run's "
        "timings and token counts then describe the cache, not the model",
    )
    common(run)
    run.set_defaults(handler=cmd_run)

    rescore = esub.add_parser(
        "rescore",
        help="re-apply calibration and the code checks to a stored run, without the model",
        description="Takes a judge or retrieval run and writes a new run in which every item's stored raw "
        "output and raw label probabilities go through the current calibration, citation checks and figure "
        "check. Compare it with the original to measure a code-side change at no model cost.",
    )
    rescore.add_argument("run_dir", type=Path)
    rescore.add_argument("--out", type=Path, required=True, help="results directory for the re-scored run")
    rescore.add_argument("--calibration", help="'auto', 'off' or a calibration JSON (default: config)")
    common(rescore)
    rescore.set_defaults(handler=cmd_rescore)

    compare = esub.add_parser("compare", help="compare two runs side by side")
    compare.add_argument("run_a", type=Path)
    compare.add_argument("run_b", type=Path)
    compare.set_defaults(handler=lambda args, _config: _print(_compare(args)))

    kinds = esub.add_parser(
        "kinds",
        help="sweep the kind classifier's threshold over an extraction run (fit on the dev split)",
    )
    kinds.add_argument("run_dir", type=Path)
    kinds.add_argument("--max-facts-aside", type=float, default=0.08, help="the most gold facts to set aside")
    kinds.set_defaults(handler=lambda args, _config: _print(_kinds(args)))

    cal = esub.add_parser(
        "calibrate",
        help="fit label priors from a run's raw label probabilities",
        description="Fits each label's mean probability over the run's items (a run made with "
        "--calibration off) and writes a calibration JSON tied to the run's model and judge "
        "prompt. Fit on items you will not evaluate on.",
    )
    cal.add_argument("run_dir", type=Path)
    cal.add_argument(
        "--out", type=Path, required=True, help="calibration JSON to write (e.g. evals/calibration/x.json)"
    )
    cal.set_defaults(handler=lambda args, _config: cmd_calibrate(args))

    comb = esub.add_parser(
        "combine",
        help="fit the judge's combiner (label probabilities + code features) on a development run, or the "
        "kind combiner on a kinds run",
        description="Fits a multinomial logistic regression of the gold label on the model's raw label "
        "probabilities and features computed in code (figures and names in the cited sentences, word "
        "overlap, negation) over a judge or retrieval run of the current judge prompt, and writes it as "
        "JSON tied to the model and prompt. Fit on the dev split; score on the test split.",
    )
    comb.add_argument("run_dir", type=Path)
    comb.add_argument("--out", type=Path, help="combiner JSON to write (in evals/calibration/)")
    comb.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="instead of fitting one combiner, re-score the run with K-fold out-of-fold combiners into --cv-out",
    )
    comb.add_argument("--cv-out", type=Path, help="results directory for the cross-fitted run")
    comb.add_argument("--c", type=float, default=0.5, help="inverse regularisation strength (default 0.5)")
    common(comb)
    comb.set_defaults(handler=cmd_combine)


def _print(text: str) -> int:
    print(text)
    return 0


def _kinds(args: argparse.Namespace) -> str:
    from .kinds import sweep

    return sweep(args.run_dir, args.max_facts_aside)


def _compare(args: argparse.Namespace) -> str:
    from .compare import compare_runs

    return compare_runs(args.run_a, args.run_b)


def cmd_rescore(args: argparse.Namespace, make_config: Callable[[argparse.Namespace], Any]) -> int:
    from ..verifier import Verifier
    from .rescore import rescore_run

    config = make_config(args)
    if args.calibration:
        config = config.model_copy(update={"calibration": args.calibration})
    with Verifier(config) as verifier:
        rescore_run(verifier, args.run_dir, args.out)
    print((args.out / "report.md").read_text(encoding="utf-8"))
    print(f"results: {args.out}")
    return 0


def cmd_combine(args: argparse.Namespace, make_config: Callable[[argparse.Namespace], Any]) -> int:
    from ..verifier import Verifier
    from .combine import cross_fitted_run, fit_combiner

    meta = json.loads((args.run_dir / "meta.json").read_text(encoding="utf-8"))
    if meta.get("split") == "test":
        raise ConfigError(f"{args.run_dir} is a run on the test split: fit on the dev split")
    if meta["mode"] == "kinds":
        return _combine_kinds(args)
    config = make_config(args).model_copy(update={"calibration": "off"})
    if args.cv:
        if not args.cv_out:
            raise ConfigError("--cv needs --cv-out")
        with Verifier(config) as verifier:
            cross_fitted_run(verifier, args.run_dir, args.cv_out, folds=args.cv, c=args.c)
        print((args.cv_out / "report.md").read_text(encoding="utf-8"))
        return 0
    if not args.out:
        raise ConfigError("combine needs --out (or --cv K --cv-out DIR)")
    with Verifier(config) as verifier:
        comb = fit_combiner(verifier, args.run_dir, c=args.c)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(comb.to_json() + "\n", encoding="utf-8")
    print(f"combiner fitted on {comb.fitted_on} -> {args.out}")
    return 0


def _combine_kinds(args: argparse.Namespace) -> int:
    from .kind_items import fit_from_run, write_cross_fitted_run

    if args.cv:
        if not args.cv_out:
            raise ConfigError("--cv needs --cv-out")
        write_cross_fitted_run(args.run_dir, args.cv_out, folds=args.cv, c=args.c)
        print((args.cv_out / "report.md").read_text(encoding="utf-8"))
        return 0
    if not args.out:
        raise ConfigError("combine needs --out (or --cv K --cv-out DIR)")
    comb = fit_from_run(args.run_dir, c=args.c)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(comb.to_json() + "\n", encoding="utf-8")
    print(f"kind combiner fitted on {comb.fitted_on}, threshold {comb.threshold:.2f} -> {args.out}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .runner import judge_prompt_version

    meta = json.loads((args.run_dir / "meta.json").read_text(encoding="utf-8"))
    if meta.get("calibration"):
        raise ConfigError(
            f"{args.run_dir} was run with calibration {meta['calibration']}; fit on a run with --calibration off"
        )
    probs = [
        {Label(k): float(v) for k, v in rec["label_probs_raw"].items()}
        for rec in read_items(args.run_dir)
        if rec.get("label_probs_raw")
    ]
    if not probs:
        raise InputError(f"no raw label probabilities in {args.run_dir} (did the endpoint return logprobs?)")
    cal = Calibration.fit(
        probs,
        model=meta["model"],
        prompt_hash=judge_prompt_version(meta),
        fitted_on=f"{meta['dataset']} ({len(probs)} items, run {args.run_dir.name})",
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(cal.to_json() + "\n", encoding="utf-8")
    print(f"priors {', '.join(f'{k.value} {v:.3f}' for k, v in cal.priors.items())} -> {args.out}")
    return 0


def _kind_units(args: argparse.Namespace) -> list[Any]:
    """Kind gold items of the asked split; ``--limit`` takes a seeded random subset, in file order."""
    import random

    from .kind_items import load_kind_items

    items = load_kind_items(args.dataset)
    if args.split:
        items = [it for it in items if it.split == args.split]
        if not items:
            raise ConfigError(f"no item in {args.dataset} is in split {args.split!r}")
    if args.limit and args.limit < len(items):
        keep = set(random.Random(args.seed).sample(range(len(items)), args.limit))
        items = [it for i, it in enumerate(items) if i in keep]
    return items


def cmd_run(args: argparse.Namespace, make_config: Callable[[argparse.Namespace], Any]) -> int:
    from tqdm import tqdm

    from ..verifier import Verifier
    from . import runner
    from .datasets import load_articles, load_dataset, stratified_sample
    from .summary import finish_run

    config = make_config(args)
    if args.calibration:
        config = config.model_copy(update={"calibration": args.calibration})
    from .kind_items import is_kind_dataset

    articles = args.dataset.is_dir()
    kind_gold = is_kind_dataset(args.dataset)
    mode = args.mode or ("pipeline" if articles else "kinds" if kind_gold else "judge")
    if articles != (mode in ("extraction", "pipeline")):
        raise ConfigError(f"mode {mode} needs {'an article folder' if not articles else 'a JSONL dataset'}")
    if kind_gold != (mode == "kinds"):
        raise ConfigError(f"mode {mode} needs {'a kind gold file' if mode == 'kinds' else 'another dataset'}")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_dir = args.out or Path("runs") / f"{mode}-{args.dataset.stem}-{stamp}"
    command = "verify " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    own_store = mode == "pipeline" and args.evidence is not None
    if own_store:
        config = config.model_copy(update={"store_path": run_dir / "chroma", "chroma_url": None, "collection": "eval"})
    from ..batch.cache import serve_through

    with (
        Verifier(config) as verifier,
        serve_through(verifier, verifier.chat, args.cache) if args.cache else contextlib.nullcontext() as caching,
    ):
        if own_store:
            verifier.ingest([args.evidence])  # idempotent, so a resumed run reuses the same passages
        classifier = verifier.make_kind_classifier() if kind_gold else None
        if kind_gold:
            units: list[Any] = _kind_units(args)
        elif articles:
            units = load_articles(args.dataset)
            if args.split:
                units = [a for a in units if a.split == args.split]
                if not units:
                    raise ConfigError(f"no article in {args.dataset} is in split {args.split!r}")
            if args.limit:
                units = units[: args.limit]
        else:
            items = load_dataset(args.dataset, args.format, args.label_map)
            if args.split:
                items = [it for it in items if it.split == args.split]
                if not items:
                    raise ConfigError(f"no item in {args.dataset} is in split {args.split!r}")
            if args.exclude_sample:
                n, seed = (int(x) for x in args.exclude_sample.split(":"))
                held = {it.id for it in stratified_sample(items, n, seed)}
                items = [it for it in items if it.id not in held]
            units = stratified_sample(items, args.limit, args.seed)
        meta = runner.run_meta(
            verifier,
            mode=mode,
            dataset=str(args.dataset),
            command=command,
            extra={
                "limit": args.limit,
                "split": args.split,
                "seed": args.seed,
                "exclude_sample": args.exclude_sample,
                "evidence": str(args.evidence) if args.evidence else None,
                "format": args.format,
                "label_map": args.label_map,
                "response_cache": str(args.cache) if args.cache else None,
                "ids": [u.name if articles else u.id for u in units],
                **(
                    {
                        "kind_threshold": classifier.threshold,
                        "kind_combiner": verifier.kind_combiner.source if verifier.kind_combiner else None,
                    }
                    if classifier is not None
                    else {}
                ),
            },
        )
        log = runner.RunLog(run_dir, meta, resume=args.resume)
        interrupted = False
        try:
            with tqdm(
                total=len(units),
                desc=f"eval {mode}",
                unit="article" if articles else "claim",
                file=sys.stderr,
                disable=None,
            ) as bar:
                if classifier is not None:
                    from .kind_items import run_kind_items

                    asyncio.run(
                        run_kind_items(classifier, units, log, concurrency=config.concurrency, progress=bar.update)
                    )
                elif articles:
                    asyncio.run(
                        runner.run_articles(verifier, units, log, judge=mode == "pipeline", progress=bar.update)
                    )
                else:
                    retriever = None
                    if mode == "retrieval":
                        if args.evidence:
                            passages = runner.corpus_passages(verifier, args.evidence)
                        else:
                            passages = list(
                                {
                                    p.id: p
                                    for it in load_dataset(args.dataset, args.format, args.label_map)
                                    for p in it.passages
                                }.values()
                            )
                        retriever = runner.build_retriever(verifier, run_dir, passages)
                    asyncio.run(runner.run_items(verifier, units, log, retriever=retriever, progress=bar.update))
        except KeyboardInterrupt:
            interrupted = True  # what finished is on disk: summarise it, marked partial
        finally:
            log.record_wall_time(config.concurrency)
        if caching is not None:
            meta["cache_stats"] = {"hits": caching.stats.hits, "misses": caching.stats.misses}
            print(f"response cache: {caching.stats.hits} hits, {caching.stats.misses} misses", file=sys.stderr)
    wanted = {u.name if articles else u.id for u in units}
    records = [r for r in log.records.values() if r["id"] in wanted]
    summary = finish_run(run_dir, records, meta)
    print((run_dir / "report.md").read_text(encoding="utf-8"))
    print(f"results: {run_dir}")
    if interrupted:
        print(f"verify: interrupted after {len(records)} of {len(units)}; --resume continues the run", file=sys.stderr)
        return 130
    return 0 if summary.get("errors", 0) == 0 else 3
