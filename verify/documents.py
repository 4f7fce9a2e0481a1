"""Reading reference documents (.txt, .md with YAML front matter, .html, .pdf) and articles."""

from __future__ import annotations

import logging
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import InputError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_META_KEYS = ("title", "url", "publisher", "date")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^>]*?(/?)>")
# void elements, and elements whose end tag may be left out, do not count towards the nesting depth
_NOT_NESTING = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
    | {"p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "colgroup", "option", "optgroup"}
    | {"rb", "rt", "rp", "html", "head", "body"}
)
log = logging.getLogger("verify")


@dataclass(frozen=True)
class DocumentLimits:
    """What one reference document may cost to read: a bigger, deeper or slower file is refused with
    a clear error instead of holding up the ingest."""

    max_bytes: int = 20_000_000
    max_html_depth: int = 256
    max_pdf_pages: int = 2_000
    max_seconds: float = 60.0


@dataclass
class SourceDocument:
    doc_id: str
    text: str
    path: str
    meta: dict[str, str] = field(default_factory=dict)
    root: str | None = None  # the folder it was found in (resolved), when it was found in one


@dataclass(frozen=True)
class DocumentPath:
    """A document file and the folder it was found in (None: the file was named itself).
    ``keep_suffix``: another file of the same name but suffix lies beside it."""

    path: Path
    root: Path | None = None
    keep_suffix: bool = False


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


