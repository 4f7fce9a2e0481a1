"""Chat model backends.

Every backend speaks the OpenAI chat-completions protocol, so the embedded default and OpenAI (or
vLLM, Ollama, a llama.cpp server) share one code path: :class:`OpenAIChatBackend`, built on
langchain's ``ChatOpenAI``. Transport retries (connection errors, 429 and 5xx, honouring
Retry-After) belong to the openai client inside it (``max_retries``); re-asks after invalid output
are done one level up, in :mod:`verify.structured`.

``ChatOpenAI`` builds the openai client (settings, HTTP pool, retries). A call normally goes
straight to that client with the request body ``ChatOpenAI`` would have sent, because the per-call
path through ``ChatOpenAI`` (callbacks, message objects, the openai parse helper walking every
parameter against its type hints and building the response models twice, a thread hop for the
result) cost more client CPU than the HTTP exchange itself (about 3 ms against 2 ms a request in
``bench/bench_batch.py``). The body is compared with ``ChatOpenAI``'s own once per client; models
it treats differently (other roles, another API), requests with extra options or other roles, and
langchain tracing keep the path through ``ChatOpenAI``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol, TypeVar, runtime_checkable

import openai

from .errors import (
    AuthenticationError,
    BackendError,
    ConnectionLostError,
    ContextLengthError,
    EndpointUnreachableError,
    QuotaExceededError,
)
from .models import Usage

log = logging.getLogger("verify")
V = TypeVar("V", bound=StrEnum)


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


def value_of_token(token: str, values: Iterable[V]) -> V | None:
    """The enum value a token starts writing (``"op`` -> opinion) or spells out, if any."""
    piece = token.strip().lstrip('"').strip().lower()
    if not piece:
        return None
    for value in values:
        if value.startswith(piece) or piece.startswith(value):
            return value
    return None


@dataclass
class ChatResult:
    text: str
    usage: Usage
    logprobs: list[TokenLogprob] | None = None
    model: str | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class ChatRequest:
    messages: list[dict[str, str]]
    schema: dict[str, Any] | None  # None: no response format (a continued answer, see ``continued``)
    schema_name: str
    logprobs: bool = False
    max_tokens: int = 512
    extra: dict[str, Any] = field(default_factory=dict)


def continued(request: ChatRequest, prefix: str) -> ChatRequest:
    """``request`` answered by continuing ``prefix``, the start of the JSON answer its schema makes
    the model write, for one token and with no schema.

    The context up to the value token is the same as in the constrained answer, so the value token's
    probabilities are the same too (checked on the embedded model: equal to three decimals), for one
    generated token instead of the whole answer. Only servers that continue a final assistant
    message (llama.cpp does; the OpenAI API does not) can serve it; callers fall back to the
    schema request when the answer holds no value token.
    """
    return replace(
        request,
        messages=[*request.messages, {"role": "assistant", "content": prefix}],
        schema=None,
        logprobs=True,
        max_tokens=1,
    )


@runtime_checkable
class ChatBackend(Protocol):
    """What the pipeline needs from a chat model."""

    name: str

    async def acomplete(self, request: ChatRequest) -> ChatResult: ...


# requests in a row that could not connect (each after the client's own retries), with no answer
# between them, after which an endpoint that had answered counts as gone and the run stops
UNREACHABLE_AFTER = 8
_DIRECT_ROLES = frozenset({"system", "user", "assistant"})
_FILTERED = "the endpoint's content filter stopped the answer"
# what ChatOpenAI's call through the openai parse helper adds to a request: the same on the wire
_PARSE_HELPER_OPTIONS: dict[str, Any] = {
    "headers": {"X-Stainless-Helper-Method": "chat.completions.parse", "X-Stainless-Raw-Response": "true"},
    "security": {"bearer_auth": True},
}
# a request with no response format goes through the plain create call, which adds no helper header
_RAW_OPTIONS: dict[str, Any] = {
    "headers": {"X-Stainless-Raw-Response": "true"},
    "security": {"bearer_auth": True},
}
# a request with every role and option the direct call writes, to compare its body with ChatOpenAI's
_PROBE = ChatRequest(
    messages=[
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "v"},
    ],
    schema={"type": "object"},
    schema_name="probe",
    logprobs=True,
    max_tokens=7,
)


