"""Read the facts timestep stores beside a state (agent, schema, approvals) from its JSON.

Works on both SDKs' formats: Python's snake_case and JavaScript's camelCase.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agents import RunState

from .._errors import CorruptStateError
from ._records import Language, PendingApproval, RunStatus


@dataclass(frozen=True)
class StateFacts:
    """What a state document says about itself."""

    language: Language
    schema_version: str
    agent_name: str
    pending_approvals: list[PendingApproval]
    status: RunStatus


# Keys only one SDK writes (the other spells them differently).
_PY_MARKERS = ("current_turn", "current_agent", "model_responses", "generated_items")
_JS_MARKERS = ("currentTurn", "currentAgent", "modelResponses", "generatedItems")


def detect_language(state_json: Mapping[str, Any]) -> Language:
    """Which SDK wrote a RunState JSON document: ``"python"`` (snake_case) or ``"typescript"``.

    Raises ``CorruptStateError`` for a document that is not a RunState or mixes both spellings.
    """
    if not isinstance(state_json, Mapping) or "$schemaVersion" not in state_json:
        raise CorruptStateError("not a RunState document: no '$schemaVersion' field")
    python = sum(key in state_json for key in _PY_MARKERS)
    typescript = sum(key in state_json for key in _JS_MARKERS)
    if python and not typescript:
        return "python"
    if typescript and not python:
        return "typescript"
    raise CorruptStateError(
        "cannot tell which SDK wrote this RunState (it has "
        f"{python} Python-style and {typescript} TypeScript-style top-level fields)"
    )


def is_finished(state: RunState[Any, Any]) -> bool:
    """True when ``state`` already produced its final output (a resume would re-call the model)."""
    current_step = getattr(state, "_current_step", None)
    responses = getattr(state, "_model_responses", None) or []
    return current_step is None and len(responses) > 0


def _get(obj: Any, *keys: str) -> Any:
    if not isinstance(obj, dict):
        return None
    for key in keys:
        if key in obj:
            return obj[key]
    return None


def _arguments_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if raw is None:
        return ""
    return json.dumps(raw, separators=(",", ":"))


def _pending(doc: dict[str, Any]) -> list[PendingApproval]:
    step = _get(doc, "current_step", "currentStep")
    if not isinstance(step, dict) or step.get("type") != "next_step_interruption":
        return []
    interruptions = _get(step.get("data"), "interruptions") or []
    if not isinstance(interruptions, list):
        raise CorruptStateError("not a RunState document: its interruptions are not a list")
    result: list[PendingApproval] = []
    for item in interruptions:
        raw = _get(item, "raw_item", "rawItem") or {}
        agent = _get(item, "agent") or {}
        result.append(
            PendingApproval(
                call_id=str(_get(raw, "call_id", "callId", "id") or ""),
                tool_name=str(_get(item, "tool_name", "toolName") or _get(raw, "name") or ""),
                arguments=_arguments_text(_get(raw, "arguments")),
                agent_name=str(_get(agent, "name") or ""),
            )
        )
    return result


def state_facts(doc: Any) -> StateFacts:
    """Describe a RunState JSON document, raising ``CorruptStateError`` when it is not one."""
    if not isinstance(doc, dict):
        raise CorruptStateError(f"a RunState JSON document is an object, got {type(doc).__name__}")
    schema = doc.get("$schemaVersion")
    if not isinstance(schema, str):
        raise CorruptStateError("not a RunState document: it has no string '$schemaVersion' field")
    agent = _get(doc, "current_agent", "currentAgent")
    agent_name = _get(agent, "name")
    if not isinstance(agent_name, str):
        raise CorruptStateError("not a RunState document: it names no current agent")
    pending = _pending(doc)
    status: RunStatus
    step = _get(doc, "current_step", "currentStep")
    responses = _get(doc, "model_responses", "modelResponses") or []
    step_type = step.get("type") if isinstance(step, dict) else None
    if pending:
        status = "waiting"
    elif step_type == "next_step_final_output" or (step is None and responses):
        status = "done"
    else:
        status = "running"
    return StateFacts(detect_language(doc), schema, agent_name, pending, status)


def parse_state_text(text: str | bytes) -> dict[str, Any]:
    """Parse state JSON text, naming the position of a syntax error."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise CorruptStateError(
            f"state is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except UnicodeDecodeError as error:
        raise CorruptStateError(f"state is not UTF-8 text: {error.reason}") from None
    state_facts(doc)
    if not isinstance(doc, dict):  # pragma: no cover - state_facts already rejects it
        raise CorruptStateError("state is not a JSON object")
    return doc
