"""The evidence store: a persistent Chroma collection of passages plus their embeddings.

Vectors are computed by our own :class:`~verify.embeddings.Embedder` and handed to Chroma, so Chroma's
default embedding function (which downloads a model) is never used. The embedding model's name and
dimension are recorded in the collection metadata; opening the collection with another model fails.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .embeddings import Embedder
from .errors import CollectionMissingError, EmbeddingMismatchError, StoreError
from .locks import LockHeld, take_lock
from .models import EvidencePassage

log = logging.getLogger("verify")

WRITER_LOCK = "verify-writer.lock"
_MODEL_KEY = "verify_embedding_model"
_DIM_KEY = "verify_embedding_dim"
_META_FIELDS = ("doc_id", "title", "url", "publisher", "date", "source_path", "chunk_index")


@dataclass
class IngestStats:
    documents: int = 0
    passages: int = 0
    added: int = 0
    skipped_existing: int = 0
    flagged: dict[str, int] = field(default_factory=dict)  # ingest scan flag -> passages carrying it


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
    ) -> None:
        self.embedder = embedder
        self.name = collection
        self.location = url or str(path)
        if not url and not create and (path is None or not path.exists()):
            raise CollectionMissingError(f"no evidence store at {path}: run 'verify ingest PATH...' first")
        self._writer_lock: str | None = None
        if create and not url and path is not None:
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
        if self.count() == 0:
            raise CollectionMissingError(
                f"collection '{self.name}' in {self.location} is empty: run 'verify ingest PATH...' first"
            )

    def add(self, passages: Iterable[EvidencePassage], batch_size: int = 64) -> tuple[int, int]:
        """Add passages not already stored. Returns (added, skipped)."""
        items = list(passages)
        added = skipped = 0
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            existing = set(self._collection.get(ids=[p.id for p in batch], include=[])["ids"])
            new = [p for p in batch if p.id not in existing]
            skipped += len(batch) - len(new)
            if not new:
                continue
            self._collection.add(
                ids=[p.id for p in new],
                documents=[p.text for p in new],
                embeddings=self.embedder.embed([p.text for p in new]),
                metadatas=[_to_meta(p) for p in new],
            )
            added += len(new)
        return added, skipped

    def dense_search(self, query: str, n: int) -> list[tuple[EvidencePassage, float]]:
        n = min(n, self.count())
        if n == 0:
            return []
        result = self._collection.query(
            query_embeddings=self.embedder.embed([query]),
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

    def all_passages(self, page: int = 1000) -> list[EvidencePassage]:
        out: list[EvidencePassage] = []
        offset = 0
        while True:
            got = self._collection.get(include=["documents", "metadatas"], limit=page, offset=offset)
            ids = got["ids"]
            if not ids:
                break
            out.extend(_from_meta(i, t, m) for i, t, m in zip(ids, got["documents"], got["metadatas"], strict=True))
            offset += len(ids)
        return out


def _to_meta(p: EvidencePassage) -> dict[str, Any]:
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
