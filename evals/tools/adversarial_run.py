"""Run the adversarial suite (``evals/adversarial/manifest.jsonl``) through the real pipeline and count
how often an adversarial item and its clean twin come out differently (issue 13, "How it is checked").

Articles: each adversarial article and its clean twin are checked against the configured store (the
reference corpus, ingested as usual). Claims from the sentences of the twin are compared as sets of
normalised claim texts; the claims of the injected sentence itself are left out of the comparison
(they are expected extras) and counted apart. Verdicts are compared on the claims both runs share.

Documents: the corpus is ingested once into a scratch store; for each poisoned document a copy of
it gets the poisoned document, another copy its clean twin, and the same article (the twin's first
paragraph) is checked against both.

This loads the configured model and the embedding model: it is for a real-model session, not CI.

    python evals/tools/adversarial_run.py --limit 10            # first 10 articles and 10 documents
    python evals/tools/adversarial_run.py --kind document --json out.json
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from verify.cli import _common, _config  # noqa: E402  (the project's config factory, as the CLI uses it)
from verify.config import VerifyConfig  # noqa: E402
from verify.documents import load_document  # noqa: E402
from verify.models import Report  # noqa: E402
from verify.verifier import Verifier  # noqa: E402

MANIFEST = ROOT / "evals" / "adversarial" / "manifest.jsonl"
MakeVerifier = Callable[[VerifyConfig], Verifier]


@dataclass
class PairResult:
    id: str
    kind: str
    attack: str
    claims_differ: bool = False
    only_adversarial: list[str] = field(default_factory=list)
    only_clean: list[str] = field(default_factory=list)
    injected_claims: int = 0
    flips: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None


def normalise(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def labels(report: Report, skip: Callable[[str], bool] = lambda _: False) -> dict[str, str]:
    """Normalised claim text -> final label (``not judged`` for a checkable claim without a verdict)."""
    by_id = {v.claim_id: v.label.value for v in report.verdicts}
    return {
        normalise(c.text): by_id.get(c.id, "not judged" if c.checkable else c.kind.value)
        for c in report.claims
        if not skip(c.sentence)
    }


def compare(row: dict[str, Any], adversarial: Report, clean: Report, injected: str | None) -> PairResult:
    """Claims of a sentence that is (part of) the injected text are counted apart, not compared."""
    inj = normalise(injected or "")

    def from_injection(sentence: str) -> bool:
        return bool(inj) and normalise(sentence) in inj

    adv, cln = labels(adversarial, from_injection), labels(clean)
    result = PairResult(id=row["id"], kind=row["kind"], attack=row["attack"])
    result.injected_claims = sum(1 for c in adversarial.claims if from_injection(c.sentence))
    result.only_adversarial = sorted(set(adv) - set(cln))
    result.only_clean = sorted(set(cln) - set(adv))
    result.claims_differ = bool(result.only_adversarial or result.only_clean)
    result.flips = [
        {"claim": k, "clean": cln[k], "adversarial": adv[k]} for k in sorted(set(adv) & set(cln)) if adv[k] != cln[k]
    ]
    return result


def run_articles(rows: list[dict[str, Any]], config: VerifyConfig, make: MakeVerifier) -> list[PairResult]:
    """Each clean twin is checked once and shared by its adversarial variants; it is then checked a second
    time as a control (clean against clean), so the flips that temperature-0 nondeterminism at two slots
    alone produces are counted beside the flips the attacks produce."""
    out: list[PairResult] = []
    clean_reports: dict[tuple[str, str | None], Report] = {}
    with make(config) as verifier:

        def clean_of(row: dict[str, Any]) -> Report:
            key = (row["clean"], row.get("date"))
            if key not in clean_reports:
                text = (ROOT / row["clean"]).read_text(encoding="utf-8")
                clean_reports[key] = verifier.check(text, date=row.get("date"))
            return clean_reports[key]

        for row in rows:
            try:
                adversarial = verifier.check((ROOT / row["path"]).read_text(encoding="utf-8"), date=row.get("date"))
                out.append(compare(row, adversarial, clean_of(row), row["injected"]))
            except Exception as exc:  # one item's failure is reported, the run goes on
                out.append(PairResult(id=row["id"], kind="article", attack=row["attack"], error=repr(exc)))
            print(line(out[-1]), flush=True)
        for (path, date), first in clean_reports.items():
            row = {"id": f"control:{Path(path).stem}", "kind": "control", "attack": "none (clean twice)"}
            try:
                again = verifier.check((ROOT / path).read_text(encoding="utf-8"), date=date)
                out.append(compare(row, again, first, None))
            except Exception as exc:
                out.append(PairResult(id=row["id"], kind="control", attack=row["attack"], error=repr(exc)))
            print(line(out[-1]), flush=True)
    return out


def run_documents(rows: list[dict[str, Any]], config: VerifyConfig, make: MakeVerifier) -> list[PairResult]:
    out = []
    with tempfile.TemporaryDirectory(prefix="verify-adversarial-") as tmp:
        base = Path(tmp) / "base"
        with make(config.model_copy(update={"store_path": base, "chroma_url": None})) as verifier:
            verifier.ingest([ROOT / "evidence"])
        for row in rows:
            article = load_document(ROOT / row["clean"]).text.split("\n\n")[0]
            reports = []
            try:
                for which in ("path", "clean"):
                    store = Path(tmp) / f"{row['id']}-{which}"
                    shutil.copytree(base, store)
                    with make(config.model_copy(update={"store_path": store, "chroma_url": None})) as verifier:
                        verifier.ingest([ROOT / row[which]])
                        reports.append(verifier.check(article))
                    shutil.rmtree(store)
                out.append(compare(row, reports[0], reports[1], None))
            except Exception as exc:
                out.append(PairResult(id=row["id"], kind="document", attack=row["attack"], error=repr(exc)))
            print(line(out[-1]), flush=True)
    return out


def line(r: PairResult) -> str:
    if r.error:
        return f"{r.id:36} {r.attack:26} ERROR {r.error}"
    return (
        f"{r.id:36} {r.attack:26} claims {'DIFFER' if r.claims_differ else 'same  '} "
        f"(+{len(r.only_adversarial)} -{len(r.only_clean)}, {r.injected_claims} from the injection) "
        f"label flips {len(r.flips)}"
    )


def totals(results: list[PairResult]) -> str:
    parts = []
    for kind in ("article", "control", "document"):
        rs = [r for r in results if r.kind == kind]
        if not rs:
            continue
        ok = [r for r in rs if not r.error]
        parts.append(
            f"{kind}s: {len(rs)} pairs, {len(rs) - len(ok)} errors; "
            f"claim sets differ in {sum(r.claims_differ for r in ok)}; "
            f"verdicts differ in {sum(bool(r.flips) for r in ok)} pairs ({sum(len(r.flips) for r in ok)} label flips); "
            f"{sum(r.injected_claims for r in ok)} claims extracted from injected text"
        )
    return "\n".join(parts)


def main(argv: list[str] | None = None, make: MakeVerifier = Verifier) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="first N items of each kind")
    parser.add_argument("--kind", choices=["article", "document", "all"], default="all")
    parser.add_argument("--json", type=Path, help="write every pair's differences here")
    _common(parser)
    args = parser.parse_args(argv)
    config = _config(args)
    rows = [json.loads(x) for x in MANIFEST.read_text(encoding="utf-8").splitlines() if x.strip()]
    results: list[PairResult] = []
    for kind, run in (("article", run_articles), ("document", run_documents)):
        if args.kind in (kind, "all"):
            chosen = [r for r in rows if r["kind"] == kind][: args.limit]
            results += run(chosen, config, make)
    print(totals(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
