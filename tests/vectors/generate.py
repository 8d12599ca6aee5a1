"""Regenerate the Python half of the shared RunState vectors with the real Python SDK.

Usage: ``.venv/bin/python tests/vectors/generate.py`` (the TypeScript half is written by
``npm --prefix ts run vectors``). Each shape becomes ``tests/vectors/<shape>/python.json``;
``expected`` translations are written by ``tests/vectors/expected.py``.
Every run is scripted (``agents.testing.ScriptedModel``) and offline; tracing is disabled so the
files are deterministic.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents import Agent, RunConfig, Runner, RunState
from agents.items import ReasoningItem
from openai.types.responses import ResponseReasoningItem
from openai.types.responses.response_reasoning_item import Summary

from vectors.scenarios import (
    detailed_usage,
    handoff_call,
    lookup_call,
    refund_call,
    scripted,
    structured_agent,
    support_agent,
    text,
    triage_agent,
)

VECTORS = Path(__file__).resolve().parent
CONFIG = RunConfig(tracing_disabled=True)
INPUT = "Refund order 42"

StateJson = dict[str, Any]


async def _interrupt(agent: Agent[Any], **kwargs: Any) -> RunState[Any, Agent[Any]]:
    result = await Runner.run(agent, INPUT, run_config=CONFIG, **kwargs)
    assert result.interruptions, "scenario should stop for an approval"
    return result.to_state()


async def single_approval() -> StateJson:
    state = await _interrupt(support_agent(scripted([refund_call("call_1")])))
    return state.to_json()


async def multiple_approvals() -> StateJson:
    model = scripted([refund_call("call_1"), refund_call("call_2", "43", 7)])
    state = await _interrupt(support_agent(model))
    return state.to_json()


async def approved() -> StateJson:
    state = await _interrupt(support_agent(scripted([refund_call("call_1")])))
    state.approve(state.get_interruptions()[0])
    return state.to_json()


async def rejected_with_message() -> StateJson:
    state = await _interrupt(support_agent(scripted([refund_call("call_1")])))
    state.reject(state.get_interruptions()[0], rejection_message="Refunds need a manager.")
    return state.to_json()


async def always_approve() -> StateJson:
    state = await _interrupt(support_agent(scripted([refund_call("call_1")])))
    state.approve(state.get_interruptions()[0], always_approve=True)
    return state.to_json()


async def always_reject() -> StateJson:
    state = await _interrupt(support_agent(scripted([refund_call("call_1")])))
    state.reject(state.get_interruptions()[0], always_reject=True)
    return state.to_json()


async def mixed_decisions() -> StateJson:
    model = scripted([refund_call("call_1"), refund_call("call_2", "43", 7)])
    state = await _interrupt(support_agent(model))
    first, second = state.get_interruptions()
    state.approve(first)
    state.reject(second, rejection_message="Too much.")
    return state.to_json()


async def handoff() -> StateJson:
    agent = triage_agent(scripted([handoff_call()]), scripted([refund_call("call_1")]))
    state = await _interrupt(agent)
    return state.to_json()


async def second_interruption() -> StateJson:
    agent = support_agent(
        scripted([lookup_call("call_0"), refund_call("call_1")], [refund_call("call_2", "43", 7)])
    )
    state = await _interrupt(agent)
    state.approve(state.get_interruptions()[0])
    result = await Runner.run(agent, state, run_config=CONFIG)
    assert result.interruptions
    return result.to_state().to_json()


async def usage_details() -> StateJson:
    model = scripted({"output": [refund_call("call_1")], "usage": detailed_usage()})
    state = await _interrupt(support_agent(model))
    return state.to_json()


async def reasoning() -> StateJson:
    thought = ResponseReasoningItem(
        id="rs_1",
        type="reasoning",
        summary=[Summary(text="The user wants a refund.", type="summary_text")],
    )
    state = await _interrupt(support_agent(scripted([thought, refund_call("call_1")])))
    assert any(isinstance(item, ReasoningItem) for item in state._generated_items)
    return state.to_json()


async def streamed() -> StateJson:
    agent = support_agent(scripted([refund_call("call_1")]))
    result = Runner.run_streamed(agent, INPUT, run_config=CONFIG)
    async for _ in result.stream_events():
        pass
    assert result.interruptions
    return result.to_state().to_json()


async def conversation_id() -> StateJson:
    state = await _interrupt(
        support_agent(scripted([refund_call("call_1")])), conversation_id="conv_123"
    )
    return state.to_json()


async def completed() -> StateJson:
    agent = support_agent(scripted([refund_call("call_1")], [text("Refunded order 42.")]))
    state = await _interrupt(agent)
    state.approve(state.get_interruptions()[0])
    result = await Runner.run(agent, state, run_config=CONFIG)
    assert result.final_output == "Refunded order 42."
    return result.to_state().to_json()


async def input_guardrail() -> StateJson:
    state = await _interrupt(support_agent(scripted([refund_call("call_1")]), guarded=True))
    return state.to_json()


async def structured_output() -> StateJson:
    agent = structured_agent(scripted([text('{"order_id":"42","amount":5}')]))
    result = await Runner.run(agent, INPUT, run_config=CONFIG)
    assert result.final_output.amount == 5
    return result.to_state().to_json()


SHAPES: dict[str, Callable[[], Awaitable[StateJson]]] = {
    "single_approval": single_approval,
    "multiple_approvals": multiple_approvals,
    "approved": approved,
    "rejected_with_message": rejected_with_message,
    "always_approve": always_approve,
    "always_reject": always_reject,
    "mixed_decisions": mixed_decisions,
    "handoff": handoff,
    "second_interruption": second_interruption,
    "usage_details": usage_details,
    "reasoning": reasoning,
    "streamed": streamed,
    "conversation_id": conversation_id,
    "completed": completed,
    "input_guardrail": input_guardrail,
    "structured_output": structured_output,
}


def dump(path: Path, data: StateJson) -> None:
    """Write JSON the same way for every vector file (stable diffs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


async def main(names: list[str]) -> None:
    for name in names or list(SHAPES):
        dump(VECTORS / name / "python.json", await SHAPES[name]())
        print(f"wrote {name}/python.json")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
