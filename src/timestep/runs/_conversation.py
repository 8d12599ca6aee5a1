"""A run's conversation as a person reads it: the user's input, the assistant's messages, tool
calls with their arguments and outputs, handoffs, and calls that wait for or were refused approval.

Reads both SDKs' RunState formats (Python snake_case, JavaScript camelCase).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..state import DecisionRecord
from ._timeline import _get

Role = Literal["user", "assistant", "tool_call", "tool_output", "handoff", "other"]
CallStatus = Literal["done", "pending_approval", "approved", "rejected", "answered", "not_run"]


@dataclass(frozen=True)
class ConversationItem:
    """One entry of a run's conversation."""

    role: Role
    text: str
    agent_name: str | None = None
    name: str | None = None
    call_id: str | None = None
    arguments: str | None = None
    status: CallStatus | None = None
    decided_by: str | None = None
    reason: str | None = None
    edited_arguments: str | None = None
    """A tool call a human approved with edited arguments: the arguments the tool ran with
    (``arguments`` stays the model's)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the API's ``ConversationItem`` schema)."""
        return asdict(self)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return str(value["text"])
        if isinstance(value.get("refusal"), str):
            return str(value["refusal"])
    if isinstance(value, list):
        return "".join(_text(part) for part in value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _input_items(original: Any) -> list[ConversationItem]:
    if isinstance(original, str):
        return [ConversationItem("user", original)]
    items: list[ConversationItem] = []
    for entry in original if isinstance(original, list) else []:
        role = _get(entry, "role")
        if role in ("user", "system", "developer"):
            items.append(
                ConversationItem("user" if role == "user" else "other", _text(entry.get("content")))
            )
        elif role == "assistant":
            items.append(ConversationItem("assistant", _text(entry.get("content"))))
    return items


def _pending_ids(doc: dict[str, Any]) -> set[str]:
    step = _get(doc, "current_step", "currentStep")
    if _get(step, "type") != "next_step_interruption":
        return set()
    ids: set[str] = set()
    for item in _get(_get(step, "data"), "interruptions") or []:
        call_id = _get(_get(item, "raw_item", "rawItem"), "call_id", "callId")
        if isinstance(call_id, str):
            ids.add(call_id)
    return ids


def build_conversation(
    doc: dict[str, Any], decisions: Iterable[DecisionRecord] = ()
) -> list[ConversationItem]:
    """The conversation recorded in one RunState document, in order.

    ``decisions`` (the run's recorded approvals and rejections) mark refused calls as
    ``rejected`` (their output is the message the model was given), answered calls as
    ``answered`` (their output is the human's answer; the tool did not run), give an edited
    approval's arguments, and name who decided.
    """
    decided = {d.call_id: d for d in decisions}
    pending = _pending_ids(doc)
    items = _input_items(_get(doc, "original_input", "originalInput"))
    generated = _get(doc, "generated_items", "generatedItems")
    outputs: set[str] = set()
    for entry in generated if isinstance(generated, list) else []:
        raw = _get(entry, "raw_item", "rawItem")
        if not isinstance(raw, dict):
            continue
        kind = _get(entry, "type")
        agent = _get(_get(entry, "agent"), "name")
        agent_name = agent if isinstance(agent, str) else None
        call_id = _get(raw, "call_id", "callId")
        decision = decided.get(call_id) if isinstance(call_id, str) else None
        who = (decision.decided_by, decision.reason) if decision else (None, None)
        refused = decision.decision if decision and decision.decision != "approve" else None
        if kind == "message_output_item":
            items.append(ConversationItem("assistant", _text(raw.get("content")), agent_name))
        elif kind in ("tool_call_item", "handoff_call_item"):
            status: CallStatus = "not_run"
            if refused is not None:
                status = "rejected" if refused == "reject" else "answered"
            elif call_id in pending:
                status = "approved" if decision is not None else "pending_approval"
            items.append(
                ConversationItem(
                    "handoff" if kind == "handoff_call_item" else "tool_call",
                    _text(raw.get("name")),
                    agent_name,
                    name=_text(raw.get("name")),
                    call_id=call_id if isinstance(call_id, str) else None,
                    arguments=_text(raw.get("arguments")),
                    status=status,
                    decided_by=who[0],
                    reason=who[1],
                    edited_arguments=decision.arguments if decision else None,
                )
            )
        elif kind in ("tool_call_output_item", "handoff_output_item"):
            if isinstance(call_id, str):
                outputs.add(call_id)
            items.append(
                ConversationItem(
                    "tool_output",
                    _text(_get(raw, "output")),
                    agent_name,
                    call_id=call_id if isinstance(call_id, str) else None,
                    status="rejected"
                    if refused == "reject"
                    else "answered"
                    if refused == "answer"
                    else "done",
                    decided_by=who[0],
                    reason=who[1],
                )
            )
    # a call with an output ran (or was answered by its rejection): not "not_run"
    return [
        ConversationItem(**{**item.to_dict(), "status": "done"})
        if item.role == "tool_call" and item.status == "not_run" and item.call_id in outputs
        else item
        for item in items
    ]
