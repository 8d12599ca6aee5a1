"""The fake OpenAI server speaks the wire protocol of the real `openai` client and Agents SDK."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from agents import (
    Agent,
    Model,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
)
from agents.exceptions import ModelBehaviorError
from agents.result import RunResult, RunResultStreaming

from harness.fake_openai import ErrorReply, FakeOpenAI, Reply, ToolCall, Usage

NO_TRACING = RunConfig(tracing_disabled=True)


@pytest.fixture
def fake(fake_openai: FakeOpenAI) -> FakeOpenAI:
    """The shared ``fake_openai`` fixture from harness.fixtures, under a short name."""
    return fake_openai


def sse_events(raw: str) -> list[Any]:
    """Parse the `data:` lines of an SSE body (the `[DONE]` marker is kept as a string)."""
    out: list[Any] = []
    for line in raw.splitlines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


# ---------------------------------------------------------------- the openai client, raw wire


async def test_chat_completion_text_with_openai_client(fake: FakeOpenAI) -> None:
    fake.add_text("Hello there", usage=Usage(input_tokens=3, output_tokens=2))
    client = fake.client()
    got = await client.chat.completions.create(
        model="gpt-fake", messages=[{"role": "user", "content": "hi"}]
    )
    assert got.choices[0].message.content == "Hello there"
    assert got.choices[0].finish_reason == "stop"
    assert got.model == "gpt-fake"
    assert got.usage is not None
    assert (got.usage.prompt_tokens, got.usage.completion_tokens) == (3, 2)
    (request,) = fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer test"
    assert request.json["messages"] == [{"role": "user", "content": "hi"}]


async def test_chat_completion_non_streamed_text_and_tool_calls(fake: FakeOpenAI) -> None:
    fake.add_tool_calls(
        ToolCall("a", {"x": 1}, call_id="call_a"), ToolCall("b", "{}"), text="Let me check."
    )
    got = await fake.client().chat.completions.create(model="m", messages=[])
    message = got.choices[0].message
    assert message.content == "Let me check."
    assert message.tool_calls is not None
    calls = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls]  # type: ignore[union-attr]
    assert calls == [("call_a", "a", '{"x": 1}'), ("call_fake_1", "b", "{}")]
    assert got.choices[0].finish_reason == "tool_calls"


def test_chat_stream_interleaves_tool_call_deltas_and_ends_with_usage(fake: FakeOpenAI) -> None:
    args_a = {"city": "Paris", "unit": "celsius"}
    args_b = {"query": "weather tomorrow in Paris"}
    fake.add_tool_calls(ToolCall("a", args_a, call_id="c1"), ToolCall("b", args_b, call_id="c2"))
    body = {
        "model": "m",
        "messages": [],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    raw = httpx.post(fake.base_url + "/chat/completions", json=body)
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = sse_events(raw.text)
    assert events[-1] == "[DONE]"
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["total_tokens"] == Usage().total_tokens
    tool_deltas = [
        tc for e in events[:-2] for c in e["choices"] for tc in c["delta"].get("tool_calls", [])
    ]
    indexes = [tc["index"] for tc in tool_deltas]
    # Interleaved: index 1 starts before index 0 has finished.
    assert indexes.index(1) < len(indexes) - 1 - indexes[::-1].index(0)
    for index, (call_id, name, args) in enumerate([("c1", "a", args_a), ("c2", "b", args_b)]):
        mine = [tc for tc in tool_deltas if tc["index"] == index]
        assert mine[0]["id"] == call_id
        assert mine[0]["function"]["name"] == name
        assert all("id" not in tc for tc in mine[1:])
        assert json.loads("".join(tc["function"]["arguments"] for tc in mine)) == args
    finishes = [c["finish_reason"] for e in events[:-1] for c in e["choices"] if c["finish_reason"]]
    assert finishes == ["tool_calls"]


async def test_chat_stream_with_openai_client_without_usage(fake: FakeOpenAI) -> None:
    fake.add_text("one two three")
    stream = await fake.client().chat.completions.create(model="m", messages=[], stream=True)
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "one two three"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) == 3
    assert all(c.usage is None for c in chunks)


async def test_responses_non_streamed(fake: FakeOpenAI) -> None:
    fake.add_tool_call("lookup", {"id": 7}, call_id="call_7", text="Looking up.")
    got = await fake.client().responses.create(model="gpt-fake", input="hi")
    assert got.status == "completed"
    assert got.output_text == "Looking up."
    kinds = [item.type for item in got.output]
    assert kinds == ["message", "function_call"]
    call = got.output[1]
    assert call.type == "function_call"
    assert (call.call_id, call.name, json.loads(call.arguments)) == ("call_7", "lookup", {"id": 7})
    assert got.usage is not None
    assert got.usage.total_tokens == Usage().total_tokens


async def test_responses_stream_event_sequence(fake: FakeOpenAI) -> None:
    fake.add_tool_call("lookup", {"id": 7}, text="Hi you")
    stream = await fake.client().responses.create(model="m", input="x", stream=True)
    events = [event async for event in stream]
    types = [e.type for e in events]
    # Consecutive deltas collapse to one entry for the order check; contents are checked below.
    collapsed = [t for i, t in enumerate(types) if i == 0 or t != types[i - 1]]
    assert types.count("response.output_text.delta") == 2  # "Hi " + "you"
    assert types.count("response.function_call_arguments.delta") == 2  # 9 chars in 8-char pieces
    assert collapsed == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text_deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert text_deltas == ["Hi ", "you"]
    arg_deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert "".join(arg_deltas) == '{"id": 7}'
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == "Hi you"
    assert [o.type for o in completed.response.output] == ["message", "function_call"]


async def test_truncated_stream_has_no_terminal_event(fake: FakeOpenAI) -> None:
    fake.add(Reply(text="never finished", truncate_after=3))
    stream = await fake.client().responses.create(model="m", input="x", stream=True)
    types = [event.type async for event in stream]
    assert types == ["response.created", "response.in_progress", "response.output_item.added"]


async def test_truncated_stream_fails_the_sdk_run(fake: FakeOpenAI) -> None:
    fake.add(Reply(text="never finished", truncate_after=4))
    agent = Agent(name="a", model=sdk_model(fake, "responses"))
    with pytest.raises(ModelBehaviorError, match="did not produce a final response"):
        await run(agent, "hi", stream=True)


async def test_models_endpoint(fake: FakeOpenAI) -> None:
    client = fake.client()
    listed = [m.id async for m in client.models.list()]
    assert listed == ["gpt-fake"]
    assert (await client.models.retrieve("gpt-fake")).owned_by == "fake-openai"
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        await client.models.retrieve("nope")


async def test_scripted_errors_reach_the_client(fake: FakeOpenAI) -> None:
    fake.add_error(429, "Rate limit reached", type="requests", code="rate_limit_exceeded")
    fake.add(ErrorReply(400, "bad tools", param="tools"))
    client = fake.client()
    with pytest.raises(openai.RateLimitError) as rate:
        await client.chat.completions.create(model="m", messages=[])
    assert rate.value.status_code == 429
    assert rate.value.code == "rate_limit_exceeded"
    with pytest.raises(openai.BadRequestError) as bad:
        await client.responses.create(model="m", input="x", stream=True)
    assert bad.value.param == "tools"
    assert "bad tools" in bad.value.message
    # An empty queue is a loud server error, not a silent default.
    with pytest.raises(openai.InternalServerError, match="no scripted reply left"):
        await client.chat.completions.create(model="m", messages=[])
    assert fake.pending == 0


async def test_callable_reply_sees_request(fake: FakeOpenAI) -> None:
    def echo(body: dict[str, Any], endpoint: str) -> Reply:
        return Reply(text=f"{endpoint}:{body['model']}")

    fake.add(echo, echo)
    client = fake.client()
    chat = await client.chat.completions.create(model="m1", messages=[])
    resp = await client.responses.create(model="m2", input="x")
    assert chat.choices[0].message.content == "chat:m1"
    assert resp.output_text == "responses:m2"


def test_sync_client_and_default_reply() -> None:
    with FakeOpenAI(default=Reply(text="always")) as fake:
        client = fake.sync_client()
        for _ in range(2):
            got = client.chat.completions.create(model="m", messages=[])
            assert got.choices[0].message.content == "always"
        assert len(fake.served) == 2


# ----------------------------------------------------------------- the Agents SDK end to end

TOOL_RUNS: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """Return the weather for a city."""
    TOOL_RUNS.append(city)
    return f"sunny in {city}"


def sdk_model(fake: FakeOpenAI, api: str) -> Model:
    client = fake.client()
    if api == "chat":
        return OpenAIChatCompletionsModel(model="gpt-fake", openai_client=client)
    return OpenAIResponsesModel(model="gpt-fake", openai_client=client)


async def run(agent: Agent[Any], prompt: str, stream: bool) -> RunResult | RunResultStreaming:
    if not stream:
        return await Runner.run(agent, prompt, run_config=NO_TRACING)
    result = Runner.run_streamed(agent, prompt, run_config=NO_TRACING)
    async for _ in result.stream_events():
        pass
    return result


def tool_outputs(body: dict[str, Any], api: str) -> dict[str, str]:
    """call_id -> tool output found in a model request body."""
    if api == "chat":
        return {m["tool_call_id"]: m["content"] for m in body["messages"] if m["role"] == "tool"}
    return {
        i["call_id"]: i["output"]
        for i in body["input"]
        if isinstance(i, dict) and i.get("type") == "function_call_output"
    }


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_agent_tool_round_trip(fake: FakeOpenAI, api: str, stream: bool) -> None:
    TOOL_RUNS.clear()
    fake.add_tool_call("get_weather", {"city": "Paris"}, call_id="call_w1")
    fake.add_text("It is sunny in Paris.")
    agent = Agent(name="weather", tools=[get_weather], model=sdk_model(fake, api))

    result = await run(agent, "Weather in Paris?", stream)

    assert result.final_output == "It is sunny in Paris."
    assert TOOL_RUNS == ["Paris"]
    first, second = fake.request_bodies()
    expected_path = "/v1/chat/completions" if api == "chat" else "/v1/responses"
    assert [r.path for r in fake.model_requests()] == [expected_path, expected_path]
    assert first.get("stream", False) is stream
    tool_names = [t["function"]["name"] if api == "chat" else t["name"] for t in first["tools"]]
    assert tool_names == ["get_weather"]
    assert tool_outputs(first, api) == {}
    assert tool_outputs(second, api) == {"call_w1": "sunny in Paris"}
    assert fake.pending == 0


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_agent_parallel_tool_calls_with_text(
    fake: FakeOpenAI, api: str, stream: bool
) -> None:
    TOOL_RUNS.clear()
    fake.add_tool_calls(
        ToolCall("get_weather", {"city": "Paris"}, call_id="call_p"),
        ToolCall("get_weather", {"city": "Oslo"}, call_id="call_o"),
        text="Checking both cities.",
    )
    fake.add_text("Paris sunny, Oslo sunny.")
    agent = Agent(
        name="weather",
        tools=[get_weather],
        model=sdk_model(fake, api),
        model_settings=ModelSettings(parallel_tool_calls=True),
    )

    result = await run(agent, "Weather in Paris and Oslo?", stream)

    assert result.final_output == "Paris sunny, Oslo sunny."
    assert sorted(TOOL_RUNS) == ["Oslo", "Paris"]
    second = fake.request_bodies()[1]
    assert tool_outputs(second, api) == {"call_p": "sunny in Paris", "call_o": "sunny in Oslo"}
