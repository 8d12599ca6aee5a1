"""OllamaModel replies as SDK items: non-streamed output and streamed events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence

import pytest
from agents.items import TResponseStreamEvent
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseTextDeltaEvent,
)

from harness.fake_ollama import FakeOllama, Reply, ToolCall, call_model, stream_model
from timestep.models import OllamaModel, OllamaModelProvider

TWO_CALLS = (ToolCall("weather", {"city": "Paris"}), ToolCall("weather", {"city": "Rome"}))


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


@pytest.fixture
async def model(fake: FakeOllama) -> AsyncIterator[OllamaModel]:
    provider = OllamaModelProvider(host=fake.url)
    yield provider.get_model("qwen2.5")
    await provider.aclose()


def _calls(items: Sequence[object]) -> list[ResponseFunctionToolCall]:
    return [i for i in items if isinstance(i, ResponseFunctionToolCall)]


def _completed(events: list[TResponseStreamEvent]) -> ResponseCompletedEvent:
    last = events[-1]
    assert isinstance(last, ResponseCompletedEvent)
    return last


# ------------------------------------------------------------------------------ non-streamed
async def test_text_reply_has_annotations_and_usage(fake: FakeOllama, model: OllamaModel) -> None:
    fake.add(Reply(text="Hello!", prompt_eval_count=12, eval_count=5))
    response = await call_model(model, "hi")
    assert [item.model_dump()["content"] for item in response.output] == [
        [{"type": "output_text", "text": "Hello!", "annotations": [], "logprobs": []}]
    ]
    assert (response.usage.requests, response.usage.input_tokens) == (1, 12)
    assert (response.usage.output_tokens, response.usage.total_tokens) == (5, 17)


async def test_text_and_several_tool_calls_in_one_reply(
    fake: FakeOllama, model: OllamaModel
) -> None:
    fake.add(Reply(text="Let me check.", tool_calls=TWO_CALLS))
    output = (await call_model(model, "weather?")).output
    assert isinstance(output[0], ResponseOutputMessage)
    assert output[0].content[0].model_dump()["text"] == "Let me check."
    calls = _calls(output)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("weather", {"city": "Paris"}),
        ("weather", {"city": "Rome"}),
    ]
    assert len(output) == 3
    ids = [c.call_id for c in calls]
    assert all(ids) and len(set(ids)) == 2


async def test_thinking_becomes_a_reasoning_item_first(
    fake: FakeOllama, model: OllamaModel
) -> None:
    fake.add(Reply(text="42", thinking="Six times seven."))
    output = (await call_model(model, "6*7?")).output
    assert isinstance(output[0], ResponseReasoningItem)
    assert [c.text for c in output[0].content or []] == ["Six times seven."]
    assert isinstance(output[1], ResponseOutputMessage)


async def test_truncated_reply_is_marked_incomplete(fake: FakeOllama, model: OllamaModel) -> None:
    fake.add(Reply(text="Once upon a", done_reason="length"))
    output = (await call_model(model, "story")).output
    assert isinstance(output[0], ResponseOutputMessage)
    assert output[0].status == "incomplete"


# ---------------------------------------------------------------------------------- streamed
async def test_stream_yields_each_text_chunk_then_the_completed_response(
    fake: FakeOllama, model: OllamaModel
) -> None:
    fake.add(Reply(text="The sky is blue.", prompt_eval_count=9, eval_count=4))
    events = await stream_model(model, "sky?")
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 4,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = [e.delta for e in events if isinstance(e, ResponseTextDeltaEvent)]
    assert deltas == ["The ", "sky ", "is ", "blue."]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    completed = _completed(events).response
    assert [item.model_dump()["content"] for item in completed.output] == [
        [{"type": "output_text", "text": "The sky is blue.", "annotations": [], "logprobs": []}]
    ]
    assert completed.usage is not None
    assert (completed.usage.input_tokens, completed.usage.output_tokens) == (9, 4)
    assert fake.chat_bodies()[0]["stream"] is True


@pytest.mark.parametrize("per_chunk", [1, 2])
async def test_stream_keeps_text_and_every_parallel_tool_call(
    fake: FakeOllama, model: OllamaModel, per_chunk: int
) -> None:
    calls = (*TWO_CALLS, ToolCall("time", {}))
    fake.add(Reply(text="Checking both.", tool_calls=calls, tool_calls_per_chunk=per_chunk))
    events = await stream_model(model, "weather?")
    output = _completed(events).response.output
    assert isinstance(output[0], ResponseOutputMessage)
    assert output[0].content[0].model_dump()["text"] == "Checking both."
    final_calls = _calls(output)
    assert [(c.name, c.arguments) for c in final_calls] == [
        ("weather", '{"city": "Paris"}'),
        ("weather", '{"city": "Rome"}'),
        ("time", "{}"),
    ]
    # Each call is announced and finished with the call id the final response carries.
    added = [
        e.item.call_id
        for e in events
        if isinstance(e, ResponseOutputItemAddedEvent)
        and isinstance(e.item, ResponseFunctionToolCall)
    ]
    done = [
        e.item.call_id
        for e in events
        if isinstance(e, ResponseOutputItemDoneEvent)
        and isinstance(e.item, ResponseFunctionToolCall)
    ]
    assert added == done == [c.call_id for c in final_calls]
    assert len(set(added)) == 3
    indexes = [e.output_index for e in events if isinstance(e, ResponseOutputItemDoneEvent)]
    assert indexes == [0, 1, 2, 3]


async def test_stream_thinking_becomes_reasoning_deltas(
    fake: FakeOllama, model: OllamaModel
) -> None:
    fake.add(Reply(text="42", thinking="Six times seven."))
    events = await stream_model(model, "6*7?")
    reasoning = [e.delta for e in events if e.type == "response.reasoning_text.delta"]
    assert "".join(reasoning) == "Six times seven."
    output = _completed(events).response.output
    assert isinstance(output[0], ResponseReasoningItem)
    assert [c.text for c in output[0].content or []] == ["Six times seven."]
    assert isinstance(output[1], ResponseOutputMessage)


async def test_stream_with_only_tool_calls_has_no_message(
    fake: FakeOllama, model: OllamaModel
) -> None:
    fake.add(Reply(tool_calls=TWO_CALLS))
    output = _completed(await stream_model(model, "weather?")).response.output
    assert [type(i) for i in output] == [ResponseFunctionToolCall, ResponseFunctionToolCall]
