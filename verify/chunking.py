"""Splitting documents into overlapping passages with content-hash ids."""

from __future__ import annotations

from .documents import SourceDocument
from .models import EvidencePassage, content_id
from .scan import main_script, scan_passage, shown_text


def passage_id(doc_id: str, text: str) -> str:
    """Content hash of the passage text, salted with its document so equal text in two sources stays two."""
    return content_id(f"{doc_id}\n{text}")


def chunk_document(doc: SourceDocument, *, chunk_size: int, chunk_overlap: int) -> list[EvidencePassage]:
    # imported here: the package's __init__ pulls in sentence-transformers and torch (seconds)
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
        strip_whitespace=True,
    )
    seen: set[str] = set()
    passages = []
    script = main_script(doc.text)
    doc_flags = [f for f in doc.meta.get("flags", "").split(",") if f]
    for index, original in enumerate(splitter.split_text(doc.text)):
        text = shown_text(original)
        pid = passage_id(doc.doc_id, text)
        if pid in seen:
            continue
        seen.add(pid)
        passages.append(
            EvidencePassage(
                id=pid,
                doc_id=doc.doc_id,
                text=text,
                title=doc.meta.get("title"),
                url=doc.meta.get("url"),
                publisher=doc.meta.get("publisher"),
                date=doc.meta.get("date"),
                source_path=doc.path,
                chunk_index=index,
                flags=[*doc_flags, *scan_passage(original, script)],
                original_text=original if original != text else None,
            )
        )
    return passages
