"""The append-only results journal: one JSON line per finished piece of work.

A line is written with one ``write`` on a file opened for appending and fsynced before the work
counts as done, so a crash leaves at most one torn last line. Reading ignores a last line that
has no newline or does not parse; opening for append first cuts such a line off, so the next record
starts on a line of its own. A key's last record is the one in force.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from ..errors import StoreError
from ..models import Usage
from .files import sync_directory

log = logging.getLogger("verify")

JOURNAL = "results.jsonl"


class FailureRecord(BaseModel):
    """A failure inside an article (a window or a claim) or of the whole article."""

    stage: str
    error_type: str
    message: str
    claim_id: str | None = None


class ResultRecord(BaseModel):
    key: str
    names: list[str]
    status: Literal["done", "failed"]
    complete: bool = Field(description="done with every checkable claim judged")
    claims: int = 0
    checkable: int = 0
    verdicts: dict[str, int] = Field(default_factory=dict, description="label -> count")
    failures: list[FailureRecord] = Field(default_factory=list)
    error: FailureRecord | None = Field(None, description="why the article failed, when it did")
    reports: list[str] = Field(default_factory=list, description="report files, relative to the run directory")
    usage: Usage = Field(default_factory=Usage, description="the model work this result rests on")


def read_journal(directory: Path) -> dict[str, ResultRecord]:
    """The record in force for each key."""
    path = directory / JOURNAL
    if not path.exists():
        return {}
    data = path.read_bytes()
    records: dict[str, ResultRecord] = {}
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        log.warning("%s: ignoring a torn last line (%d bytes)", path, len(lines[-1]))
        lines.pop()
    for number, line in enumerate(lines, start=1):
        try:
            record = ResultRecord.model_validate_json(line)
        except ValidationError as exc:
            if number == len(lines):
                log.warning("%s: ignoring an unreadable last line", path)
                continue
            raise StoreError(f"{path}: line {number} is not a result record; the journal is damaged") from exc
        records[record.key] = record
    return records


class Journal:
    """Appends records to ``results.jsonl`` durably."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL
        _cut_torn_tail(self.path)
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if created:
            sync_directory(directory)

    def append(self, record: ResultRecord) -> None:
        line = record.model_dump_json().encode("utf-8") + b"\n"
        written = os.write(self._fd, line)
        if written != len(line):  # a regular file takes it all or raises; be sure
            raise OSError(f"short write to {self.path}")
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_torn_tail(path: Path) -> None:
    """Truncate after the last newline (a crash mid-write leaves a partial line)."""
    if not path.exists():
        return
    data = path.read_bytes()
    keep = len(data) if data.endswith(b"\n") else data.rfind(b"\n") + 1
    if keep:  # a whole last line that does not parse (zeros after a power cut) goes too
        start = data.rfind(b"\n", 0, keep - 1) + 1
        try:
            ResultRecord.model_validate_json(data[start:keep])
        except ValidationError:
            keep = start
    if keep == len(data):
        return
    log.warning("%s: cutting a torn last line (%d bytes) before appending", path, len(data) - keep)
    with open(path, "r+b") as fh:
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