class OpenAIChatBackend:
    """Any OpenAI-compatible endpoint, with the client ``langchain_openai.ChatOpenAI`` builds."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str | None,
        temperature: float = 0.0,
        timeout: float = 300.0,
        max_retries: int = 2,
        top_logprobs: int = 20,
        portable_schema: bool = False,
    ) -> None:
        self.name = model
        self.base_url = base_url
        self._top_logprobs = top_logprobs
        self._portable_schema = portable_schema
        self._settings: dict[str, Any] = {
            "model": model,
            "base_url": base_url,
            "api_key": api_key or "not-needed",  # local servers ignore it; the client insists on one
            "temperature": temperature,
            "timeout": timeout,
            "max_retries": max_retries,
        }
        self._llm: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._direct = False  # whether the current client's calls may skip ChatOpenAI (see _direct_matches)
        self._answered = False  # the endpoint has answered at least once (any HTTP status)
        self._lost_in_a_row = 0  # requests since the last answer that could not connect

    def _client(self) -> Any:
        """The chat client for the running event loop.

        The async HTTP client inside is bound to the loop it was first used on; sync callers run each
        article in a fresh ``asyncio.run``, so a new loop gets a new client.
        """
        loop = asyncio.get_running_loop()
        if self._llm is None or loop is not self._loop:
            from langchain_openai import ChatOpenAI

            # langchain-openai shares one cached async HTTP client between instances; give each loop its own
            http = openai.DefaultAsyncHttpxClient(timeout=self._settings["timeout"])
            self._llm = ChatOpenAI(**self._settings, http_async_client=http)
            self._loop = loop
            self._direct = self._direct_matches(self._llm)
        return self._llm

    def _options(self, request: ChatRequest) -> dict[str, Any]:
        """The call options given to ``ChatOpenAI``."""
        options: dict[str, Any] = {"max_tokens": request.max_tokens, **request.extra}
        if request.schema is not None:
            options["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name,
                    "schema": portable(request.schema) if self._portable_schema else request.schema,
                    "strict": True,
                },
            }
        if request.logprobs:
            options.update(logprobs=True, top_logprobs=self._top_logprobs)
        return options

    def _body(self, llm: Any, request: ChatRequest, options: dict[str, Any]) -> dict[str, Any]:
        """The request body ``ChatOpenAI`` sends for ``request`` (keys in the order the openai client
        writes them, so the bytes are the same too)."""
        body: dict[str, Any] = {
            "model": llm.model_name,
            "stream": False,
            "messages": [{"content": m["content"], "role": m["role"]} for m in request.messages],
        }
        if request.logprobs:
            body["logprobs"] = True
        body["max_completion_tokens"] = request.max_tokens
        if "response_format" in options:
            body["response_format"] = options["response_format"]
        if llm.temperature is not None:
            body["temperature"] = llm.temperature
        if request.logprobs:
            body["top_logprobs"] = self._top_logprobs
        return body

    def _direct_matches(self, llm: Any) -> bool:
        """Whether :meth:`_body` is what ``ChatOpenAI`` sends with these settings and this model
        (some models get other roles, no temperature or another API) and no tracing is asked for."""
        if any(os.environ.get(name, "").lower() == "true" for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2")):
            return False
        options = self._options(_PROBE)
        try:
            sent = llm._get_request_payload([(m["role"], m["content"]) for m in _PROBE.messages], **options)
        except Exception:  # another langchain-openai: keep to its own path
            return False
        return bool(sent == self._body(llm, _PROBE, options))

    async def acomplete(self, request: ChatRequest) -> ChatResult:
        llm = self._client()
        options = self._options(request)
        started = time.perf_counter()
        try:
            if self._direct and not request.extra and all(m["role"] in _DIRECT_ROLES for m in request.messages):
                result = await self._call_direct(llm, self._body(llm, request, options), started)
            else:
                result = await self._call_langchain(llm, request, options, started)
            self._reached()
            return result
        except openai.LengthFinishReasonError as exc:
            self._reached()
            # the client refuses to parse a schema answer cut by the token limit: hand back what was
            # written, marked "length", so the caller splits the work instead of failing the article
            return _cut_result(exc.completion.model_dump(), time.perf_counter() - started)
        except openai.ContentFilterFinishReasonError as exc:
            raise BackendError(_FILTERED) from exc
        except openai.AuthenticationError as exc:
            raise AuthenticationError(f"the endpoint rejected the API key ({exc.status_code})") from exc
        except openai.APITimeoutError as exc:
            raise BackendError(f"the model endpoint timed out: {self._where()}") from exc
        except openai.APIConnectionError as exc:
            raise self._lost(exc) from exc
        except openai.APIStatusError as exc:
            self._reached()
            message = f"the model endpoint answered {exc.status_code}: {_short(exc.message)}"
            if _error_code(exc) == "insufficient_quota":
                raise QuotaExceededError(f"quota exhausted at {self._where()}: {_short(exc.message)}") from exc
            if exc.status_code == 400 and _is_context_length(exc):
                raise ContextLengthError(message) from exc
            raise BackendError(message) from exc

    async def _call_direct(self, llm: Any, body: dict[str, Any], started: float) -> ChatResult:
        """The openai client ``ChatOpenAI`` holds, called with the body ``ChatOpenAI`` would send."""
        options = _PARSE_HELPER_OPTIONS if "response_format" in body else _RAW_OPTIONS
        raw = await llm.root_async_client.post("/chat/completions", body=body, cast_to=object, options=options)
        elapsed = time.perf_counter() - started
        data = raw.parse()  # the JSON as the openai client reads it (the text when it is not JSON)
        return _read_completion(data, elapsed)

    async def _call_langchain(
        self, llm: Any, request: ChatRequest, options: dict[str, Any], started: float
    ) -> ChatResult:
        message = await llm.bind(**options).ainvoke([(m["role"], m["content"]) for m in request.messages])
        elapsed = time.perf_counter() - started
        meta = message.usage_metadata or {}
        usage = Usage(
            calls=1,
            prompt_tokens=int(meta.get("input_tokens", 0)),
            cached_tokens=int((meta.get("input_token_details") or {}).get("cache_read", 0) or 0),
            completion_tokens=int(meta.get("output_tokens", 0)),
            model_seconds=elapsed,
        )
        content = message.content if isinstance(message.content, str) else str(message.content)
        response = message.response_metadata or {}
        return ChatResult(
            text=content,
            usage=usage,
            logprobs=_parse_logprobs(response.get("logprobs")),
            model=response.get("model_name"),
            finish_reason=response.get("finish_reason"),
        )

    def _reached(self) -> None:
        self._answered, self._lost_in_a_row = True, 0

    def _lost(self, exc: openai.APIConnectionError) -> BackendError:
        """A request that could not connect: the endpoint is unreachable when it never answered or
        :data:`UNREACHABLE_AFTER` requests in a row failed so; otherwise this request alone failed."""
        self._lost_in_a_row += 1
        cause = _short(str(exc.__cause__ or exc))
        if not self._answered:
            return EndpointUnreachableError(f"cannot reach the model endpoint at {self._where()}")
        if self._lost_in_a_row >= UNREACHABLE_AFTER:
            return EndpointUnreachableError(
                f"the model endpoint at {self._where()} stopped answering: {self._lost_in_a_row} requests in a row "
                f"could not connect ({cause})"
            )
        return ConnectionLostError(f"lost the connection to the model endpoint at {self._where()}: {cause}")

    def _where(self) -> str:
        return self.base_url or "the OpenAI API"

    async def aclose(self) -> None:
        """Close the HTTP connection pool of the current client (call on the loop that used it)."""
        llm, self._llm, self._loop = self._llm, None, None
        client = getattr(llm, "http_async_client", None) if llm is not None else None
        if client is not None:
            await client.aclose()


def _read_completion(data: Any, elapsed: float) -> ChatResult:
    """A chat completion body read as the openai parse helper and ``ChatOpenAI`` read it: a choice cut
    by the token limit gives the cut result, the content filter an error, else the first choice."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise ValueError(f"unexpected response from the model endpoint: {_short(repr(data))}")
    choices: list[dict[str, Any]] = data["choices"]
    for choice in choices:
        if choice.get("finish_reason") == "length":
            return _cut_result(data, elapsed)
        if choice.get("finish_reason") == "content_filter":
            raise BackendError(_FILTERED)
    if data.get("error"):
        raise ValueError(data["error"])
    first = choices[0]
    content = (first.get("message") or {}).get("content") or ""
    return ChatResult(
        text=content if isinstance(content, str) else str(content),
        usage=_usage(data.get("usage"), elapsed),
        logprobs=_parse_logprobs(first.get("logprobs")),
        model=data.get("model"),
        finish_reason=first.get("finish_reason"),
    )


