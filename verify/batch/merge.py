"""``verify runs merge``: join the run directories of shards (or of separate runs of one batch) into one.

Every source must have been made by the same configuration (the manifest fingerprint) over the same
inputs. Records and reports are copied; a key already in the target is kept, so merging again, or
merging overlapping shards, never duplicates a result.
"""

from __future__ import annotations

from pathlib import Path

from ..config import ModelPrice
from ..errors import InputError
from .files import write_durably
from .results import Journal, read_journal
from .rundir import Manifest, RunMismatchError, differences, locked, open_run, read_manifest
from .summary import Summary, write_final


def merge_runs(target: Path, sources: list[Path], prices: dict[str, ModelPrice]) -> Summary:
    if not sources:
        raise InputError("nothing to merge")
    manifests = [read_manifest(s) for s in sources]
    first = manifests[0]
    for source, manifest in zip(sources[1:], manifests[1:], strict=True):
        changed = differences(first.fingerprint(), manifest.fingerprint())
        if manifest.inputs != first.inputs:
            changed.append("inputs")
        if changed:
            raise RunMismatchError(f"{source} differs from {sources[0]} in " + ", ".join(changed) + ": not merged")
    with locked(target):
        return _merge(target, sources, first, prices)


def _merge(target: Path, sources: list[Path], first: Manifest, prices: dict[str, ModelPrice]) -> Summary:
    merged = open_run(target, first.model_copy(update={"shard": None}))
    records = read_journal(target)
    with Journal(target) as journal:
        for source in sources:
            for key, record in read_journal(source).items():
                if key in records:
                    continue
                for name in record.reports:  # the reports first: a record means its reports are on disk
                    write_durably(target / name, (source / name).read_text(encoding="utf-8"))
                journal.append(record)
                records[key] = record
    return write_final(target, merged, records, prices.get(merged.model))
