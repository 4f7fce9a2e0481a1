"""Test doubles: a fake chat model with queued answers and deterministic fake embeddings.

chat = FakeChatModel()
chat.enqueue({"claims": [...]})             # a dict is sent back as JSON
chat.enqueue(lambda request: {...})         # or computed from the request
chat.enqueue(BackendError("boom"))          # or raised
chat.enqueue(ChatResult(text, usage, finish_reason="length"))   # or sent back as it is
verifier = Verifier(config, chat=chat, embedder=HashEmbedder())
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import deque
from collections.abc import Callable
from typing import Any

from .llm import ChatRequest, ChatResult, TokenLogprob
from .models import Usage

Answer = dict[str, Any] | str | Exception | ChatResult | Callable[[ChatRequest], Any]


class FakeChatModel:
    """A :class:`~verify.llm.ChatBackend` that answers from a queue and records every request."""

    name = "fake-chat"

    def __init__(self, *, label_logprobs: dict[str, float] | None = None) -> None:
        self._queue: deque[Answer] = deque()
        self.requests: list[ChatRequest] = []
        self.label_logprobs = label_logprobs

    def enqueue(self, *answers: Answer) -> FakeChatModel:
        self._queue.extend(answers)
        return self

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        self.requests.append(request)
        if not self._queue:
            raise AssertionError(f"FakeChatModel: no answer queued for a '{request.schema_name}' request")
        answer = self._queue.popleft()
        if callable(answer) and not isinstance(answer, Exception):
            answer = answer(request)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, ChatResult):
            return answer
        text = answer if isinstance(answer, str) else json.dumps(answer)
        prompt_tokens = sum(len(m["content"].split()) for m in request.messages)
        return ChatResult(
            text=text,
            usage=Usage(calls=1, prompt_tokens=prompt_tokens, completion_tokens=len(text.split())),
            logprobs=self._logprobs(text) if request.logprobs else None,
            model=self.name,
        )

    def _logprobs(self, text: str) -> list[TokenLogprob] | None:
        """Fake token logprobs: the label value is one token whose alternatives carry ``label_logprobs``."""
        if self.label_logprobs is None:
            return None
        match = re.search(r'"label"\s*:\s*"', text)
        if not match:
            return None
        head, tail = text[: match.end()], text[match.end() :]
        word = re.match(r"[a-z]+", tail)
        label = word.group(0) if word else ""
        top = tuple(sorted(self.label_logprobs.items(), key=lambda kv: -kv[1]))
        return [
            TokenLogprob(head, 0.0),
            TokenLogprob(label, self.label_logprobs.get(label, -10.0), top),
            TokenLogprob(tail[len(label) :], 0.0),
        ]


def extraction_answer(claims: list[dict[str, Any]]) -> dict[str, Any]:
    """An extraction answer in the model's format, from claims given as ``{"sentence", "claim", "kind"}``."""
    return {"claims": [{"sentence": c["sentence"], "kind": c["kind"], "claim": c["claim"]} for c in claims]}


class HashEmbedder:
    """Deterministic bag-of-words embeddings: texts sharing words get similar unit vectors."""

    name = "hash-embedder-64"
    dimension = 64

    def embed(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vec = [0.0] * self.dimension
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                vec[h % self.dimension] += 1.0 if (h >> 8) % 2 else -1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out
