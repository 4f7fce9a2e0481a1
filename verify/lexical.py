"""The lexical half of hybrid retrieval: the project's tokenizer and a persistent BM25 index.

The index is a tantivy index (a Lucene-like engine: segments on disk, memory-mapped, updated in
place) of each passage's tokens as :func:`tokenize` makes them, so lexical matching is the same as
everywhere else in the project (numbers like ``2.5`` and ``1,000`` stay whole; stop words, among
them "not" and "no", are not index terms). Only the index terms are affected: the passage text the
judge sees comes from the store, unchanged. Scoring is tantivy's BM25 (k1 = 1.2, b = 0.75).

Next to the index, ``verify-lexical.json`` records the store revision the index was last brought up
to date with and a fingerprint of the tokenizer; an index whose tokenizer differs is rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import StoreError
from .models import content_id

log = logging.getLogger("verify")

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "would",
        "you",
        "not",
        "no",
        "than",
        "then",
        "there",
        "these",
        "those",
        "also",
        "into",
        "over",
        "after",
        "before",
        "about",
        "said",
        "says",
    ]
)


NEGATIONS = frozenset(["not", "no", "never", "nor", "neither", "none", "nothing", "nobody", "without"])


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def negations(text: str) -> frozenset[str]:
    """The negation words of a text, which :func:`tokenize` drops as stop words."""
    return frozenset(t for t in _TOKEN.findall(text.lower()) if t in NEGATIONS)


TOKENIZER_FINGERPRINT = content_id(_TOKEN.pattern + "\n" + " ".join(sorted(STOPWORDS)))
STATE_FILE = "verify-lexical.json"
_WRITER_HEAP = 64_000_000
_WRITER_WAIT = 60.0  # seconds to wait for another process's index writer


def _schema() -> Any:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("pid", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("doc", stored=False, tokenizer_name="raw", index_option="basic")
    # the tokens of verify's tokenizer joined by spaces; term frequencies, no positions (no phrase queries)
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


class LexicalIndex:
    """BM25 over passages, on disk at ``path`` (in memory when ``path`` is None).

    Writes are upserts by passage id (a passage added twice is indexed once) and deletions by
    passage id; they become visible on :meth:`commit`. The index writer is taken for one commit and
    released, so several processes may share a directory (one writes at a time)."""

    def __init__(self, path: Path | None = None) -> None:
        import tantivy

        self.path = path
        self._schema = _schema()
        self._memory_revision: str | None = None
        self._pending: list[tuple[str, str | None, str]] = []
        self._pending_deletes: list[tuple[str, str]] = []
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            state = self._read_state()
            if state.get("tokenizer") not in (None, TOKENIZER_FINGERPRINT):
                log.info("lexical index at %s was built with another tokenizer: rebuilding", path)
                self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
                self.clear()
                self.commit(None)
            self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
        else:
            self._index = tantivy.Index(self._schema)

    # ----- state -----------------------------------------------------------------------------------
    def _read_state(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = json.loads((self.path / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def revision(self) -> str | None:
        """The store revision this index was last committed at (None: unknown, treat as stale)."""
        if self.path is None:
            return self._memory_revision
        state = self._read_state()
        return state.get("revision") if state.get("tokenizer") == TOKENIZER_FINGERPRINT else None

    def _write_state(self, revision: str | None) -> None:
        if self.path is None:
            self._memory_revision = revision
            return
        tmp = self.path / f".{STATE_FILE}.{os.getpid()}"
        tmp.write_text(json.dumps({"revision": revision, "tokenizer": TOKENIZER_FINGERPRINT}), encoding="utf-8")
        os.replace(tmp, self.path / STATE_FILE)

    # ----- writing ---------------------------------------------------------------------------------
    def add(self, passages: Iterable[tuple[str, str | None, str]]) -> None:
        """Queue ``(passage id, document id, text)`` items for the next commit."""
        self._pending.extend(passages)

    def delete(self, pids: Iterable[str]) -> None:
        self._pending_deletes.extend(("pid", pid) for pid in pids)

    def delete_document(self, doc_id: str) -> None:
        self._pending_deletes.append(("doc", doc_id))

    def clear(self) -> None:
        self._pending.clear()
        self._pending_deletes.clear()
        with self._writer() as writer:
            writer.delete_all_documents()

    def commit(self, revision: str | None) -> None:
        """Apply the queued deletions and additions and record ``revision`` as the one now indexed."""
        import tantivy

        if self._pending or self._pending_deletes:
            with self._writer() as writer:
                for field, value in self._pending_deletes:
                    writer.delete_documents_by_term(field, value)
                for pid, doc_id, text in self._pending:
                    writer.delete_documents_by_term("pid", pid)  # an upsert: a passage is indexed once
                    writer.add_document(tantivy.Document(pid=pid, doc=doc_id or "", body=" ".join(tokenize(text))))
            self._pending.clear()
            self._pending_deletes.clear()
        self._write_state(revision)
        self._index.reload()

    @contextmanager
    def _writer(self) -> Iterator[Any]:
        deadline = time.monotonic() + _WRITER_WAIT
        while True:
            try:
                writer = self._index.writer(heap_size=_WRITER_HEAP, num_threads=1)
                break
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise StoreError(f"cannot write the lexical index at {self.path}: {exc}") from exc
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"the lexical index at {self.path} is being written by another process; try again later"
                    ) from exc
                time.sleep(0.2)
        yield writer
        writer.commit()
        writer.wait_merging_threads()  # releases the writer's lock

    # ----- reading ---------------------------------------------------------------------------------
    def count(self) -> int:
        return int(self._index.searcher().num_docs)

    def ids(self) -> set[str]:
        """Every indexed passage id (a full scan: for bringing the index up to date)."""
        import tantivy

        searcher = self._index.searcher()
        n = searcher.num_docs
        if n == 0:
            return set()
        hits = searcher.search(tantivy.Query.all_query(), n, count=False).hits
        return {searcher.doc(address)["pid"][0] for _, address in hits}

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """Passage ids holding any of the query's terms, best BM25 score first, at most ``n``."""
        import tantivy

        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or n <= 0:
            return []
        q = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "body", t)) for t in terms]
        )
        searcher = self._index.searcher()
        hits = searcher.search(q, n, count=False).hits
        return [(searcher.doc(address)["pid"][0], float(score)) for score, address in hits]
