"""A persistent cache of model responses, so a repeated or resumed run pays for nothing twice.

The key is a hash of the endpoint identity (backend, model, base URL — for the embedded server
the packaged model, since its port changes), the sampling temperature and the exact request:
messages (which hold the whole prompt, so a changed prompt file is a different key), the output
schema, the token budget, logprobs and extra parameters. Only answers are stored, never errors.
The store is one SQLite file (WAL mode), safe for several processes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..llm import ChatBackend, ChatRequest, ChatResult, TokenLogprob
from ..models import Usage

if TYPE_CHECKING:
    from ..verifier import Verifier

log = logging.getLogger("verify")

CACHE_FILE = "responses.sqlite"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class ResponseCache:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / CACHE_FILE
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._lock = threading.Lock()

    def get(self, key: str) -> ChatResult | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return _decode(row[0]) if row else None

    def put(self, key: str, result: ChatResult) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)", (key, _encode(result)))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def request_key(endpoint: str, temperature: float, request: ChatRequest) -> str:
    body = {
        "endpoint": endpoint,
        "temperature": temperature,
        "messages": request.messages,
        "schema": request.schema,
        "schema_name": request.schema_name,
        "logprobs": request.logprobs,
        "max_tokens": request.max_tokens,
        "extra": request.extra,
    }
    blob = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class CachingChatBackend:
    """A :class:`~verify.llm.ChatBackend` layer answering repeated requests from a :class:`ResponseCache`.

    A request identical to one still in flight waits for that one's answer instead of being sent
    again (if that one fails, the waiter sends its own), so concurrent articles never pay twice either.
    """

    def __init__(self, inner: ChatBackend, cache: ResponseCache, *, endpoint: str, temperature: float) -> None:
        self.inner = inner
        self.name = inner.name
        self.cache = cache
        self.endpoint = endpoint
        self.temperature = temperature
        self.stats = CacheStats()
        self._in_flight: dict[str, asyncio.Future[ChatResult]] = {}

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        key = request_key(self.endpoint, self.temperature, request)
        hit = self.cache.get(key)
        if hit is not None:
            self.stats.hits += 1
            return hit
        pending = self._in_flight.get(key)
        if pending is not None:
            try:
                result = await asyncio.shield(pending)  # a waiter cancelled does not cancel the sender
            except Exception:
                pass  # the first sender failed: try on our own
            else:
                self.stats.hits += 1
                return result
        self.stats.misses += 1
        future: asyncio.Future[ChatResult] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            result = await self.inner.acomplete(request)
        except BaseException as exc:
            if isinstance(exc, Exception):
                future.set_exception(exc)
                future.exception()  # retrieved here, so an unawaited failure is not reported as lost
            else:
                future.cancel()
            raise
        finally:
            if self._in_flight.get(key) is future:
                del self._in_flight[key]
        self.cache.put(key, result)
        future.set_result(result)
        return result


def _encode(result: ChatResult) -> str:
    return json.dumps(
        {
            "text": result.text,
            "usage": result.usage.model_dump(),
            "logprobs": None
            if result.logprobs is None
            else [[t.token, t.logprob, [list(x) for x in t.top]] for t in result.logprobs],
            "model": result.model,
            "finish_reason": result.finish_reason,
        },
        ensure_ascii=False,
    )


def _decode(value: str) -> ChatResult:
    data = json.loads(value)
    logprobs = data["logprobs"]
    return ChatResult(
        text=data["text"],
        usage=Usage.model_validate(data["usage"]),
        logprobs=None
        if logprobs is None
        else [TokenLogprob(tok, lp, tuple((a, b) for a, b in top)) for tok, lp, top in logprobs],
        model=data["model"],
        finish_reason=data["finish_reason"],
    )


def endpoint_identity(verifier: Verifier) -> str:
    """What the response cache keys the endpoint by (the embedded server's port changes per run)."""
    cfg = verifier.config
    if cfg.backend == "embedded":
        return f"embedded:{cfg.embedded_model}"
    return f"{cfg.base_url or 'https://api.openai.com/v1'}|{cfg.model_name}"


@contextlib.contextmanager
def serve_through(
    verifier: Verifier, backend: ChatBackend, cache_dir: Path | None
) -> Iterator[CachingChatBackend | None]:
    """For the length of a run (a batch, an eval), the verifier's calls go to ``backend`` (its own
    backend or a wrapper of it, such as the batch's rate limiter), behind the persistent response
    cache in ``cache_dir`` when one is given; the verifier gets its own backend back afterwards."""
    inner = verifier.chat
    cache = ResponseCache(cache_dir) if cache_dir is not None else None
    endpoint, temperature = endpoint_identity(verifier), verifier.config.temperature
    caching = (
        CachingChatBackend(backend, cache, endpoint=endpoint, temperature=temperature) if cache is not None else None
    )
    verifier.wrap_chat(lambda _: caching or backend)
    try:
        yield caching
    finally:
        verifier.wrap_chat(lambda _: inner)
        if cache is not None:
            cache.close()
