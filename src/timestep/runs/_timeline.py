"""Turn a stored RunState document into a readable timeline of model and tool steps.

Reads both SDKs' formats (Python snake_case, JavaScript camelCase). Only facts the state holds are
shown: the model responses with their token usage, the tool calls with their arguments and outputs,
and the calls still waiting for approval.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

StepKind = Literal["model", "tool", "handoff"]
ToolStatus = Literal["done", "pending_approval", "not_run"]


@dataclass(frozen=True)
class TimelineStep:
    """One model call, tool call or handoff of a run."""

    index: int
    kind: StepKind
    agent_name: str
    name: str
    detail: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    call_id: str | None = None
    arguments: str | None = None
    output: str | None = None
    status: ToolStatus | None = None
    duration_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the API's ``TimelineStep`` schema)."""
        return asdict(self)


def _get(obj: Any, *keys: str) -> Any:
    if not isinstance(obj, dict):
        return None
    for key in keys:
        if key in obj:
            return obj[key]
    return None


def abbreviate(text: str, limit: int = 120) -> str:
    """One line of at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _message_text(item: dict[str, Any]) -> str:
    parts = item.get("content")
    if isinstance(parts, str):
        return parts
    texts = [
        str(_get(part, "text") or _get(part, "refusal") or "")
        for part in parts or []
        if isinstance(part, dict)
    ]
    return "".join(texts)


def _items(doc: dict[str, Any], *keys: str) -> list[dict[str, Any]]:
    value = _get(doc, *keys)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _handoff_call_ids(doc: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    for item in _items(doc, "generated_items", "generatedItems"):
        if item.get("type") == "handoff_call_item":
            call_id = _get(_get(item, "raw_item", "rawItem"), "call_id", "callId")
            if isinstance(call_id, str):
                ids.add(call_id)
    return ids


def _tool_outputs(doc: dict[str, Any]) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for item in _items(doc, "generated_items", "generatedItems"):
        if item.get("type") not in ("tool_call_output_item", "handoff_output_item"):
            continue
        raw = _get(item, "raw_item", "rawItem") or {}
        call_id = _get(raw, "call_id", "callId")
        if isinstance(call_id, str):
            outputs[call_id] = _text_of(_get(raw, "output") or _get(item, "output"))
    return outputs


def _pending_call_ids(doc: dict[str, Any]) -> set[str]:
    step = _get(doc, "current_step", "currentStep")
    if _get(step, "type") != "next_step_interruption":
        return set()
    data = _get(step, "data") or {}
    ids: set[str] = set()
    for item in _get(data, "interruptions") or []:
        raw = _get(item, "raw_item", "rawItem") or {}
        call_id = _get(raw, "call_id", "callId")
        if isinstance(call_id, str):
            ids.add(call_id)
    return ids


def _response_agents(doc: dict[str, Any]) -> dict[str, str]:
    """Map each call id to the agent that made it, as recorded on the generated items."""
    agents: dict[str, str] = {}
    for item in _items(doc, "generated_items", "generatedItems"):
        raw = _get(item, "raw_item", "rawItem") or {}
        call_id = _get(raw, "call_id", "callId")
        name = _get(_get(item, "agent"), "name")
        if isinstance(call_id, str) and isinstance(name, str):
            agents.setdefault(call_id, name)
    return agents


def _tokens(usage: Any, *keys: str) -> int | None:
    value = _get(usage, *keys)
    return value if isinstance(value, int) else None


def build_timeline(doc: dict[str, Any]) -> list[TimelineStep]:
    """The model and tool steps recorded in one RunState document, in order."""
    outputs = _tool_outputs(doc)
    pending = _pending_call_ids(doc)
    call_agents = _response_agents(doc)
    handoffs = _handoff_call_ids(doc)
    default_agent = str(_get(_get(doc, "current_agent", "currentAgent"), "name") or "")
    steps: list[TimelineStep] = []
    for response in _items(doc, "model_responses", "modelResponses"):
        usage = _get(response, "usage") or {}
        items = [item for item in _get(response, "output") or [] if isinstance(item, dict)]
        calls = [item for item in items if item.get("type") == "function_call"]
        agent = next(
            (
                call_agents[c]
                for c in (_get(i, "call_id", "callId") for i in calls)
                if c in call_agents
            ),
            default_agent,
        )
        described: list[str] = []
        for item in items:
            kind = item.get("type")
            if kind == "message":
                described.append(f"message: {abbreviate(_message_text(item), 80)}")
            elif kind == "function_call":
                described.append(f"call {item.get('name')}")
            elif isinstance(kind, str):
                described.append(kind)
        steps.append(
            TimelineStep(
                index=len(steps) + 1,
                kind="model",
                agent_name=agent,
                name="model",
                detail="; ".join(described) or "(no output)",
                input_tokens=_tokens(usage, "input_tokens", "inputTokens"),
                output_tokens=_tokens(usage, "output_tokens", "outputTokens"),
            )
        )
        for call in calls:
            call_id = str(_get(call, "call_id", "callId") or "")
            arguments = _text_of(call.get("arguments"))
            status: ToolStatus
            if call_id in outputs:
                status = "done"
            elif call_id in pending:
                status = "pending_approval"
            else:
                status = "not_run"
            output = outputs.get(call_id)
            detail = f"{call.get('name')}({abbreviate(arguments, 60)})"
            if output is not None:
                detail += f" -> {abbreviate(output, 60)}"
            elif status == "pending_approval":
                detail += " waiting for approval"
            steps.append(
                TimelineStep(
                    index=len(steps) + 1,
                    kind="handoff" if call_id in handoffs else "tool",
                    agent_name=call_agents.get(call_id, agent),
                    name=str(call.get("name") or ""),
                    detail=detail,
                    call_id=call_id,
                    arguments=arguments,
                    output=output,
                    status=status,
                )
            )
    return steps


def final_output(doc: dict[str, Any]) -> str | None:
    """The last assistant message of a finished run, if the state holds one."""
    for response in reversed(_items(doc, "model_responses", "modelResponses")):
        for item in reversed(_items(response, "output")):
            if _get(item, "type") == "message":
                return _message_text(item)
    return None
