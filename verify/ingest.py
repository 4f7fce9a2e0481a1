"""Ingest: reference documents into the evidence store, document by document, in batches.

A document is known by its id (:func:`verify.documents.doc_id_for`, or ``id`` in its front matter).
Its passages carry a hash of the document as ingested (passage ids, which are content hashes, and
its metadata): a document whose stored passages are exactly its current ones with that hash is left
alone; a changed one gets its new passages added and then its old ones deleted, from both indexes.
Passages are embedded and written in batches across documents, so memory stays bounded and the
embedder sees full batches. An ingest cut short is resumed by running it again: what was written
is recognised, what was not is done.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .chunking import chunk_document
from .documents import DocumentLimits, DocumentPath, load_document
from .errors import InputError
from .models import EvidencePassage, content_id
from .store import EvidenceStore, IngestStats, passage_metadata

log = logging.getLogger("verify")

BATCH_PASSAGES = 256  # passages embedded and written together
LOOKUP_DOCUMENTS = 32  # documents whose stored state is read in one query


@dataclass
class _Pending:
    """What one flush writes: new passages (with their ingest metadata), metadata refreshes of kept
    passages, and the old passages of replaced documents."""

    adds: list[EvidencePassage] = field(default_factory=list)
    extra: list[dict[str, Any]] = field(default_factory=list)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.adds) + len(self.updates) + len(self.deletes)


def document_hash(doc_meta: dict[str, str], passages: list[EvidencePassage]) -> str:
    return content_id(json.dumps([doc_meta, [p.id for p in passages]], sort_keys=True))


class Ingester:
    def __init__(
        self,
        store: EvidenceStore,
        *,
        chunk_size: int,
        chunk_overlap: int,
        limits: DocumentLimits | None = None,
        batch_passages: int = BATCH_PASSAGES,
    ) -> None:
        self.store = store
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.limits = limits or DocumentLimits()
        self.batch_passages = batch_passages
        self.ingested_at = datetime.now(UTC).isoformat(timespec="seconds")

    def run(
        self,
        documents: list[DocumentPath],
        *,
        prune: bool = False,
        progress: Callable[[Path], None] | None = None,
    ) -> IngestStats:
        stats = IngestStats()
        pending = _Pending()
        seen: dict[str, Path] = {}
        for start in range(0, len(documents), LOOKUP_DOCUMENTS):
            group = []
            for item in documents[start : start + LOOKUP_DOCUMENTS]:
                try:
                    doc = load_document(item.path, self.limits, root=item.root, keep_suffix=item.keep_suffix)
                except InputError:
                    self._flush(pending)  # the documents read before a bad file are kept
                    raise
                if doc.doc_id in seen:
                    self._flush(pending)
                    raise InputError(
                        f"{item.path} and {seen[doc.doc_id]} are both document '{doc.doc_id}' "
                        "(give one an 'id' in its front matter)"
                    )
                seen[doc.doc_id] = item.path
                group.append((item.path, doc))
            stored = self.store.passage_states([doc.doc_id for _, doc in group])
            for path, doc in group:
                passages = chunk_document(doc, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)
                self._plan(doc.root, doc.meta, passages, stored.get(doc.doc_id, {}), pending, stats)
                if len(pending) >= self.batch_passages:
                    self._flush(pending)
                    pending = _Pending()
                if progress:
                    progress(path)
        self._flush(pending)
        if prune:
            roots = {str(d.root.resolve()) for d in documents if d.root is not None}
            gone = sorted({doc_id for root in roots for doc_id in self.store.doc_ids_from(root)} - set(seen))
            if gone:
                log.info("pruning %d documents whose files are gone: %s", len(gone), ", ".join(gone[:10]))
                stats.removed += self.store.delete_documents(gone)
                stats.pruned += len(gone)
        return stats

    def _plan(
        self,
        root: str | None,
        doc_meta: dict[str, str],
        passages: list[EvidencePassage],
        stored: dict[str, str | None],
        pending: _Pending,
        stats: IngestStats,
    ) -> None:
        doc_hash = document_hash(doc_meta, passages)
        stats.documents += 1
        stats.passages += len(passages)
        for flag in (f for p in passages for f in p.flags):
            stats.flagged[flag] = stats.flagged.get(flag, 0) + 1
        new_ids = {p.id for p in passages}
        if set(stored) == new_ids and all(h == doc_hash for h in stored.values()):
            stats.unchanged += 1
            stats.skipped_existing += len(passages)
            return
        if stored:
            stats.replaced += 1
        extra = {"doc_hash": doc_hash, "ingested_at": self.ingested_at}
        if root is not None:
            extra["source_root"] = root
        for p in passages:
            if p.id in stored:  # same text in the same document: keep its vector, refresh its metadata
                stats.skipped_existing += 1
                pending.updates[p.id] = passage_metadata(p) | extra
            else:
                stats.added += 1
                pending.adds.append(p)
                pending.extra.append(extra)
        old = [pid for pid in stored if pid not in new_ids]
        stats.removed += len(old)
        pending.deletes.extend(old)

    def _flush(self, pending: _Pending) -> None:
        if len(pending):
            self.store.write(adds=pending.adds, extra=pending.extra, updates=pending.updates, deletes=pending.deletes)
