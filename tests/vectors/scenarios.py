"""Agent graphs shared by the vector generator and the cross-language tests.

The TypeScript twin of this module is ``ts/test/fixtures.ts``: the same agent names, tool names,
tool parameters and tool results, so that a state written by one SDK can be resumed by the other.
"""

from __future__ import annotations

from typing import Any

from agents import (
    Agent,
    GuardrailFunctionOutput,
    RunContextWrapper,
    function_tool,
    input_guardrail,
    output_guardrail,
)
from agents.items import TResponseOutputItem
from agents.models.interface import Model
from agents.testing import ScriptedModel, assistant_message, function_call
from agents.usage import Usage
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails
from pydantic import BaseModel

SUPPORT = "support"
TRIAGE = "triage"
HANDOFF_TOOL = "transfer_to_support"

#: Every real execution of ``refund`` in this process, as ``"order_id/amount"`` (tests clear it).
REFUND_EXECUTIONS: list[str] = []


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund an order."""
    REFUND_EXECUTIONS.append(f"{order_id}/{amount}")
    return f"refunded {order_id} {amount}"


@function_tool
def lookup(order_id: str) -> str:
    """Look up an order."""
    return f"order {order_id}: paid"


@input_guardrail
async def polite(
    context: RunContextWrapper[Any], agent: Agent[Any], input: Any
) -> GuardrailFunctionOutput:
    """An input guardrail that always passes (its result is part of the state)."""
    return GuardrailFunctionOutput(output_info={"checked": True}, tripwire_triggered=False)


@output_guardrail
async def sane_amount(
    context: RunContextWrapper[Any], agent: Agent[Any], output: Any
) -> GuardrailFunctionOutput:
    """An output guardrail that always passes."""
    return GuardrailFunctionOutput(output_info={"ok": True}, tripwire_triggered=False)


class RefundDecision(BaseModel):
    """Structured final output."""

    order_id: str
    amount: int


def support_agent(model: Model, *, guarded: bool = False) -> Agent[Any]:
    """The agent that owns the approval-gated ``refund`` tool."""
    return Agent(
        name=SUPPORT,
        instructions="Help.",
        model=model,
        tools=[refund, lookup],
        input_guardrails=[polite] if guarded else [],
    )


def structured_agent(model: Model) -> Agent[Any]:
    """An agent with a structured output type and an output guardrail."""
    return Agent(
        name=SUPPORT,
        instructions="Decide.",
        model=model,
        output_type=RefundDecision,
        output_guardrails=[sane_amount],
    )


def triage_agent(triage_model: Model, support_model: Model) -> Agent[Any]:
    """A starting agent that hands off to ``support``."""
    return Agent(
        name=TRIAGE,
        instructions="Route.",
        model=triage_model,
        handoffs=[support_agent(support_model)],
    )


def refund_call(call_id: str, order_id: str = "42", amount: int = 5) -> TResponseOutputItem:
    """A model output item calling ``refund``."""
    return function_call("refund", {"order_id": order_id, "amount": amount}, call_id=call_id)


def lookup_call(call_id: str, order_id: str = "42") -> TResponseOutputItem:
    """A model output item calling ``lookup`` (no approval needed)."""
    return function_call("lookup", {"order_id": order_id}, call_id=call_id)


def handoff_call(call_id: str = "call_h") -> TResponseOutputItem:
    """A model output item handing off from triage to support."""
    return function_call(HANDOFF_TOOL, {}, call_id=call_id)


def text(message: str) -> TResponseOutputItem:
    """A final assistant message."""
    return assistant_message(message)


def detailed_usage() -> Usage:
    """Usage with every detail field set (the translation must keep them)."""
    return Usage(
        requests=1,
        input_tokens=11,
        output_tokens=7,
        total_tokens=18,
        input_tokens_details=InputTokensDetails(cached_tokens=3, cache_write_tokens=1),
        output_tokens_details=OutputTokensDetails(reasoning_tokens=2),
    )


def scripted(*steps: Any) -> ScriptedModel:
    """A ScriptedModel with the given steps (each a list of output items or a step dict)."""
    return ScriptedModel(list(steps))
