"""One bound on model requests in flight across a whole batch, and optional per-minute limits.

The bound sits below the response cache (a cache hit takes no slot) and above the openai client,
whose own transport retries happen inside a slot.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from ..config import VerifyConfig
from ..llm import ChatBackend, ChatRequest, ChatResult
from ..models import Usage

REMOTE_IN_FLIGHT = 16


def default_in_flight(config: VerifyConfig) -> int:
    """The embedded server has ``concurrency`` slots; a remote server takes more."""
    if config.max_in_flight is not None:
        return config.max_in_flight
    return config.concurrency if config.backend == "embedded" else REMOTE_IN_FLIGHT


class RateLimiter:
    """A token bucket refilled at ``per_minute / 60`` per second holding at most ``burst``; a
    request larger than the bucket waits for a full bucket and then overdraws it."""

    def __init__(self, per_minute: float, *, burst: float | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = burst if burst is not None else max(1.0, self.rate)
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, amount: float = 1.0) -> None:
        need = min(amount, self.capacity)
        async with self._lock:  # waiters are served in order
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.level >= need:
                    self.level -= amount
                    return
                await asyncio.sleep((need - self.level) / self.rate)


def estimate_tokens(request: ChatRequest) -> int:
    """Prompt characters / 4 plus the completion budget: what a tokens-per-minute limit charges."""
    return sum(len(m["content"]) for m in request.messages) // 4 + request.max_tokens


@dataclass
class RequestStats:
    sent: int = 0
    failed: int = 0
    peak_in_flight: int = 0
    in_flight: int = 0
    usage: Usage = field(default_factory=Usage)  # of the answers received: what this process paid for


class LimitedChatBackend:
    """A :class:`~verify.llm.ChatBackend` layer: at most ``max_in_flight`` requests at once, and the
    per-minute limits, shared by every article of the run. Counts what reaches the endpoint."""

    def __init__(
        self,
        inner: ChatBackend,
        *,
        max_in_flight: int,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_in_flight = max_in_flight
        self._gate = asyncio.Semaphore(max_in_flight)
        self._rpm = RateLimiter(requests_per_minute) if requests_per_minute else None
        self._tpm = RateLimiter(tokens_per_minute, burst=tokens_per_minute / 6) if tokens_per_minute else None
        self.stats = RequestStats()

    @classmethod
    def from_config(cls, inner: ChatBackend, config: VerifyConfig) -> LimitedChatBackend:
        """The configuration's bound on requests in flight and its per-minute limits around ``inner``."""
        return cls(
            inner,
            max_in_flight=default_in_flight(config),
            requests_per_minute=config.requests_per_minute,
            tokens_per_minute=config.tokens_per_minute,
        )

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        async with self._gate:
            if self._rpm is not None:
                await self._rpm.acquire()
            if self._tpm is not None:
                await self._tpm.acquire(estimate_tokens(request))
            self.stats.sent += 1
            self.stats.in_flight += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
            try:
                result = await self.inner.acomplete(request)
                self.stats.usage.add(result.usage)
                return result
            except BaseException:
                self.stats.failed += 1
                raise
            finally:
                self.stats.in_flight -= 1
