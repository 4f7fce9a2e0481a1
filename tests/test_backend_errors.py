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
