"""Reading reference documents (.txt, .md with YAML front matter, .html, .pdf) and articles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import InputError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_META_KEYS = ("title", "url", "publisher", "date")


@dataclass
class SourceDocument:
    doc_id: str
    text: str
    path: str
    meta: dict[str, str] = field(default_factory=dict)


def read_text_file(path: Path, *, max_chars: int | None = None, what: str = "file") -> str:
    """Read a UTF-8 text file, refusing missing, binary, non-UTF-8, empty and oversized input."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{what} not found: {path}") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{what} is a directory: {path}") from exc
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from exc
    if b"\x00" in raw[:8192]:
        raise InputError(f"{what} looks binary, not text: {path}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not valid UTF-8 (byte {exc.start}): {path}") from exc
    check_text(text, max_chars=max_chars, what=f"{what} {path}")
    return text


def check_text(text: str, *, max_chars: int | None, what: str = "article") -> None:
    if not text.strip():
        raise InputError(f"{what} is empty")
    if max_chars is not None and len(text) > max_chars:
        raise InputError(f"{what} has {len(text):,} characters; the limit is {max_chars:,} (max_article_chars)")


def doc_id_for(path: Path) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    return stem or "document"


def load_document(path: Path) -> SourceDocument:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(f"unsupported document type {suffix or '(none)'}: {path}")
    meta: dict[str, str] = {}
    if suffix == ".pdf":
        text = _read_pdf(path)
    else:
        text = read_text_file(path, what="document")
        if suffix in (".md", ".markdown"):
            text, meta = split_front_matter(text, path)
        elif suffix in (".html", ".htm"):
            text, meta = _html_text(text)
    if not text.strip():
        raise InputError(f"document has no text: {path}")
    return SourceDocument(doc_id=doc_id_for(path), text=text.strip(), path=str(path), meta=meta)


def split_front_matter(text: str, path: Path | None = None) -> tuple[str, dict[str, str]]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, {}
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"bad YAML front matter in {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"front matter is not a mapping in {path}")
    meta = {k: str(data[k]) for k in (*_META_KEYS, "note") if data.get(k) is not None}
    return text[match.end() :], meta


_HIDDEN = (
    "[hidden], [aria-hidden=true], [style*='display:none' i], [style*='display: none' i], "
    "[style*='visibility:hidden' i], [style*='visibility: hidden' i], "
    "[style*='font-size:0' i], [style*='font-size: 0' i]"
)
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
_BLOCKS = "h1, h2, h3, h4, h5, h6, p, li, blockquote, pre, td, th, div"


def _html_text(html: str) -> tuple[str, dict[str, str]]:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    meta: dict[str, str] = {}
    title = tree.css_first("title")
    if title is not None:
        meta["title"] = title.text(strip=True)
    for node in tree.css("script, style, nav, header, footer, noscript, template"):
        node.decompose()
    hidden = [n for n in tree.css(_HIDDEN) if n.text(strip=True)]
    for node in hidden:  # text a reader never sees is not evidence; the document is flagged
        node.decompose()
    if hidden or any(len(c.strip()) > 20 for c in _COMMENT.findall(html)):
        meta["flags"] = "hidden-html"
    # innermost blocks only, so nested blocks (<li><p>, <blockquote><p>) are not read twice
    blocks = [n.text(separator=" ", strip=True) for n in tree.css(_BLOCKS) if n.css_first(_BLOCKS) is None]
    text = "\n\n".join(b for b in blocks if b)
    if not text and tree.body is not None:
        text = tree.body.text(separator="\n", strip=True)
    return text, meta


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except FileNotFoundError as exc:
        raise InputError(f"document not found: {path}") from exc
    except (PdfReadError, ValueError, OSError) as exc:
        raise InputError(f"cannot read PDF {path}: {exc}") from exc
    return "\n\n".join(p.strip() for p in pages if p.strip())


def iter_document_paths(paths: list[Path]) -> list[Path]:
    """Expand directories (recursively) into supported files, sorted for a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES and not _skipped(p)
            )
        elif path.exists():
            found.append(path)
        else:
            raise InputError(f"not found: {path}")
    return found


def _skipped(path: Path) -> bool:
    """Folder listings skip READMEs and hidden or underscore-prefixed files."""
    name = path.name
    return name.upper().startswith("README") or name.startswith((".", "_"))
