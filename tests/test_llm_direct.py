"""The backend's direct call to the openai client sends and reads what ChatOpenAI would.

Each request is sent once through ``ChatOpenAI`` (the backend's other path) and once directly; the
fake server sees the same bytes and headers, and both give the same :class:`ChatResult` and errors.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx2
import pytest

from verify.errors import AuthenticationError, BackendError, ContextLengthError, QuotaExceededError
from verify.llm import ChatRequest, ChatResult, OpenAIChatBackend
from verify.testing_server import CONTEXT_MARKER, FakeOpenAIServer

SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string", "enum": ["supported", "disputed"], "maxLength": 9}},
    "required": ["label"],
    "additionalProperties": False,
}
PLAIN = ChatRequest(
    messages=[{"role": "system", "content": "Judge."}, {"role": "user", "content": "Claim: it rained — «oui»"}],
    schema=SCHEMA,
    schema_name="verdict",
    max_tokens=16,
)
REASKED = replace(
    PLAIN,
    messages=[*PLAIN.messages, {"role": "assistant", "content": "{oops"}, {"role": "user", "content": "Again."}],
    logprobs=True,
)
LOGPROBS = {
    "content": [
        {
            "token": '{"',
            "logprob": -0.01,
            "bytes": [123, 34],
            "top_logprobs": [{"token": '{"', "logprob": -0.01, "bytes": None}, {"token": "{", "logprob": -4.5}],
        },
        {"token": "label", "logprob": 0.0, "bytes": None, "top_logprobs": []},
    ],
    "refusal": None,
}

Edit = Callable[[dict[str, Any]], None]


class ShapedServer(FakeOpenAIServer):
    """The fake server with its 200 answers edited (logprobs, finish reason, missing fields)."""

    def __init__(self, edit: Edit | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.edit = edit

    def respond(self, raw: bytes) -> tuple[int, dict[str, str], dict[str, Any] | None, float]:
        status, headers, body, delay = super().respond(raw)
        if status == 200 and body is not None and self.edit is not None:
            self.edit(body)
        return status, headers, body, delay


def _with_logprobs(body: dict[str, Any]) -> None:
    body["choices"][0]["logprobs"] = copy.deepcopy(LOGPROBS)
    body["model"] = "served-model"


def _bare(body: dict[str, Any]) -> None:
    del body["usage"]
    del body["model"]
    body["choices"][0]["message"]["content"] = None


def _no_cache_details(body: dict[str, Any]) -> None:
    del body["usage"]["prompt_tokens_details"]


def _finish(reason: str) -> Edit:
    def edit(body: dict[str, Any]) -> None:
        body["choices"][0]["finish_reason"] = reason

    return edit


def _backend(url: str, **kwargs: Any) -> OpenAIChatBackend:
    settings: dict[str, Any] = {"model": "fake-model", "base_url": url, "api_key": None, "max_retries": 0}
    return OpenAIChatBackend(**{**settings, "timeout": 10, **kwargs})


async def _both(backend: OpenAIChatBackend, request: ChatRequest) -> tuple[list[Any], list[Any]]:
    """(sent, outcome) of ChatOpenAI's call, then of the backend's usual call."""
    llm = backend._client()
    sent: list[httpx2.Request] = []

    async def record(outgoing: httpx2.Request) -> None:
        sent.append(outgoing)

    llm.http_async_client.event_hooks["request"].append(record)
    assert backend._direct, "the direct call should apply to this model"
    outcomes: list[Any] = []
    for direct in (False, True):
        backend._direct = direct
        try:
            outcomes.append(_comparable(await backend.acomplete(request)))
        except Exception as exc:  # compared by the caller, type and message
            outcomes.append((type(exc), str(exc)))
    return [(dict(r.headers), r.content) for r in sent], outcomes


def _comparable(result: ChatResult) -> ChatResult:
    return replace(result, usage=result.usage.model_copy(update={"model_seconds": 0.0}))


def _run_both(request: ChatRequest, edit: Edit | None = None, **backend_kwargs: Any) -> tuple[list[Any], list[Any]]:
    with ShapedServer(edit) as server:
        backend = _backend(server.url, **backend_kwargs)

        async def go() -> tuple[list[Any], list[Any]]:
            try:
                return await _both(backend, request)
            finally:
                await backend.aclose()

        return asyncio.run(go())


@pytest.mark.parametrize("request_", [PLAIN, REASKED], ids=["plain", "reasked-with-logprobs"])
@pytest.mark.parametrize("portable", [False, True], ids=["schema", "portable-schema"])
def test_the_direct_call_sends_the_same_bytes_and_headers_as_chatopenai(request_: ChatRequest, portable: bool) -> None:
    sent, outcomes = _run_both(request_, portable_schema=portable)
    assert len(sent) == 2
    assert sent[0] == sent[1]
    body = json.loads(sent[1][1])
    assert body["max_completion_tokens"] == 16 and body["response_format"]["json_schema"]["strict"] is True
    assert ("maxLength" in json.dumps(body)) is not portable
    assert ("top_logprobs" in body) is request_.logprobs
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize(
    "edit",
    [_with_logprobs, _bare, _no_cache_details, _finish("length"), _finish("content_filter")],
    ids=["logprobs", "no-usage-model-or-content", "no-cache-details", "cut", "filtered"],
)
def test_the_direct_call_reads_answers_as_chatopenai_does(edit: Edit) -> None:
    _, (through_langchain, direct) = _run_both(REASKED, edit)
    assert direct == through_langchain
    assert direct[0] is BackendError if isinstance(direct, tuple) else direct.finish_reason in ("stop", "length")
    if edit is _with_logprobs:
        assert isinstance(direct, ChatResult) and direct.logprobs is not None
        assert direct.logprobs[0].top == (('{"', -0.01), ("{", -4.5))
        assert direct.model == "served-model" and direct.usage.cached_tokens > 0
    if edit is _bare:
        assert isinstance(direct, ChatResult) and direct.text == "" and direct.model is None


@pytest.mark.parametrize(
    ("fail_all", "content", "error"),
    [
        ("auth", "x", AuthenticationError),
        ("quota", "x", QuotaExceededError),
        (None, f"a very long {CONTEXT_MARKER} text", ContextLengthError),
    ],
)
def test_the_direct_call_maps_errors_as_before(fail_all: str | None, content: str, error: type[Exception]) -> None:
    request = replace(PLAIN, messages=[{"role": "user", "content": content}])
    with ShapedServer(fail_all=fail_all) as server:
        backend = _backend(server.url)

        async def go() -> list[Any]:
            try:
                return (await _both(backend, request))[1]
            finally:
                await backend.aclose()

        outcomes = asyncio.run(go())
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][0] is error


class FirstRateLimited(FakeOpenAIServer):
    """Answers the first request with 429 and a short Retry-After, then as usual."""

    def respond(self, raw: bytes) -> tuple[int, dict[str, str], dict[str, Any] | None, float]:
        if self.stats.requests == 0:
            self.stats.requests += 1
            return 429, {"retry-after-ms": "10"}, {"error": {"message": "slow down", "code": None}}, 0.0
        return super().respond(raw)


def test_transport_retries_stay_with_the_openai_client() -> None:
    with FirstRateLimited() as server:
        backend = _backend(server.url, max_retries=2)

        async def go() -> ChatResult:
            try:
                return await backend.acomplete(PLAIN)
            finally:
                await backend.aclose()

        result = asyncio.run(go())
        assert server.stats.requests == 2 and backend._llm is None
    assert json.loads(result.text)["label"] in ("supported", "disputed", "unverifiable")


def test_models_chatopenai_treats_differently_and_tracing_keep_the_chatopenai_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def direct(backend: OpenAIChatBackend) -> bool:
        backend._client()
        return backend._direct

    url = "http://127.0.0.1:1/v1"
    assert asyncio.run(direct(_backend(url)))
    assert not asyncio.run(direct(_backend(url, model="o3-mini")))  # system messages become "developer"
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    assert not asyncio.run(direct(_backend(url)))


def test_a_request_with_extra_options_goes_through_chatopenai() -> None:
    request = replace(PLAIN, extra={"seed": 7})
    with ShapedServer() as server:
        backend = _backend(server.url)
        sent: list[bytes] = []

        async def go() -> None:
            llm = backend._client()

            async def record(outgoing: httpx2.Request) -> None:
                sent.append(outgoing.content)

            llm.http_async_client.event_hooks["request"].append(record)
            try:
                await backend.acomplete(request)
            finally:
                await backend.aclose()

        asyncio.run(go())
    assert json.loads(sent[0])["seed"] == 7


def test_the_direct_call_uses_the_one_pool_of_the_loop() -> None:
    with ShapedServer() as server:
        backend = _backend(server.url)

        async def go() -> Any:
            await backend.acomplete(PLAIN)
            root = backend._client().root_async_client
            assert not root.is_closed()
            await backend.aclose()
            return root

        assert asyncio.run(go()).is_closed()


def test_a_continued_request_sends_the_same_bytes_and_headers_as_chatopenai() -> None:
    from verify.llm import continued

    sent, outcomes = _run_both(continued(PLAIN, '{"label": "'))
    assert len(sent) == 2
    assert sent[0] == sent[1]
    body = json.loads(sent[1][1])
    assert "response_format" not in body and body["max_completion_tokens"] == 1
    assert body["messages"][-1] == {"content": '{"label": "', "role": "assistant"} and body["logprobs"] is True
    assert outcomes[0] == outcomes[1]
