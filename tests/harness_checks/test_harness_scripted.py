"""Scripted turns drive real SDK runs; counters count tool executions, also across processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, RunContextWrapper, Runner, function_tool
from agents.result import RunResult, RunResultStreaming
from agents.testing import UnexpectedModelCall

from harness.scripted import (
    CallCounter,
    FileCounter,
    counting_tool,
    default_call_id,
    error_turn,
    scripted_model,
    text_turn,
    tool_turn,
    tools_turn,
)

NO_TRACING = RunConfig(tracing_disabled=True)
TESTS_DIR = Path(__file__).resolve().parents[1]


async def run(agent: Agent[Any], prompt: str, stream: bool) -> RunResult | RunResultStreaming:
    if not stream:
        return await Runner.run(agent, prompt, run_config=NO_TRACING)
    result = Runner.run_streamed(agent, prompt, run_config=NO_TRACING)
    async for _ in result.stream_events():
        pass
    return result


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_tool_turn_then_text_turn(stream: bool) -> None:
    counter = CallCounter()
    model = scripted_model(
        tool_turn("lookup", {"order_id": "42"}, call_id="call_1"),
        text_turn("Order 42 shipped."),
    )
    tool = counting_tool("lookup", counter, result=lambda args: f"order {args['order_id']}: ok")
    agent = Agent(name="a", model=model, tools=[tool])

    result = await run(agent, "Where is order 42?", stream)

    assert result.final_output == "Order 42 shipped."
    assert counter.count("lookup") == 1
    assert counter.runs()[0].arguments == {"order_id": "42"}
    model.assert_complete()
    second_input = model.calls[1].input
    assert isinstance(second_input, list)
    outputs = [
        i for i in second_input if isinstance(i, dict) and i.get("type") == "function_call_output"
    ]
    assert [(o["call_id"], o["output"]) for o in outputs] == [("call_1", "order 42: ok")]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_several_calls_in_one_turn_with_text(stream: bool) -> None:
    counter = CallCounter()
    model = scripted_model(
        tools_turn(("ping", {"n": 1}), ("ping", {"n": 2}, "call_two"), text="Pinging twice."),
        text_turn("done"),
    )
    agent = Agent(name="a", model=model, tools=[counting_tool("ping", counter)])

    result = await run(agent, "go", stream)

    assert result.final_output == "done"
    assert sorted(r.arguments["n"] for r in counter.runs("ping")) == [1, 2]
    calls = [item.raw_item for item in result.new_items if item.type == "tool_call_item"]
    call_ids = [getattr(raw, "call_id", None) for raw in calls]
    assert call_ids == [default_call_id("ping", {"n": 1}), "call_two"]


def test_default_call_id_is_stable_and_distinct() -> None:
    assert default_call_id("t", {"a": 1, "b": 2}) == default_call_id("t", {"b": 2, "a": 1})
    assert default_call_id("t", {"a": 1}) != default_call_id("t", {"a": 2})
    assert default_call_id("t", {"a": 1}) != default_call_id("u", {"a": 1})
    # Same value in a fresh interpreter (crash tests rebuild the script in another process).
    code = (
        f"import sys; sys.path.insert(0, {str(TESTS_DIR)!r})\n"
        "from harness.counting import default_call_id\n"
        "print(default_call_id('t', {'a': 1}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == default_call_id("t", {"a": 1})


async def test_error_turn_raises_from_the_model() -> None:
    agent = Agent(name="a", model=scripted_model(error_turn(ValueError("model down"))))
    with pytest.raises(ValueError, match="model down"):
        await Runner.run(agent, "hi", run_config=NO_TRACING)


async def test_running_out_of_turns_is_an_error() -> None:
    agent = Agent(name="a", model=scripted_model(text_turn("only one")))
    await Runner.run(agent, "first", run_config=NO_TRACING)
    with pytest.raises(UnexpectedModelCall):
        await Runner.run(agent, "second", run_config=NO_TRACING)


async def test_counting_decorator_keeps_the_tool_schema(tmp_path: Path) -> None:
    counter = FileCounter(tmp_path / "runs.jsonl")

    @function_tool
    @counter.counting
    async def refund(ctx: RunContextWrapper[Any], order_id: str, amount: int) -> str:
        """Refund an order."""
        return f"refunded {amount} on {order_id}"

    assert refund.description == "Refund an order."
    assert set(refund.params_json_schema["properties"]) == {"order_id", "amount"}
    model = scripted_model(
        tool_turn("refund", {"order_id": "42", "amount": 5}), text_turn("Refund done.")
    )
    result = await Runner.run(
        Agent(name="a", model=model, tools=[refund]), "refund", run_config=NO_TRACING
    )
    assert result.final_output == "Refund done."
    (run_record,) = counter.runs("refund")
    assert run_record.arguments == {"order_id": "42", "amount": 5}


async def test_counting_tool_with_approval_does_not_run_until_approved(
    call_counter: CallCounter,
) -> None:
    counter = call_counter
    tool = counting_tool("charge", counter, needs_approval=True)
    model = scripted_model(tool_turn("charge", {"cents": 100}), text_turn("charged"))
    agent = Agent(name="a", model=model, tools=[tool])

    paused = await Runner.run(agent, "charge me", run_config=NO_TRACING)
    assert [i.name for i in paused.interruptions] == ["charge"]
    assert counter.count() == 0

    state = paused.to_state()
    state.approve(paused.interruptions[0])
    resumed = await Runner.run(agent, state, run_config=NO_TRACING)
    assert resumed.final_output == "charged"
    assert counter.count("charge") == 1


def test_file_counter_counts_across_processes_and_survives_sigkill(
    file_counter: FileCounter,
) -> None:
    counter = file_counter
    assert counter.count() == 0
    counter.record("tool", {"from": "parent"})
    code = (
        f"import os, signal, sys; sys.path.insert(0, {str(TESTS_DIR)!r})\n"
        "from harness.counting import FileCounter\n"
        "c = FileCounter(sys.argv[1])\n"
        "for i in range(50):\n"
        "    c.record('tool', {'i': i})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    children = [subprocess.Popen([sys.executable, "-c", code, str(counter)]) for _ in range(3)]
    codes = [child.wait(timeout=120) for child in children]
    assert codes == [-9, -9, -9]
    runs = counter.runs("tool")
    assert len(runs) == 1 + 3 * 50
    assert len({r.pid for r in runs}) == 4
    # Every line is whole JSON (no interleaved writes).
    lines = counter.path.read_text().splitlines()
    assert all(json.loads(line)["key"] == "tool" for line in lines)
    counter.reset()
    assert counter.count() == 0
