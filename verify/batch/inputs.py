"""What a batch checks: files, directories, globs and JSONL files of articles.

Every input is one named article. Its key is a hash of its text and the date given for it (the
date changes extraction), so the same article under two names is one piece of work reported under
both names.
"""

from __future__ import annotations

import glob
import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..documents import check_text, read_text_file
from ..errors import InputError

ARTICLE_SUFFIXES = (".txt", ".md")


class ArticleInput(BaseModel):
    """One named article. Fields beyond these in a JSONL line are kept in ``metadata``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="The name the article is reported under")
    text: str
    title: str | None = None
    outlet: str | None = None
    date: str | None = Field(None, description="ISO date, passed to extraction")
    url: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    problem: str | None = Field(None, description="Why the text cannot be checked (empty, binary, too long)")

    @property
    def key(self) -> str:
        if self.problem is not None:  # no usable text: its own key, so bad inputs never merge
            return article_key("\0unreadable:" + self.id, None)
        return article_key(self.text, self.date)

    def meta(self) -> dict[str, Any]:
        """Everything but the text and the problem: what travels into the report."""
        return self.model_dump(exclude={"text", "problem"}, exclude_none=True)


class WorkItem(BaseModel):
    """One unique article to check, with every input name it stands for (in input order)."""

    key: str
    text: str
    date: str | None
    inputs: list[ArticleInput]
    problem: str | None = None

    @property
    def names(self) -> list[str]:
        return [a.id for a in self.inputs]


def article_key(text: str, date: str | None) -> str:
    digest = hashlib.sha256(text.encode("utf-8"))
    digest.update(b"\0" + (date or "").encode("utf-8"))
    return digest.hexdigest()[:24]


def collect_inputs(specs: list[str], *, max_chars: int, date: str | None = None) -> list[ArticleInput]:
    """Articles in the order given: a ``.jsonl`` file is read line by line, a directory is searched
    recursively for .txt and .md files (sorted), a pattern with ``*?[`` is expanded (sorted).
    ``date`` is the default for articles that bring none."""
    out: list[ArticleInput] = []
    for spec in specs:
        if any(ch in spec for ch in "*?[") and not Path(spec).exists():
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                raise InputError(f"no file matches {spec!r}")
            paths = [Path(m) for m in matches if Path(m).is_file()]
        else:
            path = Path(spec)
            if path.is_dir():
                paths = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES)
                if not paths:
                    raise InputError(f"no .txt or .md articles under {path}")
            else:
                paths = [path]
        for path in paths:
            if path.suffix.lower() == ".jsonl":
                out.extend(read_jsonl(path, max_chars=max_chars))
            elif not path.is_file():
                raise InputError(f"article file not found: {path}")
            else:
                try:
                    out.append(ArticleInput(id=str(path), text=read_text_file(path, max_chars=max_chars)))
                except InputError as exc:  # fails this article only
                    out.append(ArticleInput(id=str(path), text="", problem=str(exc)))
    if date is not None:
        out = [a if a.date else a.model_copy(update={"date": date}) for a in out]
    seen: dict[str, str] = {}
    unique = []
    for article in out:
        if article.id in seen:  # the same file given twice is one input; another article by its name is an error
            if seen[article.id] != article.key:
                raise InputError(f"two different articles are both named {article.id!r}")
            continue
        seen[article.id] = article.key
        unique.append(article)
    return unique


_KNOWN = set(ArticleInput.model_fields) - {"metadata", "problem"}


def read_jsonl(path: Path, *, max_chars: int) -> list[ArticleInput]:
    if not path.is_file():
        raise InputError(f"article file not found: {path}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not valid UTF-8 (byte {exc.start})") from exc
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(data, dict):
            raise InputError(f"{where}: each line must be a JSON object")
        if "id" in data and not isinstance(data["id"], str):
            data["id"] = str(data["id"])
        extra = {k: v for k, v in data.items() if k not in _KNOWN}
        data = {k: v for k, v in data.items() if k in _KNOWN}
        if isinstance(extra.get("metadata"), dict):
            extra = {**extra.pop("metadata"), **extra}
        try:
            article = ArticleInput(**data, metadata=extra)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InputError(f"{where}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
        try:
            check_text(article.text, max_chars=max_chars)
        except InputError as exc:  # fails this article only
            article = article.model_copy(update={"problem": f"{where}: {exc}"})
        out.append(article)
    if not out:
        raise InputError(f"no articles in {path}")
    return out


def group_items(articles: list[ArticleInput]) -> list[WorkItem]:
    """One work item per key, in the order of each key's first input."""
    items: dict[str, WorkItem] = {}
    for article in articles:
        item = items.get(article.key)
        if item is None:
            items[article.key] = WorkItem(
                key=article.key, text=article.text, date=article.date, inputs=[article], problem=article.problem
            )
        elif article.id not in item.names:
            item.inputs.append(article)
    return list(items.values())


def parse_shard(spec: str) -> tuple[int, int]:
    """``K/N`` (1 <= K <= N)."""
    try:
        k, n = (int(part) for part in spec.split("/"))
    except ValueError as exc:
        raise InputError(f"--shard wants K/N, e.g. 1/4, not {spec!r}") from exc
    if not 1 <= k <= n:
        raise InputError(f"--shard {spec}: K must be between 1 and N")
    return k, n


def in_shard(key: str, shard: tuple[int, int] | None) -> bool:
    if shard is None:
        return True
    k, n = shard
    return int(key, 16) % n == k - 1
