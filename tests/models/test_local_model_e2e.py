"""End-to-end runs of the Agents SDK on the real local model (llama-server + Qwen2.5-Coder-0.5B).

The 0.5B model invents tool calls when none are needed, so every prompt clearly needs its tool.
Needs `python -m timestep.models.local setup`; skipped without it, except in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agents import Agent, ModelSettings, RunConfig, Runner, RunState, function_tool
from openai.types.responses import ResponseTextDeltaEvent

from timestep.models.local import LocalModelProvider, LocalModelServer, is_ready

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not is_ready() and os.environ.get("CI") != "true",
        reason="local model not set up: run `python -m timestep.models.local setup`",
    ),
]

ORDER_ID = "A-1093"
ORDER_TOTAL = "382.57"
REFUND_ID = "R-5521"
SETTINGS = ModelSettings(temperature=0, max_tokens=200)
MAX_TURNS = 4
INSTRUCTIONS = "You are a shop assistant. Always use the tools to look up or change orders."


def order_agent(calls: list[str]) -> Agent[Any]:
    """An agent whose only tool returns a distinctive total; `calls` records order ids."""

    @function_tool
    def get_order_total(order_id: str) -> str:
        """Look up the total price of an order, in euros."""
        calls.append(order_id)
        return f"{ORDER_TOTAL} EUR" if order_id == ORDER_ID else "unknown order"

    return Agent(
        name="shop",
        instructions=INSTRUCTIONS,
        model="local/qwen2.5-0.5b",
        model_settings=SETTINGS,
        tools=[get_order_total],
    )


def refund_agent(calls: list[str]) -> Agent[Any]:
    """An agent whose refund tool needs a human's approval."""

    @function_tool(needs_approval=True)
    def refund_order(order_id: str) -> str:
        """Refund an order; returns the refund id."""
        calls.append(order_id)
        print(f"TOOL_RAN {order_id}", flush=True)
        return f"refund {REFUND_ID} issued for order {order_id}"

    return Agent(
        name="refunds",
        instructions=INSTRUCTIONS,
        model="local/qwen2.5-0.5b",
        model_settings=SETTINGS,
        tools=[refund_order],
    )


TOTAL_PROMPT = f"What is the total of order {ORDER_ID}? Look it up with get_order_total."
REFUND_PROMPT = f"Refund order {ORDER_ID} with the refund_order tool and tell me the refund id."


def run_config(base_url: str) -> RunConfig:
    server = _AttachedServer(base_url)
    return RunConfig(
        model_provider=LocalModelProvider(server, auto_setup=False), tracing_disabled=True
    )


class _AttachedServer(LocalModelServer):
    """A server started by someone else (another process or a fixture), used as is."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._url = base_url

    def start(self) -> str:
        return self._url


@pytest.fixture(scope="module")
def server() -> Iterator[LocalModelServer]:
    with LocalModelServer() as srv:
        yield srv


def test_llama_server_parses_tool_calls_with_our_template(server: LocalModelServer) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_order_total",
            "description": "Look up the total price of an order, in euros.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        },
    }
    body: dict[str, Any] = {
        "model": "qwen2.5-0.5b",
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": TOTAL_PROMPT},
        ],
        "tools": [tool],
        "temperature": 0,
        "max_tokens": 100,
    }
    reply = httpx.post(server.base_url + "/v1/chat/completions", json=body, timeout=120).json()
    message = reply["choices"][0]["message"]
    assert reply["choices"][0]["finish_reason"] == "tool_calls"
    (call,) = message["tool_calls"]
    assert call["function"]["name"] == "get_order_total"
    assert json.loads(call["function"]["arguments"]) == {"order_id": ORDER_ID}

    # After the tool result the template asks for a plain-text answer.
    body["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": f"{ORDER_TOTAL} EUR"},
    ]
    reply = httpx.post(server.base_url + "/v1/chat/completions", json=body, timeout=120).json()
    message = reply["choices"][0]["message"]
    assert not message.get("tool_calls")
    assert ORDER_TOTAL in message["content"]


async def test_tool_run_uses_the_tool_result(server: LocalModelServer) -> None:
    calls: list[str] = []
    result = await Runner.run(
        order_agent(calls), TOTAL_PROMPT, run_config=run_config(server.base_url),
        max_turns=MAX_TURNS,
    )  # fmt: skip
    assert calls == [ORDER_ID]
    assert ORDER_TOTAL in str(result.final_output)


async def test_streamed_run_emits_text_deltas(server: LocalModelServer) -> None:
    calls: list[str] = []
    result = Runner.run_streamed(
        order_agent(calls), TOTAL_PROMPT, run_config=run_config(server.base_url),
        max_turns=MAX_TURNS,
    )  # fmt: skip
    deltas: list[str] = []
    async for event in result.stream_events():
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
            deltas.append(event.data.delta)
    final = str(result.final_output).strip()
    assert len(deltas) > 1
    assert final and final in "".join(deltas)
    assert calls == [ORDER_ID]
    assert ORDER_TOTAL in final


@pytest.mark.timeout(900)
async def test_interrupted_run_is_approved_and_resumed_in_another_process(
    server: LocalModelServer, tmp_path: Path
) -> None:
    calls: list[str] = []
    result = await Runner.run(
        refund_agent(calls), REFUND_PROMPT, run_config=run_config(server.base_url),
        max_turns=MAX_TURNS,
    )  # fmt: skip
    (approval,) = result.interruptions
    assert approval.name == "refund_order"
    assert json.loads(approval.arguments or "{}") == {"order_id": ORDER_ID}
    assert calls == []
    state_file = tmp_path / "state.json"
    state_file.write_text(result.to_state().to_string(), encoding="utf-8")

    child = subprocess.run(
        [sys.executable, __file__, str(state_file), server.base_url],
        capture_output=True,
        text=True,
        timeout=850,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), *sys.path]),
        },
    )
    assert child.returncode == 0, child.stderr[-3000:]
    lines = child.stdout.splitlines()
    assert lines.count(f"TOOL_RAN {ORDER_ID}") == 1
    answer = lines[lines.index("ANSWER:") + 1 :]
    assert REFUND_ID in "\n".join(answer)
    assert calls == []


async def _resume_in_child(state_file: Path, base_url: str) -> None:
    """Child process: load the saved state, approve the pending call, resume, print."""
    calls: list[str] = []
    agent = refund_agent(calls)
    state = await RunState.from_string(agent, state_file.read_text(encoding="utf-8"))
    for item in state.get_interruptions():
        state.approve(item)
    result = await Runner.run(agent, state, run_config=run_config(base_url), max_turns=MAX_TURNS)
    print("ANSWER:")
    print(result.final_output, flush=True)


if __name__ == "__main__":
    import asyncio

    asyncio.run(_resume_in_child(Path(sys.argv[1]), sys.argv[2]))


async def test_local_prefix_routes_through_multi_model_provider() -> None:
    from timestep.models import MultiModelProvider

    provider = MultiModelProvider()
    calls: list[str] = []
    try:
        result = await Runner.run(
            order_agent(calls), TOTAL_PROMPT, max_turns=MAX_TURNS,
            run_config=RunConfig(model_provider=provider, tracing_disabled=True),
        )  # fmt: skip
    finally:
        await provider.aclose()
    assert calls == [ORDER_ID]
    assert ORDER_TOTAL in str(result.final_output)
