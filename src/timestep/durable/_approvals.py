"""Durable approvals: the decisions a resumed segment reads (one step) and applies to its state.

``approve``/``reject`` record decisions through the store (``RunStateStore.decide``), which checks
them atomically against the waiting version. The segment that resumes the run flips its status
from ``waiting`` to ``running`` and reads the decisions in one transaction (the DBOS step
``timestep.approvals.read``), so a decision either makes it into the resumed segment or fails.

An ``answer`` is applied as the SDK's rejection with the answer's text as the message, which the
SDK gives the model verbatim as the call's output (the tool does not run). An approval with edited
arguments is applied as an approval; the segment's tool step then invokes the tool with the edited
arguments (:func:`edits`) instead of the model's. The model's history keeps the call as the model
made it, followed by the output the tool produced from the edited arguments.
"""

from __future__ import annotations

from typing import Any

from agents import RunState

from ..state import RunStateStore


def _call_id_of(item: Any) -> str | None:
    raw = item.raw_item
    value = raw.get("call_id") if isinstance(raw, dict) else getattr(raw, "call_id", None)
    return value if isinstance(value, str) else None


async def claim_and_read(store: RunStateStore, run_id: str, version: int) -> list[dict[str, Any]]:
    """Mark the run running (if still waiting) and return the decisions for ``version``.

    The returned JSON is the step's checkpoint (persisted): keep its keys stable.
    """
    return [
        {
            "call_id": d.call_id,
            "decision": d.decision,
            "always": d.always,
            "reason": d.reason,
            "arguments": d.arguments,
            "output": d.output,
        }
        for d in await store.claim_decisions(run_id, version)
    ]


def apply(state: RunState[Any, Any], decisions: list[dict[str, Any]]) -> list[str]:
    """Apply recorded decisions to ``state``; return the approved call ids in interruption order."""
    by_call = {d["call_id"]: d for d in decisions}
    approved: list[str] = []
    for item in state.get_interruptions():
        call_id = _call_id_of(item)
        d = by_call.get(call_id or "")
        if d is None or call_id is None:
            continue
        if d["decision"] == "approve":
            state.approve(item, always_approve=d["always"])
            approved.append(call_id)
        elif d["decision"] == "answer":
            # the SDK sends a rejection message to the model verbatim as the call's output
            state.reject(item, rejection_message=d.get("output") or "")
        else:
            state.reject(item, always_reject=d["always"], rejection_message=d["reason"])
    return approved


def edits(decisions: list[dict[str, Any]]) -> dict[str, str]:
    """Edited arguments (JSON text) by call id, for the segment's tool steps."""
    return {
        d["call_id"]: d["arguments"]
        for d in decisions
        if d["decision"] == "approve" and isinstance(d.get("arguments"), str)
    }
