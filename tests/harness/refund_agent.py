"""A small approval-gated agent on a scripted model, shared by store tests and their subprocesses.

The scripted model first asks for ``refund(order_id="42", amount=25)``; once it sees the tool's
result (or a rejection message) it answers with that text, so assertions can check what the tool
really returned across processes.
"""

from __future__ import annotations

from typing import Any

from agents import Agent, function_tool
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call

REFUND_CALL_ID = "call_refund_42"


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund an order (needs a human's approval)."""
    return f"refunded ${amount} on order {order_id}"


@function_tool
def lookup_order(order_id: str) -> str:
    """Look an order up (no approval needed)."""
    return f"order {order_id}: 1 damaged parcel"


def _echo_tool_output(call: ModelCall) -> ModelStep:
    outputs = [
        item.get("output")
        for item in call.input
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    ]
    return ModelStep(output=[assistant_message(f"final: {outputs[-1] if outputs else 'none'}")])


def start_model() -> ScriptedModel:
    """The model of the first segment: one refund call."""
    call = function_call("refund", {"order_id": "42", "amount": 25}, call_id=REFUND_CALL_ID)
    return ScriptedModel([[call]])


def resume_model() -> ScriptedModel:
    """The model after the approval: echoes the tool result (or rejection) as the answer."""
    return ScriptedModel([ModelStep.respond(_echo_tool_output)])


def full_model() -> ScriptedModel:
    """Both turns in one script (for single-process runs)."""
    model = start_model()
    model.extend([ModelStep.respond(_echo_tool_output)])
    return model


def build_agent(model: Any) -> Agent[Any]:
    """The support agent with ``refund`` (approval-gated) and ``lookup_order``."""
    return Agent(name="support", model=model, tools=[refund, lookup_order])
