"""``verify store list|show|delete``: what the evidence store holds, document by document."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from .config import VerifyConfig
from .errors import CollectionMissingError, InputError
from .store import EvidenceStore

ConfigOf = Callable[[argparse.Namespace], VerifyConfig]


class _NamedEmbedder:
    """The configured embedder's name only: listing and deleting need no vectors (and no model load)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dimension = 0

    def embed(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("verify store commands do not embed")


def open_store(config: VerifyConfig, *, write: bool = False) -> EvidenceStore:
    if not config.chroma_url and not config.store_path.exists():
        raise CollectionMissingError(f"no evidence store at {config.store_path}: run 'verify ingest PATH...' first")
    return EvidenceStore(
        _NamedEmbedder(config.embedding_model),
        path=config.store_path,
        url=config.chroma_url,
        collection=config.collection,
        write=write,
        cache_dir=config.cache_dir,
    )


def add_store_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = sub.add_parser(
        "store",
        help="list, show and delete the documents in the evidence store",
        description="The documents in the evidence store: ids, passage counts, ingest times, scan flags.",
    )
    ssub = parser.add_subparsers(dest="store_command", required=True)
    listing = ssub.add_parser("list", help="every stored document, with its passage count and flags")
    listing.add_argument("--json", action="store_true", help="one JSON object per document")
    common(listing)
    listing.set_defaults(handler=cmd_list)
    show = ssub.add_parser("show", help="one document's metadata and passages")
    show.add_argument("doc_id", help="document id (as 'verify store list' prints it)")
    show.add_argument("--json", action="store_true", help="the document and its passages as JSON")
    common(show)
    show.set_defaults(handler=cmd_show)
    delete = ssub.add_parser("delete", help="remove documents from both indexes")
    delete.add_argument("doc_ids", nargs="+", help="document ids")
    common(delete)
    delete.set_defaults(handler=cmd_delete)


def _header(store: EvidenceStore, config: VerifyConfig, documents: int) -> str:
    fresh = "up to date" if store.lexical.revision == store.revision() else "stale"
    return (
        f"collection '{store.name}' at {store.location}: {documents} documents, {store.count()} passages; "
        f"embedder {config.embedding_model}; lexical index {store.lexical_path} ({store.lexical.count()} passages, "
        f"{fresh})"
    )


def cmd_list(args: argparse.Namespace, config_of: ConfigOf) -> int:
    config = config_of(args)
    store = open_store(config)
    documents = store.documents()
    if args.json:
        for doc in documents:
            print(doc.model_dump_json())
        return 0
    print(_header(store, config, len(documents)))
    for doc in documents:
        flags = ", ".join(f"{k} {v}" for k, v in sorted(doc.flags.items()))
        print(
            f"{doc.doc_id}\t{doc.passages} passages\t{doc.ingested_at or '-'}\t{doc.title or '-'}"
            + (f"\tflags: {flags}" if flags else "")
        )
    return 0


def cmd_show(args: argparse.Namespace, config_of: ConfigOf) -> int:
    store = open_store(config_of(args))
    found = store.document(args.doc_id)
    if found is None:
        raise InputError(f"no document '{args.doc_id}' in collection '{store.name}' (see 'verify store list')")
    doc, passages = found
    if args.json:
        print(json.dumps({"document": doc.model_dump(), "passages": [p.model_dump() for p in passages]}, indent=2))
        return 0
    for key, value in doc.model_dump().items():
        if value not in (None, {}):
            print(f"{key}: {value}")
    for p in passages:
        flags = f" [{', '.join(p.flags)}]" if p.flags else ""
        text = p.text if len(p.text) <= 100 else p.text[:97] + "..."
        print(f"  {p.chunk_index:>4} {p.id}{flags} {text!r}")
    return 0


def cmd_delete(args: argparse.Namespace, config_of: ConfigOf) -> int:
    store = open_store(config_of(args), write=True)
    try:
        known = store.passage_states(list(args.doc_ids))
        unknown = [d for d in args.doc_ids if d not in known]
        if unknown:
            raise InputError(f"no such documents in collection '{store.name}': {', '.join(unknown)}")
        removed = store.delete_documents(args.doc_ids)
        print(f"deleted {len(args.doc_ids)} documents ({removed} passages); {store.count()} passages remain")
    finally:
        store.release()
    return 0
