"""Real SDK agent runs (Runner.run and Runner.run_streamed) on OllamaModel and a fake Ollama."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agents import (
    Agent,
    ModelRetrySettings,
    ModelSettings,
    RunConfig,
    Runner,
    RunState,
    function_tool,
    retry_policies,
)
from agents.models.interface import ModelProvider
from openai.types.responses import ResponseTextDeltaEvent
from pydantic import BaseModel

from harness.fake_ollama import FakeOllama, Reply, ToolCall
from timestep._errors import ModelNotFoundError
from timestep.models import MultiModelProvider, OllamaModelProvider

calls: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    calls.append(city)
    return f"sunny in {city}"


class Forecast(BaseModel):
    city: str
    sky: str


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    calls.clear()
    with FakeOllama(models=["qwen2.5"]) as server:
        yield server


def _agent(**kwargs: Any) -> Agent[None]:
    return Agent(name="weather", instructions="Use tools.", model="ollama/qwen2.5", **kwargs)


_providers: list[ModelProvider] = []


@pytest.fixture(autouse=True)
async def _close_providers() -> AsyncIterator[None]:
    yield
    while _providers:
        await _providers.pop().aclose()


def _config(fake: FakeOllama) -> RunConfig:
    provider = MultiModelProvider(ollama_host=fake.url)
    _providers.append(provider)
    return RunConfig(model_provider=provider, tracing_disabled=True)


def _assert_tool_turn(fake: FakeOllama, expected_calls: list[str]) -> None:
    assert sorted(calls) == sorted(expected_calls)
    first, second = fake.chat_bodies()
    assert first["messages"][0] == {"role": "system", "content": "Use tools."}
    assert [t["function"]["name"] for t in first["tools"]] == ["get_weather"]
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert tool_messages == [
        {"role": "tool", "content": f"sunny in {city}", "tool_name": "get_weather"}
        for city in expected_calls
    ]
    # Tool results never travel as (empty) user messages.
    assert [m for m in second["messages"] if m["role"] == "user"] == [
        {"role": "user", "content": "Weather in Paris?"}
    ]


async def test_run_calls_the_tool_and_answers(fake: FakeOllama) -> None:
    fake.add_tool_call("get_weather", {"city": "Paris"})
    fake.add_text("It is sunny in Paris.")
    agent = _agent(tools=[get_weather])
    result = await Runner.run(agent, "Weather in Paris?", run_config=_config(fake))
    assert result.final_output == "It is sunny in Paris."
    _assert_tool_turn(fake, ["Paris"])
    assert result.context_wrapper.usage.requests == 2
    assert result.context_wrapper.usage.input_tokens == 22


async def test_run_streamed_calls_the_tool_and_streams_the_answer(fake: FakeOllama) -> None:
    fake.add(Reply(text="Checking.", tool_calls=(ToolCall("get_weather", {"city": "Paris"}),)))
    fake.add_text("It is sunny in Paris.")
    agent = _agent(tools=[get_weather])
    result = Runner.run_streamed(agent, "Weather in Paris?", run_config=_config(fake))
    deltas = [
        event.data.delta
        async for event in result.stream_events()
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent)
    ]
    assert result.final_output == "It is sunny in Paris."
    assert deltas == ["Checking.", "It ", "is ", "sunny ", "in ", "Paris."]
    _assert_tool_turn(fake, ["Paris"])
    # The text said alongside the call is sent back with it, in one assistant message.
    assistant = [m for m in fake.chat_bodies()[1]["messages"] if m["role"] == "assistant"]
    assert assistant == [
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        }
    ]


@pytest.mark.parametrize("stream", [False, True])
async def test_parallel_tool_calls_all_run(fake: FakeOllama, stream: bool) -> None:
    two = (ToolCall("get_weather", {"city": "Paris"}), ToolCall("get_weather", {"city": "Rome"}))
    fake.add(Reply(tool_calls=two))
    fake.add_text("Both sunny.")
    agent, config = _agent(tools=[get_weather]), _config(fake)
    if stream:
        streamed = Runner.run_streamed(agent, "Weather in Paris?", run_config=config)
        async for _ in streamed.stream_events():
            pass
        final = streamed.final_output
    else:
        final = (await Runner.run(agent, "Weather in Paris?", run_config=config)).final_output
    assert final == "Both sunny."
    _assert_tool_turn(fake, ["Paris", "Rome"])


@pytest.mark.parametrize("stream", [False, True])
async def test_structured_output(fake: FakeOllama, stream: bool) -> None:
    fake.add_text('{"city": "Paris", "sky": "clear"}')
    agent = _agent(output_type=Forecast)
    config = _config(fake)
    if stream:
        streamed = Runner.run_streamed(agent, "Forecast?", run_config=config)
        async for _ in streamed.stream_events():
            pass
        final = streamed.final_output
    else:
        final = (await Runner.run(agent, "Forecast?", run_config=config)).final_output
    assert final == Forecast(city="Paris", sky="clear")
    assert fake.chat_bodies()[0]["format"]["required"] == ["city", "sky"]


async def test_agent_with_an_ollama_model_object(fake: FakeOllama) -> None:
    fake.add_text("hello")
    provider = OllamaModelProvider(host=fake.url)
    _providers.append(provider)
    agent = Agent(name="plain", model=provider.get_model("qwen2.5"))
    result = await Runner.run(agent, "hi", run_config=RunConfig(tracing_disabled=True))
    assert result.final_output == "hello"
    assert fake.chat_bodies()[0]["model"] == "qwen2.5"


def _retrying() -> ModelSettings:
    retry = ModelRetrySettings(
        max_retries=2,
        backoff={"initial_delay": 0.01, "max_delay": 0.01, "jitter": False},
        policy=retry_policies.provider_suggested(),
    )
    return ModelSettings(retry=retry)


@pytest.mark.parametrize("stream", [False, True])
async def test_server_errors_are_retried_when_retries_are_on(
    fake: FakeOllama, stream: bool
) -> None:
    fake.add_error(503, "server busy")
    fake.add_text("recovered")
    agent, config = _agent(model_settings=_retrying()), _config(fake)
    if stream:
        streamed = Runner.run_streamed(agent, "hi", run_config=config)
        async for _ in streamed.stream_events():
            pass
        final = streamed.final_output
    else:
        final = (await Runner.run(agent, "hi", run_config=config)).final_output
    assert final == "recovered"
    assert len(fake.chat_requests()) == 2


async def test_a_missing_model_is_not_retried(fake: FakeOllama) -> None:
    agent = Agent(name="x", model="ollama/llama9", model_settings=_retrying())
    with pytest.raises(ModelNotFoundError):
        await Runner.run(agent, "hi", run_config=_config(fake))
    assert len(fake.chat_requests()) == 1


async def test_thinking_is_sent_back_with_the_tool_call(fake: FakeOllama) -> None:
    call = ToolCall("get_weather", {"city": "Paris"})
    fake.add(Reply(thinking="I need the weather tool.", tool_calls=(call,)))
    fake.add_text("Sunny.")
    result = await Runner.run(_agent(tools=[get_weather]), "Weather?", run_config=_config(fake))
    assert result.final_output == "Sunny."
    assistant = [m for m in fake.chat_bodies()[1]["messages"] if m["role"] == "assistant"]
    assert assistant == [
        {
            "role": "assistant",
            "content": "",
            "thinking": "I need the weather tool.",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        }
    ]


async def test_handoff_to_another_agent(fake: FakeOllama) -> None:
    billing = Agent(name="billing", instructions="You do billing.", model="ollama/qwen2.5")
    triage = Agent(name="triage", instructions="Route.", model="ollama/qwen2.5", handoffs=[billing])
    fake.add_tool_call("transfer_to_billing")
    fake.add_text("Your invoice is paid.")
    result = await Runner.run(triage, "Invoice?", run_config=_config(fake))
    assert result.final_output == "Your invoice is paid."
    assert result.last_agent is billing
    first, second = fake.chat_bodies()
    assert [t["function"]["name"] for t in first["tools"]] == ["transfer_to_billing"]
    assert second["messages"][0] == {"role": "system", "content": "You do billing."}


async def test_approval_pause_and_resume_through_saved_state(fake: FakeOllama) -> None:
    refunds: list[int] = []

    @function_tool(needs_approval=True)
    def refund(order_id: int) -> str:
        """Refund an order."""
        refunds.append(order_id)
        return f"refunded {order_id}"

    agent = Agent(name="support", model="ollama/qwen2.5", tools=[refund])
    fake.add(Reply(text="I will refund it.", tool_calls=(ToolCall("refund", {"order_id": 42}),)))
    fake.add_text("Order 42 is refunded.")
    first = await Runner.run(agent, "Refund order 42", run_config=_config(fake))
    assert [i.tool_name for i in first.interruptions] == ["refund"]
    assert refunds == []
    # The paused state survives JSON (as stored by RunStateStore) and resumes.
    saved = first.to_state().to_string()
    state = await RunState.from_string(agent, saved)
    state.approve(state.get_interruptions()[0])
    result = await Runner.run(agent, state, run_config=_config(fake))
    assert result.final_output == "Order 42 is refunded."
    assert refunds == [42]
    tool_messages = [m for m in fake.chat_bodies()[1]["messages"] if m["role"] == "tool"]
    assert tool_messages == [{"role": "tool", "content": "refunded 42", "tool_name": "refund"}]