def _slug(part: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", part.lower()).strip("-")


def doc_id_for(path: Path, root: Path | None = None, *, keep_suffix: bool = False) -> str:
    """A document's id: its path relative to the folder it was ingested from, without the suffix,
    each part lower-cased with runs of other characters as "-" (``news/2024/Vote.md`` ->
    ``news/2024/vote``); a file named on its own is known by its name (``vote``). ``keep_suffix``
    (for files beside another of the same name, ``x.md`` and ``x.html``): ``x-md``, ``x-html``."""
    relative = path.relative_to(root) if root is not None else Path(path.name)
    name = relative.name if keep_suffix else relative.stem
    parts = [_slug(p) for p in (*relative.parent.parts, name)]
    return "/".join(p for p in parts if p) or "document"


def load_document(
    path: Path, limits: DocumentLimits | None = None, *, root: Path | None = None, keep_suffix: bool = False
) -> SourceDocument:
    """Read one reference document. Its id is an ``id`` in its front matter, else :func:`doc_id_for`."""
    limits = limits or DocumentLimits()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(f"unsupported document type {suffix or '(none)'}: {path}")
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise InputError(f"document not found: {path}") from exc
    if size > limits.max_bytes:
        raise InputError(
            f"document is {size / 1e6:,.1f} MB; the limit is {limits.max_bytes / 1e6:,.1f} MB "
            f"(max_document_bytes): {path}"
        )
    meta: dict[str, str] = {}
    if suffix == ".pdf":
        text = _read_pdf(path, limits)
    else:
        text = read_text_file(path, what="document")
        if suffix in (".md", ".markdown"):
            text, meta = split_front_matter(text, path)
        elif suffix in (".html", ".htm"):
            _check_depth(text, limits.max_html_depth, path)
            text, meta = _html_text(text, deadline=time.monotonic() + limits.max_seconds, path=path)
    if not text.strip():
        raise InputError(f"document has no text: {path}")
    doc_id = meta.pop("id", "").strip() or doc_id_for(path, root, keep_suffix=keep_suffix)
    return SourceDocument(
        doc_id=doc_id,
        text=text.strip(),
        path=str(path),
        meta=meta,
        root=str(root.resolve()) if root is not None else None,
    )


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
    meta = {k: str(data[k]) for k in (*_META_KEYS, "note", "id") if data.get(k) is not None}
    return text[match.end() :], meta


_HIDDEN = (
    "[hidden], [aria-hidden=true], [style*='display:none' i], [style*='display: none' i], "
    "[style*='visibility:hidden' i], [style*='visibility: hidden' i], "
    "[style*='font-size:0' i], [style*='font-size: 0' i]"
)
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
_BLOCKS = "h1, h2, h3, h4, h5, h6, p, li, blockquote, pre, td, th, div"


def _check_depth(html: str, max_depth: int, path: Path) -> None:
    """Refuse HTML nested deeper than ``max_depth`` elements, in one linear pass over the tags (a
    parser and the block walk below cost far more on such a file)."""
    depth = 0
    for match in _TAG.finditer(html):
        closing, name, self_closing = match.groups()
        if name.lower() in _NOT_NESTING:
            continue
        if closing:
            depth = max(depth - 1, 0)
        elif not self_closing:
            depth += 1
            if depth > max_depth:
                raise InputError(f"HTML is nested more than {max_depth} elements deep (max_html_depth): {path}")


def _past(deadline: float | None, path: Path | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise InputError(f"reading took longer than the limit (max_parse_seconds): {path}")


def _html_text(html: str, *, deadline: float | None = None, path: Path | None = None) -> tuple[str, dict[str, str]]:
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
    _past(deadline, path)
    # innermost blocks only, so nested blocks (<li><p>, <blockquote><p>) are not read twice
    blocks = []
    for node in tree.css(_BLOCKS):
        _past(deadline, path)
        if node.css_first(_BLOCKS) is None:
            blocks.append(node.text(separator=" ", strip=True))
    text = "\n\n".join(b for b in blocks if b)
    if not text and tree.body is not None:
        text = tree.body.text(separator="\n", strip=True)
    return text, meta


def _read_pdf(path: Path, limits: DocumentLimits) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    deadline = time.monotonic() + limits.max_seconds
    try:
        reader = PdfReader(str(path))
        if len(reader.pages) > limits.max_pdf_pages:
            raise InputError(f"PDF has {len(reader.pages):,} pages; the limit is {limits.max_pdf_pages:,}: {path}")
        pages = []
        for page in reader.pages:  # the limit is checked between pages
            _past(deadline, path)
            pages.append(page.extract_text() or "")
    except FileNotFoundError as exc:
        raise InputError(f"document not found: {path}") from exc
    except (PdfReadError, ValueError, OSError, RecursionError) as exc:
        raise InputError(f"cannot read PDF {path}: {exc}") from exc
    return "\n\n".join(p.strip() for p in pages if p.strip())


def iter_document_paths(paths: list[Path], *, follow_symlinks: bool = False) -> list[Path]:
    """Expand directories (recursively) into supported files, sorted for a stable order.

    A path given explicitly is read wherever it points. Inside a given folder, a symbolic link whose
    target lies outside that folder is skipped (with a warning) unless ``follow_symlinks``; linked
    folders are not descended into unless ``follow_symlinks``."""
    return [d.path for d in iter_documents(paths, follow_symlinks=follow_symlinks)]


def iter_documents(paths: list[Path], *, follow_symlinks: bool = False) -> list[DocumentPath]:
    """:func:`iter_document_paths`, each file with the folder it was found in."""
    found: list[DocumentPath] = []
    for path in paths:
        if path.is_dir():
            root, inside = path.resolve(), []
            for folder, _dirs, files in os.walk(path, followlinks=follow_symlinks):
                for name in files:
                    candidate = Path(folder) / name
                    if candidate.suffix.lower() not in SUPPORTED_SUFFIXES or _skipped(candidate):
                        continue
                    if not follow_symlinks and not candidate.resolve().is_relative_to(root):
                        log.warning("skipped %s: it links outside %s (--follow-symlinks reads it)", candidate, path)
                        continue
                    if candidate.is_file():
                        inside.append(candidate)
            stems = Counter(p.with_suffix("") for p in inside)
            found.extend(DocumentPath(p, path, stems[p.with_suffix("")] > 1) for p in sorted(inside))
        elif path.exists():
            found.append(DocumentPath(path))
        else:
            raise InputError(f"not found: {path}")
    return found


def _skipped(path: Path) -> bool:
    """Folder listings skip READMEs and hidden or underscore-prefixed files."""
    name = path.name
    return name.upper().startswith("README") or name.startswith((".", "_"))
