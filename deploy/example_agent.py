"""The deployment recipe's stand-in agent: replace ``example_agent:agent`` with your own module.

It is the README's refund agent. ``TIMESTEP_MODEL`` picks its model (default: the bundled local
model); ``TIMESTEP_MODEL=scripted`` answers every call from its input without an LLM, so the
deployment can be tried, and is tested, offline.
"""

from __future__ import annotations

import os
from typing import Any

from agents import Agent, function_tool
from agents.models.interface import Model
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund ``amount`` dollars on ``order_id`` (a side effect: a human approves it first)."""
    return f"Refund of ${amount} issued for order {order_id}."


def _next_step(call: ModelCall) -> ModelStep:
    outputs = [
        item.get("output")
        for item in call.input
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]
    if outputs:
        return ModelStep(output=[assistant_message(f"Done. {outputs[-1]}")])
    ask = function_call("refund", {"order_id": "42", "amount": 25}, call_id="call_refund_42")
    return ModelStep(output=[ask])


def _model(name: str) -> str | Model:
    if name != "scripted":
        return name
    # A long-lived worker serves many runs: one responder step per model call it may get.
    return ScriptedModel([ModelStep.respond(_next_step) for _ in range(100_000)])


agent: Agent[Any] = Agent(
    name="support",
    instructions="To refund an order, call the refund tool; then tell the user its result.",
    model=_model(os.environ.get("TIMESTEP_MODEL", "local/qwen2.5-0.5b")),
    tools=[refund],
)