def _usage(raw: dict[str, Any] | None, elapsed: float) -> Usage:
    raw = raw or {}
    details = raw.get("prompt_tokens_details") or {}
    return Usage(
        calls=1,
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
        model_seconds=elapsed,
    )


def _cut_result(completion: dict[str, Any], elapsed: float) -> ChatResult:
    choices = completion.get("choices") or []
    message = (choices[0].get("message") or {}) if choices else {}
    return ChatResult(
        text=message.get("content") or "",
        usage=_usage(completion.get("usage"), elapsed),
        logprobs=_parse_logprobs(choices[0].get("logprobs")) if choices else None,
        model=completion.get("model"),
        finish_reason="length",
    )


def _error_code(exc: openai.APIStatusError) -> str | None:
    code = getattr(exc, "code", None)
    if code is None and isinstance(exc.body, dict):
        inner = exc.body.get("error", exc.body)
        code = inner.get("code") if isinstance(inner, dict) else None
    return str(code) if code is not None else None


def _is_context_length(exc: openai.APIStatusError) -> bool:
    """OpenAI says ``context_length_exceeded``; vLLM and llama.cpp servers say it in words."""
    text = f"{_error_code(exc)} {exc.message}".lower()
    return "context_length" in text or "context length" in text or "context size" in text


def _parse_logprobs(raw: Any) -> list[TokenLogprob] | None:
    if not raw or not raw.get("content"):
        return None
    out = []
    for item in raw["content"]:
        top = tuple((t["token"], float(t["logprob"])) for t in item.get("top_logprobs") or ())
        out.append(TokenLogprob(item["token"], float(item["logprob"]), top))
    return out


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_UNPORTABLE = frozenset({"minLength", "maxLength"})


def portable(schema: object) -> object:
    """Drop schema keywords that OpenAI's strict structured outputs reject (string length bounds)."""
    if isinstance(schema, dict):
        return {k: portable(v) for k, v in schema.items() if k not in _UNPORTABLE}
    if isinstance(schema, list):
        return [portable(v) for v in schema]
    return schema
