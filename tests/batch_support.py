"""Shared pieces of the batch tests: generated articles, a config pointing at the fake server, an
ingested store with hash embeddings."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from conftest import ROOT, write_small_corpus

from verify.batch.inputs import collect_inputs
from verify.batch.results import JOURNAL
from verify.batch.runner import BatchOptions, BatchOutcome, run_batch
from verify.config import VerifyConfig
from verify.testing import HashEmbedder
from verify.verifier import Verifier

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September")


def article_text(i: int) -> str:
    return (
        f"Alliance report {i}\n\n"
        f"Finland became the {31 + i % 7}st member of NATO on {1 + i % 28} April 2023. "
        f"Sweden joined NATO in {MONTHS[i % 9]} 2024 after a vote of {150 + i} to 6. "
        "The expansion was a reckless provocation."
    )


def write_jsonl(path: Path, n: int, *, extra: list[dict] | None = None) -> Path:
    rows = [
        {"id": f"a{i:03d}", "text": article_text(i), "outlet": "Test desk", "date": "2024-05-01", "section": "world"}
        for i in range(n)
    ]
    rows += extra or []
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def batch_config(url: str, tmp: Path, **overrides) -> VerifyConfig:
    values = {
        "backend": "openai",
        "base_url": url,
        "model": "fake-model",
        "api_key": "sk-test-not-a-real-key-123456",
        "kind_classifier": False,
        "calibration": "off",
        "store_path": tmp / "chroma",
        "request_timeout": 2.0,
        "max_retries": 2,
        "cache_dir": tmp / "cache",
        "extractor": "windows",  # the fake model answers as the windows extractor
        **overrides,
    }
    return VerifyConfig(**values)


def ingest_store(tmp: Path) -> Path:
    """Evidence ingested into ``tmp/chroma`` with hash embeddings; returns the store path."""
    corpus = write_small_corpus(tmp / "evidence")
    verifier = Verifier(
        VerifyConfig(extractor="windows", store_path=tmp / "chroma", calibration="off"), embedder=HashEmbedder()
    )
    verifier.ingest([corpus])
    return tmp / "chroma"


# `verify` with hash embeddings (the packaged embedding model is never loaded) in a subprocess.
CLI_WITH_FAKE_EMBEDDER = (
    "import sys; import verify.verifier as v; from verify.testing import HashEmbedder; "
    "v.make_embedder = lambda name: HashEmbedder(); from verify.cli import main; sys.exit(main(sys.argv[1:]))"
)


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-c", CLI_WITH_FAKE_EMBEDDER, *args]


def cli_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERIFY_", "OPENAI_"))}
    env.update(
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        VERIFY_BASE_URL=url,
        VERIFY_MODEL="fake-model",
        VERIFY_API_KEY="sk-test-not-a-real-key-123456",
        VERIFY_CALIBRATION="off",
        VERIFY_EXTRACTOR="windows",  # the fake server answers as the windows extractor
    )
    return env


def run(config: VerifyConfig, specs: list[str], run_dir: Path, **options) -> BatchOutcome:
    inputs = collect_inputs(specs, max_chars=config.max_article_chars)
    with Verifier(config, embedder=HashEmbedder()) as verifier:
        return run_batch(verifier, inputs, BatchOptions(run_dir=run_dir, **{"progress": False, **options}))


def journal_lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / JOURNAL).read_text().splitlines()]


def final_files(run_dir: Path) -> dict[str, bytes]:
    """Every output that must not differ between two runs of the same work."""
    names = ["manifest.json", "index.jsonl", "summary.json"]
    names += sorted(str(p.relative_to(run_dir)) for p in (run_dir / "reports").iterdir())
    return {name: (run_dir / name).read_bytes() for name in names}
