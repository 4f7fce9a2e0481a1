"""Schema-constrained calls with validation and a bounded number of re-asks.

The openai client inside the backend already retries transport failures (``max_retries``). Here,
tenacity re-asks only when the model answered but the answer does not validate: the failed answer
and the validation error are sent back once more, up to ``max_reasks`` times. The worst case per
stage call is therefore ``(max_reasks + 1) * (max_retries + 1)`` HTTP requests.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt

from .errors import InvalidOutputError, TruncatedOutputError
from .llm import ChatBackend, ChatRequest, ChatResult
from .models import Usage

log = logging.getLogger("verify")

T = TypeVar("T", bound=BaseModel)


class OutputRejected(Exception):
    """The model's output failed validation; the message is shown to the model on re-ask."""


@dataclass
class StructuredResult(Generic[T]):
    value: T
    result: ChatResult
    usage: Usage
    attempts: int
    raw_outputs: list[str]


async def call_structured(
    backend: ChatBackend,
    request: ChatRequest,
    output_type: type[T],
    *,
    max_reasks: int,
    check: Callable[[T], None] | None = None,
) -> StructuredResult[T]:
    """Call the model, parse its JSON into ``output_type``, run ``check``; re-ask on failure."""
    usage = Usage()
    raws: list[str] = []
    messages = list(request.messages)
    attempt = 0
    try:
        async for retry in AsyncRetrying(
            stop=stop_after_attempt(max_reasks + 1),
            retry=retry_if_exception_type(OutputRejected),
            reraise=False,
        ):
            with retry:
                attempt += 1
                call = ChatRequest(
                    messages=messages,
                    schema=request.schema,
                    schema_name=request.schema_name,
                    logprobs=request.logprobs,
                    max_tokens=request.max_tokens,
                    extra=request.extra,
                )
                result = await backend.acomplete(call)
                usage.add(result.usage)
                raws.append(result.text)
                if result.finish_reason == "length":
                    raise TruncatedOutputError(
                        f"{request.schema_name}: the answer was cut at the limit of {request.max_tokens} tokens",
                        usage,
                    )
                try:
                    value = _parse(result.text, output_type)
                    if check is not None:
                        check(value)
                except OutputRejected as exc:
                    log.info("re-asking %s after invalid output: %s", request.schema_name, exc)
                    messages = [
                        *request.messages,
                        {"role": "assistant", "content": result.text},
                        {
                            "role": "user",
                            "content": f"That answer is invalid: {exc}. Answer again with JSON only, "
                            "following the required format.",
                        },
                    ]
                    raise
                return StructuredResult(value, result, usage, attempt, raws)
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        raise InvalidOutputError(
            f"{request.schema_name}: invalid model output after {attempt} attempt(s): {cause}", usage
        ) from cause
    raise AssertionError("unreachable")  # pragma: no cover


def _parse(text: str, output_type: type[T]) -> T:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputRejected(f"not valid JSON ({exc.msg} at position {exc.pos})") from exc
    try:
        return output_type.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "root"
        raise OutputRejected(f"{where}: {first['msg']}") from exc
