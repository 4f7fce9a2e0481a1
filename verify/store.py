"""The evidence store: a persistent Chroma collection of passages plus their embeddings, and the
lexical index (:mod:`verify.lexical`) kept in step with it.

Vectors are computed by our own :class:`~verify.embeddings.Embedder` and handed to Chroma, so Chroma's
default embedding function (which downloads a model) is never used. The embedding model's name and
dimension are recorded in the collection metadata; opening the collection with another model fails.

Every write also sets a new random revision in the collection metadata, before it changes any
passage, and the lexical index records the revision it was committed at. An index whose revision
or passage count differs from the collection's (another client wrote to a shared server, or a
write was cut short) is brought up to date from Chroma before it is searched: the passages it
lacks are indexed and those Chroma no longer holds are removed.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .config import default_cache_dir
from .embeddings import Embedder
from .errors import CollectionMissingError, EmbeddingMismatchError, StoreError
from .lexical import LexicalIndex
from .locks import LockHeld, take_lock
from .models import EvidencePassage

log = logging.getLogger("verify")

WRITER_LOCK = "verify-writer.lock"
LEXICAL_DIR = "verify-lexical"  # inside a persistent Chroma directory: <store>/verify-lexical/<collection>
_MODEL_KEY = "verify_embedding_model"
_DIM_KEY = "verify_embedding_dim"
_REVISION_KEY = "verify_revision"
_META_FIELDS = ("doc_id", "title", "url", "publisher", "date", "source_path", "chunk_index")
# stored with every passage, about its document's ingest (not part of EvidencePassage)
INGEST_FIELDS = ("doc_hash", "ingested_at", "source_root")
FRESHNESS_SECONDS = 5.0  # how often a long-lived store asks Chroma whether the lexical index is stale
_PAGE = 1000


@dataclass
class IngestStats:
    documents: int = 0
    passages: int = 0
    added: int = 0
    skipped_existing: int = 0
    flagged: dict[str, int] = field(default_factory=dict)  # ingest scan flag -> passages carrying it
    unchanged: int = 0  # documents already stored as they are
    replaced: int = 0  # documents stored before with other text or metadata
    removed: int = 0  # passages deleted (old passages of replaced documents, pruned documents)
    pruned: int = 0  # documents removed because their file is gone (--prune)


class StoredDocument(BaseModel):
    """One document as the store holds it: the metadata its passages carry and how many there are."""

    doc_id: str
    passages: int = 0
    title: str | None = None
    url: str | None = None
    publisher: str | None = None
    date: str | None = None
    source_path: str | None = None
    source_root: str | None = Field(None, description="The folder it was ingested from (for --prune)")
    ingested_at: str | None = Field(None, description="UTC time of the ingest that last wrote it")
    doc_hash: str | None = Field(None, description="Hash of its passages and metadata, as last ingested")
    flags: dict[str, int] = Field(default_factory=dict, description="Ingest scan flag -> passages carrying it")


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _client(path: Path | None, url: str | None) -> Any:
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if url:
        from urllib.parse import urlparse

        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 8000,
            ssl=parsed.scheme == "https",
            settings=settings,
        )
    assert path is not None
    return chromadb.PersistentClient(path=str(path), settings=settings)


class EvidenceStore:
    def __init__(
        self,
        embedder: Embedder,
        *,
        path: Path | None = None,
        url: str | None = None,
        collection: str = "evidence",
        create: bool = False,
        write: bool = False,
        cache_dir: Path | None = None,
        lexical_path: Path | None = None,
    ) -> None:
        """``create`` makes the collection if missing; ``create`` or ``write`` take the persistent
        directory's writer lock. The lexical index lives at ``lexical_path``, by default inside the
        Chroma directory, or for a server under ``cache_dir/lexical/<host-port>/<collection>``."""
        self.embedder = embedder
        self.name = collection
        self.location = url or str(path)
        if not url and not create and (path is None or not path.exists()):
            raise CollectionMissingError(f"no evidence store at {path}: run 'verify ingest PATH...' first")
        if lexical_path is None:
            if url:
                server = re.sub(r"[^A-Za-z0-9.]+", "-", url.split("://", 1)[-1]).strip("-")
                lexical_path = (cache_dir or default_cache_dir()) / "lexical" / server / collection
            else:
                assert path is not None
                lexical_path = path / LEXICAL_DIR / collection
        self.lexical_path = lexical_path
        self._lexical: LexicalIndex | None = None
        self._checked_at = 0.0
        self._sync_lock = threading.Lock()
        self._writer_lock: str | None = None
        self._warm_up: threading.Thread | None = None
        if (create or write) and not url and path is not None:
            self._writer_lock = _lock_for_writing(path)
        try:
            self._client = _client(path, url)
            if create:
                self._collection = self._client.get_or_create_collection(
                    collection,
                    embedding_function=None,
                    metadata={
                        _MODEL_KEY: embedder.name,
                        _DIM_KEY: embedder.dimension,
                        "hnsw:space": "cosine",
                    },
                )
            else:
                self._collection = self._client.get_collection(collection, embedding_function=None)
        except (CollectionMissingError, EmbeddingMismatchError):
            raise
        except Exception as exc:
            if "does not exist" in str(exc) or "NotFound" in type(exc).__name__:
                raise CollectionMissingError(
                    f"collection '{collection}' not found in {self.location}: run 'verify ingest PATH...' first"
                ) from exc
            raise StoreError(f"cannot open the evidence store at {self.location}: {exc}") from exc
        recorded = (self._collection.metadata or {}).get(_MODEL_KEY)
        if recorded != embedder.name:
            raise EmbeddingMismatchError(
                f"collection '{collection}' was built with embedding model {recorded!r}, "
                f"but {embedder.name!r} is configured; use another collection or re-ingest"
            )

    def release(self) -> None:
        """Let another process write to the persistent directory (also done when this process ends)."""
        key = getattr(self, "_writer_lock", None)
        if key is not None:
            self._writer_lock = None
            _unlock(key)

    def __del__(self) -> None:
        self.release()

    def count(self) -> int:
        return int(self._collection.count())

    def require_passages(self) -> None:
        """Fail on an empty collection. Asked of the lexical index, which is in step with the
        collection's revision, before Chroma: Chroma's first read of a large collection loads its
        whole vector index (5-20 s at 1,000,000 passages), which :meth:`warm_up` does in the
        background instead."""
        if self.lexical.count() == 0 and self.count() == 0:
            raise CollectionMissingError(
                f"collection '{self.name}' in {self.location} is empty: run 'verify ingest PATH...' first"
            )

    # ----- revision and the lexical index ----------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """The collection's metadata as Chroma holds it now (another client may have changed it)."""
        fresh = self._client.get_collection(self.name, embedding_function=None)
        return dict(fresh.metadata or {})

    def revision(self) -> str | None:
        value = self.metadata().get(_REVISION_KEY)
        return str(value) if value is not None else None

    def _new_revision(self) -> str:
        """Mark the collection as changed, before changing it: a lexical index that missed the change
        (this write cut short, or another client's index) then no longer matches."""
        revision = uuid.uuid4().hex
        kept = {k: v for k, v in self.metadata().items() if not k.startswith("hnsw:")}
        self._collection.modify(metadata={**kept, _REVISION_KEY: revision})
        return revision

    @property
    def lexical(self) -> LexicalIndex:
        """The lexical index, opened on first use and brought up to date with the collection."""
        with self._sync_lock:
            if self._lexical is None:
                self._lexical = LexicalIndex(self.lexical_path)
                self._refresh(self._lexical)
            return self._lexical

    def refresh_lexical(self, *, force: bool = False) -> bool:
        """Bring the lexical index up to date if the collection changed since it was committed
        (checked at most every FRESHNESS_SECONDS unless ``force``, which also compares the passage
        counts). True when it was stale."""
        lexical = self.lexical
        if not force and time.monotonic() - self._checked_at < FRESHNESS_SECONDS:
            return False
        with self._sync_lock:
            return self._refresh(lexical, counts=force)

    def _refresh(self, lexical: LexicalIndex, *, counts: bool = False) -> bool:
        """Every write through this class changes the collection's revision first, so a matching
        revision means an index in step. ``counts`` also compares the passage counts, which catches a
        write made around this class; it is not the routine check because Chroma counts by scanning
        (0.13 s at 1,000,000 passages, 5 s with a cold disk cache: bench/bench_store.py)."""
        self._checked_at = time.monotonic()
        revision = self.revision()
        if lexical.revision == revision and (not counts or lexical.count() == self.count()):
            return False
        started = time.perf_counter()
        stored = self.ids()
        indexed = lexical.ids()
        missing = [pid for pid in stored if pid not in indexed]
        lexical.delete(indexed - set(stored))
        for chunk in _chunks(missing, _PAGE):
            got = self._collection.get(ids=chunk, include=["documents", "metadatas"])
            lexical.add(
                (pid, (meta or {}).get("doc_id"), text)
                for pid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            )
        lexical.commit(revision)
        log.info(
            "lexical index at %s brought up to date: %d passages indexed, %d removed (%.1f s)",
            self.lexical_path,
            len(missing),
            len(indexed - set(stored)),
            time.perf_counter() - started,
        )
        return True

    def lexical_search(self, query: str, n: int) -> list[tuple[str, float]]:
        return self.lexical.search(query, n)

    # ----- writing ---------------------------------------------------------------------------------
    def add(self, passages: Iterable[EvidencePassage], batch_size: int = 64) -> tuple[int, int]:
        """Add passages not already stored. Returns (added, skipped)."""
        items = list(passages)
        added = skipped = 0
        for batch in _chunks(items, batch_size):
            existing = set(self._collection.get(ids=[p.id for p in batch], include=[])["ids"])
            new = [p for p in batch if p.id not in existing]
            skipped += len(batch) - len(new)
            if new:
                self.write(adds=new)
                added += len(new)
        return added, skipped

    def write(
        self,
        *,
        adds: list[EvidencePassage] | None = None,
        extra: list[dict[str, Any]] | None = None,
        vectors: list[list[float]] | None = None,
        updates: dict[str, dict[str, Any]] | None = None,
        deletes: list[str] | None = None,
    ) -> None:
        """One write to both indexes: add passages (with ``extra`` metadata each and their vectors,
        embedded here when not given), merge ``updates`` into stored passages' metadata, and delete
        passage ids. New passages go in before old ones go out, so a document being replaced is never
        absent; a write cut short leaves a revision the lexical index does not match."""
        adds, updates, deletes = adds or [], updates or {}, deletes or []
        if not (adds or updates or deletes):
            return
        lexical = self.lexical
        revision = self._new_revision()
        if adds:
            vectors = vectors if vectors is not None else self.embedder.embed([p.text for p in adds])
            metas = [passage_metadata(p) | (extra[i] if extra else {}) for i, p in enumerate(adds)]
            step = self._client.get_max_batch_size()
            for start in range(0, len(adds), step):
                part = adds[start : start + step]
                self._collection.add(
                    ids=[p.id for p in part],
                    documents=[p.text for p in part],
                    embeddings=vectors[start : start + step],
                    metadatas=metas[start : start + step],
                )
        for chunk in _chunks(list(updates), self._client.get_max_batch_size()):
            self._collection.update(ids=chunk, metadatas=[updates[pid] for pid in chunk])
        for chunk in _chunks(deletes, self._client.get_max_batch_size()):
            self._collection.delete(ids=chunk)
        lexical.add((p.id, p.doc_id, p.text) for p in adds)
        lexical.delete(deletes)
        lexical.commit(revision)

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        """Remove documents' passages from both indexes. Returns the number of passages removed."""
        states = self.passage_states(list(doc_ids))
        pids = [pid for passages in states.values() for pid in passages]
        self.write(deletes=pids)
        return len(pids)

    # ----- reading ---------------------------------------------------------------------------------
    def passage_states(self, doc_ids: list[str]) -> dict[str, dict[str, str | None]]:
        """For each stored document among ``doc_ids``: its passage ids and the document hash each
        was written with."""
        out: dict[str, dict[str, str | None]] = {}
        for chunk in _chunks(doc_ids, 100):
            got = self._collection.get(where={"doc_id": {"$in": chunk}}, include=["metadatas"])
            for pid, meta in zip(got["ids"], got["metadatas"], strict=True):
                meta = meta or {}
                out.setdefault(str(meta.get("doc_id")), {})[pid] = meta.get("doc_hash")
        return out

    def doc_ids_from(self, root: str) -> set[str]:
        """The documents ingested from the folder ``root`` (resolved path)."""
        got = self._collection.get(where={"source_root": root}, include=["metadatas"])
        return {str((m or {}).get("doc_id")) for m in got["metadatas"]}

    def ids(self) -> list[str]:
        out: list[str] = []
        while True:
            got = self._collection.get(include=[], limit=_PAGE * 10, offset=len(out))
            if not got["ids"]:
                return out
            out.extend(got["ids"])

    def get(self, ids: list[str]) -> list[EvidencePassage]:
        """The stored passages among ``ids``, in the order given."""
        if not ids:
            return []
        got = self._collection.get(ids=ids, include=["documents", "metadatas"])
        by_id = {i: _from_meta(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}
        return [by_id[i] for i in ids if i in by_id]

    def dense_search(
        self, query: str, n: int, *, vector: list[float] | None = None
    ) -> list[tuple[EvidencePassage, float]]:
        """The ``n`` passages closest to the query (``vector``: its embedding, if already computed).
        Chroma gives fewer when the collection holds fewer (not counted first: a count scans it)."""
        if n <= 0:
            return []
        result = self._collection.query(
            query_embeddings=[vector] if vector is not None else self.embedder.embed([query]),
            n_results=n,
            include=["documents", "metadatas", "distances"],
        )
        out = []
        for pid, text, meta, dist in zip(
            result["ids"][0],
            result["documents"][0],
            result["metadatas"][0],
            result["distances"][0],
            strict=True,
        ):
            out.append((_from_meta(pid, text, meta), 1.0 - float(dist)))
        return out

    def warm_up(self) -> threading.Thread:
        """Start loading Chroma's vector index in a background thread (once per store) and return
        the thread. Chroma reads the whole index on the first query of a process, 5-10 s at 1,000,000
        passages (bench/bench_store.py); started when a retriever is built, this runs while the
        claims are extracted, and a query made before it ends waits for the same load. A failure
        here is only logged: the first real query meets it and reports it."""
        with self._sync_lock:
            if self._warm_up is None:
                self._warm_up = threading.Thread(target=self._load_vectors, name="verify-store-warm-up", daemon=True)
                self._warm_up.start()
            return self._warm_up

    def _load_vectors(self) -> None:
        started = time.perf_counter()
        try:
            unit = [1.0] + [0.0] * (self.embedder.dimension - 1)
            self._collection.query(query_embeddings=[unit], n_results=1, include=[])
        except Exception as exc:  # the first real query meets it again and reports it
            log.debug("warming the vector index of %s failed: %s", self.location, exc)
            return
        log.debug("vector index of %s loaded in %.1f s", self.location, time.perf_counter() - started)

    def _pages(self, include: list[str]) -> Iterator[tuple[list[str], list[str] | None, list[dict[str, Any]]]]:
        offset = 0
        while True:
            got = self._collection.get(include=include, limit=_PAGE, offset=offset)  # type: ignore[arg-type]
            if not got["ids"]:
                return
            metas = [dict(m or {}) for m in got["metadatas"]]
            yield got["ids"], got.get("documents"), metas
            offset += len(got["ids"])

    def all_passages(self) -> list[EvidencePassage]:
        out: list[EvidencePassage] = []
        for ids, texts, metas in self._pages(["documents", "metadatas"]):
            assert texts is not None
            out.extend(_from_meta(i, t, m) for i, t, m in zip(ids, texts, metas, strict=True))
        return out

    def documents(self) -> list[StoredDocument]:
        """Every stored document, by document id (a scan of the passages' metadata)."""
        docs: dict[str, StoredDocument] = {}
        for _ids, _texts, metas in self._pages(["metadatas"]):
            for meta in metas:
                _count_into(docs, meta)
        return [docs[k] for k in sorted(docs)]

    def document(self, doc_id: str) -> tuple[StoredDocument, list[EvidencePassage]] | None:
        got = self._collection.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        docs: dict[str, StoredDocument] = {}
        passages = []
        for pid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            _count_into(docs, dict(meta or {}))
            passages.append(_from_meta(pid, text, meta))
        passages.sort(key=lambda p: p.chunk_index)
        return docs[doc_id], passages


def _count_into(docs: dict[str, StoredDocument], meta: dict[str, Any]) -> None:
    doc_id = str(meta.get("doc_id"))
    doc = docs.get(doc_id)
    if doc is None:
        keys = ("title", "url", "publisher", "date", "source_path", *INGEST_FIELDS)
        doc = docs[doc_id] = StoredDocument(doc_id=doc_id, **{k: str(meta[k]) for k in keys if k in meta})
    doc.passages += 1
    if str(meta.get("ingested_at") or "") > (doc.ingested_at or ""):
        doc.ingested_at = str(meta["ingested_at"])
    for flag in (f for f in str(meta.get("flags", "")).split(",") if f):
        doc.flags[flag] = doc.flags.get(flag, 0) + 1


def passage_metadata(p: EvidencePassage) -> dict[str, Any]:
    meta: dict[str, Any] = {k: getattr(p, k) for k in _META_FIELDS}
    if p.flags:  # Chroma metadata holds scalars: the flags as one comma-separated string
        meta["flags"] = ",".join(p.flags)
    meta["original_text"] = p.original_text
    return {k: v for k, v in meta.items() if v is not None}


def _from_meta(pid: str, text: str, meta: dict[str, Any] | None) -> EvidencePassage:
    meta = dict(meta or {})
    flags = [f for f in str(meta.get("flags", "")).split(",") if f]
    return EvidencePassage(
        id=pid,
        text=text,
        flags=flags,
        original_text=meta.get("original_text"),
        **{k: meta[k] for k in _META_FIELDS if k in meta},
    )


# Writer locks this process holds: path -> [fd, users]. Stores of one process share Chroma's client
# for a path, so they may all write; only other processes are kept out.
_HELD: dict[str, list[int]] = {}
_HELD_LOCK = threading.Lock()


def _lock_for_writing(path: Path) -> str:
    """One writing process per persistent Chroma directory: Chroma's local files are not safe for
    two writing processes, so a second one is refused (several writers share a server: ``chroma_url``)."""
    path.mkdir(parents=True, exist_ok=True)
    key = str(path.resolve())
    with _HELD_LOCK:
        if key in _HELD:
            _HELD[key][1] += 1
            return key
        try:
            fd = take_lock(path / WRITER_LOCK)
        except LockHeld as exc:
            raise StoreError(
                f"the evidence store at {path} is being written by another process (pid {exc.holder}); "
                "wait for it, or share a Chroma server (chroma_url) between writers"
            ) from exc
        _HELD[key] = [fd, 1]
        return key


def _unlock(key: str) -> None:
    with _HELD_LOCK:
        held = _HELD.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            os.close(held[0])
            del _HELD[key]
