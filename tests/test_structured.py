from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from verify.errors import BackendError, InvalidOutputError
from verify.llm import ChatRequest
from verify.structured import OutputRejected, StructuredResult, call_structured
from verify.testing import FakeChatModel


class Answer(BaseModel):
    name: str
    count: int


REQUEST = ChatRequest(
    messages=[
        {"role": "system", "content": "Answer in JSON."},
        {"role": "user", "content": "Count the allies."},
    ],
    schema={"type": "object"},
    schema_name="answer",
)


def call(chat: FakeChatModel, max_reasks: int = 1, check=None) -> StructuredResult[Answer]:
    return asyncio.run(call_structured(chat, REQUEST, Answer, max_reasks=max_reasks, check=check))


def test_valid_answer_on_first_try():
    chat = FakeChatModel().enqueue({"name": "NATO", "count": 32})
    result = call(chat)
    assert result.value == Answer(name="NATO", count=32)
    assert result.attempts == 1
    assert result.usage.calls == 1
    assert chat.requests[0].messages == REQUEST.messages


def test_reask_after_invalid_json_then_success_sums_usage():
    chat = FakeChatModel().enqueue("NATO has 32 members", {"name": "NATO", "count": 32})
    result = call(chat, max_reasks=1)
    assert result.value.count == 32
    assert result.attempts == 2
    assert result.raw_outputs == ["NATO has 32 members", '{"name": "NATO", "count": 32}']
    assert len(chat.requests) == 2
    # Each fake call reports its prompt words and answer words; the result carries both calls.
    prompt_words = [sum(len(m["content"].split()) for m in r.messages) for r in chat.requests]
    assert result.usage.calls == 2
    assert result.usage.prompt_tokens == sum(prompt_words)
    assert result.usage.completion_tokens == sum(len(raw.split()) for raw in result.raw_outputs)


def test_reask_shows_the_model_its_answer_and_the_error():
    chat = FakeChatModel().enqueue("NATO has 32 members", {"name": "NATO", "count": 32})
    call(chat, max_reasks=1)
    second = chat.requests[1].messages
    assert second[:2] == REQUEST.messages
    assert second[2] == {"role": "assistant", "content": "NATO has 32 members"}
    assert second[3]["role"] == "user"
    assert "not valid JSON" in second[3]["content"]


def test_schema_violation_is_reasked_with_the_field_name():
    chat = FakeChatModel().enqueue({"name": "NATO"}, {"name": "NATO", "count": 32})
    result = call(chat, max_reasks=1)
    assert result.attempts == 2
    assert "count" in chat.requests[1].messages[-1]["content"]


def test_check_rejection_is_reasked_with_its_message():
    def at_least_30(answer: Answer) -> None:
        if answer.count < 30:
            raise OutputRejected(f"count {answer.count} is too small")

    chat = FakeChatModel().enqueue({"name": "NATO", "count": 12}, {"name": "NATO", "count": 31})
    result = call(chat, max_reasks=2, check=at_least_30)
    assert result.value.count == 31
    assert "count 12 is too small" in chat.requests[1].messages[-1]["content"]


def test_gives_up_after_max_reasks_with_invalid_output_error():
    chat = FakeChatModel().enqueue("no", "still no", "never")
    with pytest.raises(InvalidOutputError, match="answer") as info:
        call(chat, max_reasks=2)
    assert len(chat.requests) == 3
    assert "3 attempt" in str(info.value)


def test_no_reask_when_max_reasks_is_zero():
    chat = FakeChatModel().enqueue("no", {"name": "NATO", "count": 32})
    with pytest.raises(InvalidOutputError):
        call(chat, max_reasks=0)
    assert len(chat.requests) == 1
    assert chat.pending == 1


def test_backend_errors_are_not_reasked():
    chat = FakeChatModel().enqueue(BackendError("the model endpoint answered 503"), {"name": "NATO", "count": 32})
    with pytest.raises(BackendError, match="503") as info:
        call(chat, max_reasks=3)
    assert not isinstance(info.value, InvalidOutputError)
    assert len(chat.requests) == 1
