"""Transport failures of the OpenAI-compatible backend become clear, typed user errors."""

from __future__ import annotations

import asyncio
import socket

import pytest

from verify.errors import EndpointUnreachableError
from verify.llm import ChatRequest, OpenAIChatBackend, portable


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_endpoint_is_a_one_line_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    backend = OpenAIChatBackend(model="m", base_url=url, api_key=None, max_retries=0, timeout=5)
    request = ChatRequest(messages=[{"role": "user", "content": "hi"}], schema={"type": "object"}, schema_name="x")
    with pytest.raises(EndpointUnreachableError) as info:
        asyncio.run(backend.acomplete(request))
    assert url in str(info.value) and "\n" not in str(info.value)


def test_portable_schema_drops_length_bounds_only() -> None:
    schema = {
        "type": "object",
        "properties": {"r": {"type": "string", "maxLength": 9, "enum": ["a"]}},
        "required": ["r"],
    }
    assert portable(schema) == {
        "type": "object",
        "properties": {"r": {"type": "string", "enum": ["a"]}},
        "required": ["r"],
    }


def test_backend_survives_a_new_event_loop_per_call() -> None:
    """Sync callers run each article in its own asyncio.run; the client must follow the loop."""
    backend = OpenAIChatBackend(model="m", base_url="http://127.0.0.1:1/v1", api_key=None, max_retries=0)

    async def client_id() -> int:
        return id(backend._client())

    first = asyncio.run(client_id())
    second = asyncio.run(client_id())
    assert first != second

    async def same_loop_twice() -> tuple[int, int]:
        return id(backend._client()), id(backend._client())

    a, b = asyncio.run(same_loop_twice())
    assert a == b


def test_a_lost_connection_fails_one_request_until_the_endpoint_is_gone() -> None:
    """After the endpoint has answered, a request that cannot connect is that request's failure
    (not fatal); UNREACHABLE_AFTER such requests in a row, with no answer between, mean it is gone."""
    from verify.errors import FATAL, ConnectionLostError
    from verify.llm import UNREACHABLE_AFTER
    from verify.testing_server import DROP_MARKER, FakeOpenAIServer

    def request(text: str, name: str = "verdict") -> ChatRequest:
        return ChatRequest(messages=[{"role": "user", "content": f"Claim: {text}"}], schema={}, schema_name=name)

    async def calls(url: str, port_holder: FakeOpenAIServer) -> None:
        backend = OpenAIChatBackend(model="m", base_url=url, api_key=None, max_retries=0, timeout=5)
        await backend.acomplete(request("a claim"))
        with pytest.raises(ConnectionLostError) as dropped:  # the server closes this connection unanswered
            await backend.acomplete(request(DROP_MARKER, name="claims"))
        assert not isinstance(dropped.value, FATAL) and "\n" not in str(dropped.value)
        await backend.acomplete(request("another claim"))  # an answer resets the count
        port_holder.stop()
        for _ in range(UNREACHABLE_AFTER - 1):
            with pytest.raises(ConnectionLostError):
                await backend.acomplete(request("a claim"))
        with pytest.raises(EndpointUnreachableError, match=f"{UNREACHABLE_AFTER} requests in a row"):
            await backend.acomplete(request("a claim"))

    server = FakeOpenAIServer().start()
    asyncio.run(calls(server.url, server))
