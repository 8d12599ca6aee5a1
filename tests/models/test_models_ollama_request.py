"""The exact /api/chat requests OllamaModel sends: settings, think, format, tools, messages."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Agent, AgentOutputSchema, ModelSettings, WebSearchTool, function_tool, handoff
from agents.items import TResponseInputItem
from openai.types.shared import Reasoning
from pydantic import BaseModel

from harness.fake_ollama import FakeOllama, call_model, stream_model
from timestep._errors import UnsupportedModelInputError
from timestep.models import OllamaModel, OllamaModelProvider

_providers: dict[str, OllamaModelProvider] = {}


@pytest.fixture
async def fake() -> AsyncIterator[FakeOllama]:
    with FakeOllama(models=["qwen2.5", "qwen3", "gpt-oss:20b"], default=None) as server:
        yield server
        for provider in _providers.values():
            await provider.aclose()
        _providers.clear()


def _model(fake: FakeOllama, name: str = "qwen2.5") -> OllamaModel:
    provider = _providers.setdefault(fake.url, OllamaModelProvider(host=fake.url))
    return provider.get_model(name)


class Address(BaseModel):
    street: str
    city: str


@function_tool
def ship(order_id: int, address: Address, note: str | None = None) -> str:
    """Ship an order.

    Args:
        order_id: The order.
        address: Where to.
        note: Optional note for the courier.
    """
    return "shipped"


@function_tool
def lookup(city: str) -> str:
    """Look up a city."""
    return city


async def test_settings_become_options_never_unknown_fields(fake: FakeOllama) -> None:
    fake.add_text("ok")
    settings = ModelSettings(
        temperature=0.2,
        top_p=0.9,
        max_tokens=64,
        frequency_penalty=0.1,
        presence_penalty=0.3,
        extra_args={"seed": 7, "stop": ["END"], "num_ctx": 4096, "keep_alive": "5m"},
        # Settings with no Ollama equivalent must not leak into the request.
        parallel_tool_calls=True,
        truncation="auto",
        metadata={"k": "v"},
        store=False,
    )
    await call_model(_model(fake), "hi", settings=settings)
    body = fake.chat_bodies()[0]
    assert set(body) == {"model", "messages", "stream", "options", "keep_alive"}
    assert body["options"] == {
        "temperature": 0.2,
        "top_p": 0.9,
        "num_predict": 64,
        "frequency_penalty": 0.1,
        "presence_penalty": 0.3,
        "seed": 7,
        "stop": ["END"],
        "num_ctx": 4096,
    }
    assert body["keep_alive"] == "5m"
    assert body["stream"] is False


async def test_no_settings_sends_no_options(fake: FakeOllama) -> None:
    fake.add_text("ok")
    await stream_model(_model(fake), "hi")
    assert fake.chat_bodies()[0] == {
        "model": "qwen2.5",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }


async def test_extra_body_and_headers_reach_the_server(fake: FakeOllama) -> None:
    fake.add_text("ok")
    settings = ModelSettings(extra_body={"keep_alive": 0}, extra_headers={"X-Trace": "abc"})
    await call_model(_model(fake), "hi", settings=settings)
    assert fake.chat_bodies()[0]["keep_alive"] == 0
    assert fake.chat_requests()[0].headers["x-trace"] == "abc"


@pytest.mark.parametrize(
    ("model", "reasoning", "think"),
    [
        ("gpt-oss:20b", Reasoning(effort="high"), "high"),
        ("gpt-oss:20b", Reasoning(effort="minimal"), "low"),
        ("gpt-oss:20b", Reasoning(effort="none"), False),
        ("qwen3", Reasoning(effort="high"), True),
        ("qwen3", Reasoning(), True),
        ("qwen3", Reasoning(effort="none"), False),
    ],
)
async def test_reasoning_becomes_think(
    fake: FakeOllama, model: str, reasoning: Reasoning, think: bool | str
) -> None:
    fake.add_text("ok")
    await call_model(_model(fake, model), "hi", settings=ModelSettings(reasoning=reasoning))
    assert fake.chat_bodies()[0]["think"] == think


async def test_no_reasoning_sends_no_think(fake: FakeOllama) -> None:
    fake.add_text("ok")
    await call_model(_model(fake, "qwen3"), "hi")
    assert "think" not in fake.chat_bodies()[0]


async def test_structured_output_becomes_format_with_the_json_schema(fake: FakeOllama) -> None:
    fake.add_text('{"street": "1 Main St", "city": "Paris"}')
    schema = AgentOutputSchema(Address)
    await call_model(_model(fake), "where?", output_schema=schema)
    body = fake.chat_bodies()[0]
    assert body["format"] == schema.json_schema()
    assert body["format"]["properties"]["city"] == {"title": "City", "type": "string"}


async def test_plain_text_output_sends_no_format(fake: FakeOllama) -> None:
    fake.add_text("ok")
    await call_model(_model(fake), "hi", output_schema=AgentOutputSchema(str))
    assert "format" not in fake.chat_bodies()[0]


async def test_tool_schemas_are_sent_untouched(fake: FakeOllama) -> None:
    fake.add_text("ok")
    await call_model(_model(fake), "ship it", tools=[ship, lookup])
    tools = fake.chat_bodies()[0]["tools"]
    assert tools[0] == {
        "type": "function",
        "function": {
            "name": "ship",
            "description": ship.description,
            "parameters": ship.params_json_schema,
        },
    }
    # The optional and nested parameters keep their full schemas (anyOf, nested properties).
    properties = tools[0]["function"]["parameters"]["properties"]
    assert "anyOf" in properties["note"]
    assert "$defs" in tools[0]["function"]["parameters"] or "properties" in properties["address"]
    assert [t["function"]["name"] for t in tools] == ["ship", "lookup"]


async def test_handoffs_are_sent_as_tools(fake: FakeOllama) -> None:
    fake.add_text("ok")
    helper = handoff(Agent(name="billing"))
    await call_model(_model(fake), "hi", handoffs=[helper])
    tools = fake.chat_bodies()[0]["tools"]
    assert [t["function"]["name"] for t in tools] == [helper.tool_name]
    assert tools[0]["function"]["parameters"] == helper.input_json_schema


async def test_tool_choice_none_sends_no_tools(fake: FakeOllama) -> None:
    fake.add_text("ok")
    await call_model(_model(fake), "hi", tools=[lookup], settings=ModelSettings(tool_choice="none"))
    assert "tools" not in fake.chat_bodies()[0]


async def test_hosted_tools_are_refused_before_any_request(fake: FakeOllama) -> None:
    with pytest.raises(UnsupportedModelInputError, match="WebSearchTool"):
        await call_model(_model(fake), "hi", tools=[WebSearchTool()])
    assert fake.chat_requests() == []


async def test_conversation_with_tool_results_becomes_tool_messages(fake: FakeOllama) -> None:
    fake.add_text("Paris is sunny, Rome is rainy.")
    history: list[TResponseInputItem] = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "type": "message",
            "role": "assistant",
            "id": "__fake_id__",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Checking.", "annotations": []}],
        },
        {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": '{"c": "P"}'},
        {"type": "function_call", "call_id": "c2", "name": "forecast", "arguments": '{"c": "R"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "function_call_output", "call_id": "c2", "output": "rainy"},
    ]
    await call_model(_model(fake), history, system="Be brief.")
    assert fake.chat_bodies()[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"function": {"name": "weather", "arguments": {"c": "P"}}},
                {"function": {"name": "forecast", "arguments": {"c": "R"}}},
            ],
        },
        {"role": "tool", "content": "sunny", "tool_name": "weather"},
        {"role": "tool", "content": "rainy", "tool_name": "forecast"},
    ]


async def test_developer_messages_and_reasoning_items(fake: FakeOllama) -> None:
    fake.add_text("ok")
    history: list[TResponseInputItem] = [
        {"role": "developer", "content": "Use metric units."},
        {"role": "user", "content": [{"type": "input_text", "text": "Temp?"}]},
        {
            "type": "reasoning",
            "id": "__fake_id__",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "Need the tool."}],
        },
        {"type": "function_call", "call_id": "c1", "name": "temp", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "21"},
    ]
    await call_model(_model(fake), history)
    assert fake.chat_bodies()[0]["messages"] == [
        {"role": "system", "content": "Use metric units."},
        {"role": "user", "content": "Temp?"},
        {
            "role": "assistant",
            "content": "",
            "thinking": "Need the tool.",
            "tool_calls": [{"function": {"name": "temp", "arguments": {}}}],
        },
        {"role": "tool", "content": "21", "tool_name": "temp"},
    ]


async def test_images_are_sent_as_base64(fake: FakeOllama) -> None:
    fake.add_text("a red dot")
    png = base64.b64encode(b"\x89PNG fake bytes").decode()
    content: list[Any] = [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{png}", "detail": "auto"},
    ]
    await call_model(_model(fake), [{"role": "user", "content": content}])
    assert fake.chat_bodies()[0]["messages"] == [
        {"role": "user", "content": "What is this?", "images": [png]}
    ]


async def test_remote_image_urls_are_refused(fake: FakeOllama) -> None:
    content: list[Any] = [
        {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"}
    ]
    with pytest.raises(UnsupportedModelInputError, match="base64 data URL"):
        await call_model(_model(fake), [{"role": "user", "content": content}])
    assert fake.chat_requests() == []
