"""The run directory and its manifest.

    RUN/manifest.json       what the run is: configuration (secrets removed), model, prompt hashes,
                            calibration, package versions, inputs with their keys, shard
    RUN/results.jsonl       the append-only journal (:mod:`.results`)
    RUN/reports/*.json      one report per input name
    RUN/index.jsonl         final: one line per input name, in input order
    RUN/summary.json        final: counts, failures, usage, cost (no timings)
    RUN/stats.json          this process's wall time, calls made, cache hits (differs between runs)

A run directory belongs to one configuration: re-running with a changed prompt, model or setting
that changes results is refused with the differences named.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .. import __version__
from ..errors import ConfigError, VerifyError
from ..locks import LockHeld, take_lock
from .files import write_durably
from .inputs import ArticleInput

MANIFEST = "manifest.json"
LOCK = ".lock"
FORMAT = 1

# Settings that change how fast a run goes or what it costs, never what it finds.
RUNTIME_SETTINGS = frozenset(
    {
        "api_key",
        "request_timeout",
        "max_retries",
        "n_threads",
        "cache_dir",
        "concurrency",
        "max_in_flight",
        "requests_per_minute",
        "tokens_per_minute",
        "prices",
    }
)
PACKAGES = ("openai", "langchain-openai", "langchain-core", "chromadb", "pydantic", "tenacity")


class InputEntry(BaseModel):
    name: str
    key: str
    meta: dict[str, Any] = Field(default_factory=dict, description="the input's fields but its text")


class Manifest(BaseModel):
    format: int = FORMAT
    verify_version: str
    model: str
    backend: str
    base_url: str | None
    embedding_model: str
    collection: str
    prompt_hashes: dict[str, str] = Field(description="prompt name -> sha256 of the prompt file")
    calibration: str | None = Field(description="source of the calibration in use, if any")
    calibration_sha256: str | None = None
    config: dict[str, Any] = Field(description="the configuration that decides results (secrets removed)")
    packages: dict[str, str]
    inputs: list[InputEntry] = Field(description="every input of the batch, in order, all shards")
    shard: str | None = Field(None, description="K/N when this directory holds one shard")

    def fingerprint(self) -> dict[str, Any]:
        """Everything that must agree for two runs' results to be one run's."""
        return self.model_dump(mode="json", exclude={"inputs", "shard", "packages"})


def package_versions() -> dict[str, str]:
    out = {"verify": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def build_manifest(verifier: Any, inputs: list[ArticleInput], shard: tuple[int, int] | None) -> Manifest:
    """The manifest of a run of ``verifier`` (a :class:`verify.Verifier`) over ``inputs``."""
    cfg = verifier.config
    config = {k: v for k, v in cfg.redacted().items() if k not in RUNTIME_SETTINGS}
    calibration = verifier.calibration
    cal_sha = None
    if calibration is not None and Path(calibration.source).is_file():
        cal_sha = hashlib.sha256(Path(calibration.source).read_bytes()).hexdigest()
    return Manifest(
        verify_version=__version__,
        model=verifier.model_name,
        backend=cfg.backend,
        base_url=cfg.base_url,
        embedding_model=verifier.embedder.name,
        collection=cfg.collection,
        prompt_hashes={p.name: p.sha256 for p in verifier.prompts},
        calibration=calibration.source if calibration is not None else None,
        calibration_sha256=cal_sha,
        config=config,
        packages=package_versions(),
        inputs=[InputEntry(name=a.id, key=a.key, meta=a.meta()) for a in inputs],
        shard=f"{shard[0]}/{shard[1]}" if shard else None,
    )


def differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the entries that differ, e.g. ``prompt_hashes.judge_label``."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(differences(a, b, name + "."))
        elif a != b:
            out.append(name)
    return out


class RunMismatchError(VerifyError):
    """The run directory was made by a run whose results would differ from this one's."""

    exit_code = 2


def open_run(directory: Path, manifest: Manifest, *, allow_changes: bool = False) -> Manifest:
    """Create the run directory, or check that it belongs to this run. Returns the manifest in force."""
    path = directory / MANIFEST
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "reports").mkdir(exist_ok=True)
    if not path.exists():
        write_manifest(directory, manifest)
        return manifest
    old = read_manifest(directory)
    changed = differences(old.fingerprint(), manifest.fingerprint())
    if old.shard != manifest.shard:
        changed.append("shard")
    if old.inputs != manifest.inputs:
        changed.append("inputs")
    if changed and not allow_changes:
        raise RunMismatchError(
            f"run directory {directory} was made with a different "
            + ", ".join(changed)
            + ": use a new --run directory, or --allow-changes to mix them knowingly"
        )
    if changed:
        write_manifest(directory, manifest)
    return manifest


def write_manifest(directory: Path, manifest: Manifest) -> None:
    write_durably(directory / MANIFEST, manifest.model_dump_json(indent=2) + "\n")


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    try:
        return Manifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise ConfigError(f"{directory} is not a run directory (no {MANIFEST})") from exc
    except ValueError as exc:
        raise ConfigError(f"{path} is not a valid manifest: {exc}") from exc


class RunInUseError(VerifyError):
    """Another process is running in this run directory."""

    exit_code = 2


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold the run directory for this process (an advisory lock the kernel drops when the process
    dies, so a killed run never leaves it locked). A second process gets a clear error."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        fd = take_lock(directory / LOCK)
    except LockHeld as exc:
        raise RunInUseError(
            f"run directory {directory} is in use by another verify process (pid {exc.holder}); "
            "give each worker its own directory (--shard K/N) and join them with 'verify runs merge'"
        ) from exc
    try:
        yield
    finally:
        os.close(fd)
