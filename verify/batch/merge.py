"""``verify runs merge``: join the run directories of shards (or of separate runs of one batch) into one.

Every source must have been made by the same configuration (the manifest fingerprint) over the same
inputs. Records and reports are copied; a key already in the target is kept, so merging again, or
merging overlapping shards, never duplicates a result.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import ModelPrice
from ..errors import InputError
from ..report.html import html_name
from .files import write_durably
from .results import Journal, read_journal
from .rundir import Manifest, RunMismatchError, differences, locked, open_run, read_manifest
from .summary import Summary, write_final

log = logging.getLogger("verify")


def merge_runs(
    target: Path, sources: list[Path], prices: dict[str, ModelPrice], *, allow_changes: bool = False
) -> Summary:
    """``allow_changes`` merges sources whose settings differ (say, each shard had its own server's
    base URL), naming the differences in a warning; the inputs must always be the same."""
    if not sources:
        raise InputError("nothing to merge")
    manifests = [read_manifest(s) for s in sources]
    first = manifests[0]
    for source, manifest in zip(sources[1:], manifests[1:], strict=True):
        if manifest.inputs != first.inputs:
            raise RunMismatchError(f"{source} was run over other inputs than {sources[0]}: not merged")
        changed = differences(first.fingerprint(), manifest.fingerprint())
        if changed and not allow_changes:
            raise RunMismatchError(
                f"{source} differs from {sources[0]} in " + ", ".join(changed) + ": not merged (--allow-changes to mix)"
            )
        if changed:
            log.warning("merging %s although it differs from %s in %s", source, sources[0], ", ".join(changed))
    with locked(target):
        return _merge(target, sources, first, prices, allow_changes)


def _merge(
    target: Path, sources: list[Path], first: Manifest, prices: dict[str, ModelPrice], allow_changes: bool
) -> Summary:
    merged = open_run(target, first.model_copy(update={"shard": None}), allow_changes=allow_changes)
    records = read_journal(target)
    with Journal(target) as journal:
        for source in sources:
            for key, record in read_journal(source).items():
                if key in records:
                    continue
                for name in record.reports:  # the reports first: a record means its reports are on disk
                    write_durably(target / name, (source / name).read_text(encoding="utf-8"))
                    page = html_name(name)
                    if (source / page).is_file():  # the report page beside it (none in older runs)
                        write_durably(target / page, (source / page).read_text(encoding="utf-8"))
                journal.append(record)
                records[key] = record
    return write_final(target, merged, records, prices.get(merged.model))
