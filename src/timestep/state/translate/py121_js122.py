"""RunState translation between openai-agents (Python) schema 1.21 and @openai/agents (JS) 1.22.

Tested against openai-agents 0.24.0 and @openai/agents 0.20.0 with the vectors in
``tests/vectors/``. Both directions rebuild the approval and invocation ledgers each SDK checks
(Python ``context.tool_invocations``; JS ``approvalInvocations``, ``completedToolInvocations``
and their evidence), so decisions made in one language are honoured by the other.

Covered: function-tool approvals (one or several, pending or decided: approve, reject with a
message, always-approve, always-reject), handoffs, executed tool calls and their outputs,
assistant messages, reasoning items, usage with details, conversation / previous response ids,
structured (JSON) final outputs, input guardrail results (as records), finished runs.
Everything else raises ``UnsupportedStateFeatureError`` naming the feature: hosted / MCP tools,
computer / shell / apply-patch / custom tools, namespaced tools, agent-as-tool nested runs,
non-text tool outputs, pending session writes, sandboxes, non-mapping contexts, and so on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from agents._tool_invocation import tool_invocation_approval_scope

from ..._errors import CorruptStateError, UnsupportedStateFeatureError
from ._js_identity import bare_state_key, function_call_fingerprint, handoff_tool_name

PYTHON_SCHEMA = "1.21"
JS_SCHEMA = "1.22"
_PY = f"Python RunState {PYTHON_SCHEMA}"
_JS = f"JS RunState {JS_SCHEMA}"

Json = dict[str, Any]

# Run items whose only fields are the raw item and the owning agent.
_PLAIN_ITEMS = frozenset(
    {"tool_call_item", "message_output_item", "handoff_call_item", "reasoning_item"}
)


# --------------------------------------------------------------------------------------------
# shared helpers


def _unsupported_to_js(feature: str, detail: str = "") -> UnsupportedStateFeatureError:
    return UnsupportedStateFeatureError(feature, source=_PY, target=_JS, detail=detail)


def _unsupported_to_py(feature: str, detail: str = "") -> UnsupportedStateFeatureError:
    return UnsupportedStateFeatureError(feature, source=_JS, target=_PY, detail=detail)


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    try:
        return mapping[key]
    except KeyError:
        raise CorruptStateError(f"RunState {where} has no {key!r} field") from None


def _agent_ref(ref: Any, where: str) -> Json:
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
        raise CorruptStateError(f"RunState {where} is not an agent reference")
    out: Json = {"name": ref["name"]}
    if isinstance(ref.get("identity"), str):
        out["identity"] = ref["identity"]
    return out


def _agent_key(ref: Mapping[str, Any]) -> str:
    identity = ref.get("identity")
    return identity if isinstance(identity, str) else str(ref["name"])


def _require_empty(state: Mapping[str, Any], keys: tuple[str, ...], to_js: bool) -> None:
    for key in keys:
        value = state.get(key)
        if value not in (None, [], {}, False):
            make = _unsupported_to_js if to_js else _unsupported_to_py
            raise make(key, "only empty values are supported")


@lru_cache(maxsize=1024)
def _python_scope(name: str, role: str | None = None) -> str:
    """Python's approval scope of a bare function tool (or of a handoff, ``role="handoff"``)."""
    scope = tool_invocation_approval_scope(
        {"type": "function_call", "name": name, "call_id": "scope", "arguments": "{}"},
        tool_lookup_key=("bare", name),
        invocation_role=role,
    )
    if scope is None:
        raise CorruptStateError(f"cannot compute the approval scope of tool {name!r}")
    return scope[1]


def _reject_constant(constant: str) -> Any:
    raise ValueError(f"Invalid JSON constant: {constant}")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=4096)
def _python_fingerprint(scope: str, arguments: str) -> str:
    """``agents._tool_invocation``'s fingerprint of a direct ``function_call`` (same hashing).

    The SDK hashes ``{"approval_scope", "arguments" (parsed JSON, else the raw text), "type"}``
    with sorted keys; tests check this equals ``tool_invocation_identity_and_scope``.
    """
    value: Any
    try:
        value = _DECODER.decode(arguments)
    except ValueError:
        value = arguments
    payload = {"approval_scope": scope, "arguments": value, "type": "function_call"}
    return hashlib.sha256(_ENCODER.encode(payload).encode("utf-8")).hexdigest()


def _parse_bare_key(state_key: str) -> str:
    try:
        parts = json.loads(state_key)
    except ValueError:
        parts = None
    if (
        isinstance(parts, list)
        and len(parts) == 2
        and parts[0] == "bare"
        and isinstance(parts[1], str)
        and parts[1]
    ):
        return parts[1]
    raise _unsupported_to_py("functionToolStateKey", f"only bare top-level tools, got {state_key}")


# --------------------------------------------------------------------------------------------
# usage


def _usage_details_to_js(details: Any) -> list[Json]:
    out: list[Json] = []
    for entry in details or []:
        if not isinstance(entry, dict):
            continue
        numbers = {
            key: value
            for key, value in entry.items()
            if isinstance(value, int | float) and not isinstance(value, bool) and value != 0
        }
        if numbers:
            out.append(numbers)
    return out


def _usage_to_js(usage: Mapping[str, Any]) -> Json:
    out: Json = {
        "requests": usage.get("requests", 0),
        "inputTokens": usage.get("input_tokens", 0),
        "outputTokens": usage.get("output_tokens", 0),
        "totalTokens": usage.get("total_tokens", 0),
        "inputTokensDetails": _usage_details_to_js(usage.get("input_tokens_details")),
        "outputTokensDetails": _usage_details_to_js(usage.get("output_tokens_details")),
    }
    entries = usage.get("request_usage_entries") or []
    if entries:
        out["requestUsageEntries"] = [
            {
                "inputTokens": entry.get("input_tokens", 0),
                "outputTokens": entry.get("output_tokens", 0),
                "totalTokens": entry.get("total_tokens", 0),
                "inputTokensDetails": _merge_details(entry.get("input_tokens_details")),
                "outputTokensDetails": _merge_details(entry.get("output_tokens_details")),
            }
            for entry in entries
        ]
    return out


def _merge_details(details: Any) -> Json:
    merged: Json = {}
    for entry in _usage_details_to_js(details if isinstance(details, list) else [details]):
        merged.update(entry)
    return merged


def _sum_details(details: Any, fields: tuple[str, ...]) -> Json:
    totals: Json = dict.fromkeys(fields, 0)
    items = details if isinstance(details, list) else [details] if details else []
    for entry in items:
        if isinstance(entry, dict):
            for key, value in entry.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    totals[key] = totals.get(key, 0) + value
    return totals


_PY_INPUT_DETAILS = ("cache_write_tokens", "cached_tokens")
_PY_OUTPUT_DETAILS = ("reasoning_tokens",)


def _input_details_to_py(details: Any) -> Json:
    totals = _sum_details(details, _PY_INPUT_DETAILS)
    totals.setdefault("cache_write_tokens_details", None)
    return totals


def _usage_to_py(usage: Mapping[str, Any]) -> Json:
    return {
        "requests": usage.get("requests", 0),
        "input_tokens": usage.get("inputTokens", 0),
        "input_tokens_details": [_input_details_to_py(usage.get("inputTokensDetails"))],
        "output_tokens": usage.get("outputTokens", 0),
        "output_tokens_details": [
            _sum_details(usage.get("outputTokensDetails"), _PY_OUTPUT_DETAILS)
        ],
        "total_tokens": usage.get("totalTokens", 0),
        "request_usage_entries": [
            {
                "input_tokens": entry.get("inputTokens", 0),
                "output_tokens": entry.get("outputTokens", 0),
                "total_tokens": entry.get("totalTokens", 0),
                "input_tokens_details": _input_details_to_py(entry.get("inputTokensDetails")),
                "output_tokens_details": _sum_details(
                    entry.get("outputTokensDetails"), _PY_OUTPUT_DETAILS
                ),
            }
            for entry in usage.get("requestUsageEntries") or []
        ],
    }


# --------------------------------------------------------------------------------------------
# raw items (model protocol)


def _text_output_to_js(output: Any) -> Json:
    if isinstance(output, str):
        return {"type": "text", "text": output}
    raise _unsupported_to_js("function_call_output.output", "only text tool outputs")


def _raw_to_js(raw: Any, names: Mapping[str, str]) -> Json:
    if not isinstance(raw, dict):
        raise CorruptStateError("RunState item is not an object")
    kind = raw.get("type")
    if kind == "function_call":
        if raw.get("namespace"):
            raise _unsupported_to_js("namespaced function tools")
        if raw.get("caller") not in (None, {"type": "direct"}):
            raise _unsupported_to_js("programmatic tool calling")
        out: Json = {"type": "function_call"}
        if raw.get("id"):
            out["id"] = raw["id"]
        out.update(
            callId=_require(raw, "call_id", "function_call"),
            name=_require(raw, "name", "function_call"),
            status=raw.get("status") or "completed",
            arguments=_require(raw, "arguments", "function_call"),
        )
        return out
    if kind == "function_call_output":
        call_id = _require(raw, "call_id", "function_call_output")
        if call_id not in names:
            raise CorruptStateError(f"tool output {call_id!r} has no matching call in the state")
        return {
            "type": "function_call_result",
            "name": names[call_id],
            "callId": call_id,
            "status": raw.get("status") or "completed",
            "output": _text_output_to_js(raw.get("output")),
        }
    if kind == "message" or (kind is None and "role" in raw):
        return _message_to_js(raw)
    if kind == "reasoning":
        return _reasoning_to_js(raw)
    raise _unsupported_to_js(f"item type {kind!r}")


def _message_to_js(raw: Mapping[str, Any]) -> Json:
    role = raw.get("role")
    content = raw.get("content")
    if role in ("user", "system", "developer"):
        if isinstance(content, str):
            out: Json = {"type": "message", "role": role, "content": content}
            return out
        parts: list[Json] = []
        for part in content or []:
            if isinstance(part, dict) and part.get("type") == "input_text":
                parts.append({"type": "input_text", "text": part.get("text", "")})
            else:
                raise _unsupported_to_js("non-text input message content")
        return {"type": "message", "role": role, "content": parts}
    if role != "assistant":
        raise _unsupported_to_js(f"message role {role!r}")
    js_parts: list[Json] = []
    if isinstance(content, str):
        js_parts.append({"type": "output_text", "text": content})
    else:
        for part in content or []:
            if not isinstance(part, dict):
                raise CorruptStateError("assistant message content part is not an object")
            if part.get("type") == "output_text":
                text_part: Json = {"type": "output_text", "text": part.get("text", "")}
                if part.get("annotations"):
                    text_part["providerData"] = {"annotations": part["annotations"]}
                js_parts.append(text_part)
            elif part.get("type") == "refusal":
                js_parts.append({"type": "refusal", "refusal": part.get("refusal", "")})
            else:
                raise _unsupported_to_js(f"assistant content part {part.get('type')!r}")
    out = {"type": "message", "role": "assistant", "status": raw.get("status") or "completed"}
    if raw.get("id"):
        out = {"id": raw["id"], **out}
    out["content"] = js_parts
    return out


def _reasoning_to_js(raw: Mapping[str, Any]) -> Json:
    out: Json = {"type": "reasoning"}
    if raw.get("id"):
        out["id"] = raw["id"]
    out["content"] = [
        {"type": "input_text", "text": part.get("text", "")}
        for part in raw.get("summary") or []
        if isinstance(part, dict)
    ]
    raw_content = [
        {"type": "reasoning_text", "text": part.get("text", "")}
        for part in raw.get("content") or []
        if isinstance(part, dict)
    ]
    if raw_content:
        out["rawContent"] = raw_content
    if raw.get("encrypted_content"):
        out["providerData"] = {"encryptedContent": raw["encrypted_content"]}
    return out


def _raw_to_py(raw: Any) -> Json:
    if not isinstance(raw, dict):
        raise CorruptStateError("RunState item is not an object")
    kind = raw.get("type")
    if kind == "function_call":
        if raw.get("namespace"):
            raise _unsupported_to_py("namespaced function tools")
        caller = raw.get("caller")
        if caller not in (None, {"type": "direct"}):
            raise _unsupported_to_py("programmatic tool calling")
        out: Json = {
            "arguments": _require(raw, "arguments", "function_call"),
            "call_id": _require(raw, "callId", "function_call"),
            "name": _require(raw, "name", "function_call"),
            "type": "function_call",
        }
        if raw.get("id"):
            out["id"] = raw["id"]
        if raw.get("status"):
            out["status"] = raw["status"]
        return out
    if kind == "function_call_result":
        output = raw.get("output")
        if isinstance(output, str):
            text = output
        elif isinstance(output, dict) and output.get("type") == "text":
            text = str(output.get("text", ""))
        else:
            raise _unsupported_to_py("function_call_result.output", "only text tool outputs")
        return {
            "call_id": _require(raw, "callId", "function_call_result"),
            "output": text,
            "type": "function_call_output",
        }
    if kind == "message" or (kind is None and "role" in raw):
        return _message_to_py(raw)
    if kind == "reasoning":
        out = {"id": raw.get("id") or "", "summary": [], "type": "reasoning"}
        out["summary"] = [
            {"text": part.get("text", ""), "type": "summary_text"}
            for part in raw.get("content") or []
            if isinstance(part, dict)
        ]
        raw_content = raw.get("rawContent") or []
        if raw_content:
            out["content"] = [
                {"text": part.get("text", ""), "type": "reasoning_text"}
                for part in raw_content
                if isinstance(part, dict)
            ]
        provider = raw.get("providerData")
        if isinstance(provider, dict) and provider.get("encryptedContent"):
            out["encrypted_content"] = provider["encryptedContent"]
        return out
    raise _unsupported_to_py(f"item type {kind!r}")


def _message_to_py(raw: Mapping[str, Any]) -> Json:
    role = raw.get("role")
    content = raw.get("content")
    if role in ("user", "system", "developer"):
        if isinstance(content, str):
            return {"content": content, "role": role}
        parts: list[Json] = []
        for part in content or []:
            if isinstance(part, dict) and part.get("type") == "input_text":
                parts.append({"text": part.get("text", ""), "type": "input_text"})
            else:
                raise _unsupported_to_py("non-text input message content")
        return {"content": parts, "role": role}
    if role != "assistant":
        raise _unsupported_to_py(f"message role {role!r}")
    py_parts: list[Json] = []
    for part in content or []:
        if not isinstance(part, dict):
            raise CorruptStateError("assistant message content part is not an object")
        if part.get("type") == "output_text":
            provider = part.get("providerData")
            annotations = provider.get("annotations", []) if isinstance(provider, dict) else []
            py_parts.append(
                {
                    "annotations": annotations,
                    "text": part.get("text", ""),
                    "type": "output_text",
                    "logprobs": [],
                }
            )
        elif part.get("type") == "refusal":
            py_parts.append({"refusal": part.get("refusal", ""), "type": "refusal"})
        else:
            raise _unsupported_to_py(f"assistant content part {part.get('type')!r}")
    return {
        "id": raw.get("id") or "msg_translated",
        "content": py_parts,
        "role": "assistant",
        "status": raw.get("status") or "completed",
        "type": "message",
    }


def _input_to_js(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return value
    return [_raw_to_js(item, names) for item in value or []]


def _input_to_py(value: Any) -> Any:
    if isinstance(value, str):
        return value
    return [_raw_to_py(item) for item in value or []]


# --------------------------------------------------------------------------------------------
# Python -> JS


class _ToJs:
    def __init__(self, state: Mapping[str, Any]) -> None:
        self.state = state
        self.names: dict[str, str] = {}
        self._collect_names()

    def _collect_names(self) -> None:
        def visit(raw: Any) -> None:
            if isinstance(raw, dict) and raw.get("type") == "function_call":
                call_id = raw.get("call_id")
                if isinstance(call_id, str) and isinstance(raw.get("name"), str):
                    self.names.setdefault(call_id, raw["name"])

        for response in self.state.get("model_responses") or []:
            for raw in response.get("output") or []:
                visit(raw)
        for item in self.state.get("generated_items") or []:
            visit(item.get("raw_item"))
        original = self.state.get("original_input")
        if isinstance(original, list):
            for raw in original:
                visit(raw)

    def item(self, item: Mapping[str, Any]) -> Json:
        kind = item.get("type")
        raw = _raw_to_js(item.get("raw_item"), self.names)
        if kind == "handoff_output_item":
            return {
                "type": kind,
                "rawItem": raw,
                "sourceAgent": _agent_ref(item.get("source_agent"), "handoff source"),
                "targetAgent": _agent_ref(item.get("target_agent"), "handoff target"),
            }
        out: Json = {
            "type": kind,
            "rawItem": raw,
            "agent": _agent_ref(item.get("agent"), str(kind)),
        }
        if kind == "tool_call_output_item":
            output = item.get("output")
            out["output"] = output if isinstance(output, str) else raw["output"]["text"]
        elif kind == "tool_approval_item":
            out["toolName"] = item.get("tool_name") or raw.get("name")
            out["functionToolStateKey"] = self._state_key(item, raw)
        elif kind not in _PLAIN_ITEMS:
            raise _unsupported_to_js(f"run item {kind!r}")
        if kind in ("tool_call_item", "tool_approval_item") and raw.get("type") != "function_call":
            raise _unsupported_to_js(f"{kind} for {raw.get('type')!r}")
        return out

    @staticmethod
    def _state_key(item: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
        lookup = item.get("tool_lookup_key")
        if lookup is None:
            return bare_state_key(str(raw.get("name")))
        if isinstance(lookup, dict) and lookup.get("kind") == "bare":
            return bare_state_key(str(lookup.get("name")))
        raise _unsupported_to_js("tool_lookup_key", f"only bare top-level tools, got {lookup}")

    def model_response(self, response: Mapping[str, Any]) -> Json:
        out: Json = {
            "usage": _usage_to_js(response.get("usage") or {}),
            "output": [_raw_to_js(raw, self.names) for raw in response.get("output") or []],
        }
        if response.get("response_id"):
            out["responseId"] = response["response_id"]
        if response.get("request_id"):
            out["requestId"] = response["request_id"]
        return out

    def approvals(self, context: Mapping[str, Any]) -> tuple[list[Json], list[Json]]:
        """``functionApprovals`` and ``approvalInvocations`` for the JS context."""
        if context.get("approvals"):
            raise _unsupported_to_js("context.approvals", "non-function-tool approvals")
        if context.get("hosted_mcp_approvals"):
            raise _unsupported_to_js("hosted MCP approvals")
        calls = self._calls_by_id()
        function_approvals: dict[str, Json] = {}
        invocations: dict[str, Json] = {}
        for entry in context.get("function_tool_approvals") or []:
            agent = _agent_key(_agent_ref(entry.get("agent"), "function approval owner"))
            tool_key = entry.get("tool_key")
            if not isinstance(tool_key, str) or "." in tool_key:
                raise _unsupported_to_js("function_tool_approvals.tool_key", str(tool_key))
            decision = entry.get("decision") or {}
            record: Json = {
                "approved": _decision_list(decision.get("approved")),
                "rejected": _decision_list(decision.get("rejected")),
            }
            if decision.get("rejection_messages"):
                record["messages"] = dict(decision["rejection_messages"])
            if decision.get("sticky_rejection_message") is not None:
                record["stickyRejectMessage"] = decision["sticky_rejection_message"]
            state_key = bare_state_key(tool_key)
            function_approvals.setdefault(agent, {})[state_key] = record
            per_call = [
                call_id
                for field in ("approved", "rejected")
                if isinstance(record[field], list)
                for call_id in record[field]
            ]
            # Sticky decisions still bind the call that was decided (as the JS SDK does).
            if record["approved"] is True or record["rejected"] is True:
                per_call += [
                    call_id
                    for call_id, (owner, name, _) in calls.items()
                    if owner == agent and name == tool_key and call_id in self._pending_ids()
                ]
            for call_id in per_call:
                if call_id not in calls:
                    raise CorruptStateError(f"approval for unknown call {call_id!r}")
                _, name, arguments = calls[call_id]
                invocations.setdefault(agent, {})[call_id] = function_call_fingerprint(
                    bare_state_key(name), arguments
                )
        return (
            [{"agentIdentity": a, "approvals": r} for a, r in function_approvals.items()],
            [
                {"agentIdentity": a, "invocations": inv, "approvals": {}}
                for a, inv in invocations.items()
            ],
        )

    def _pending_ids(self) -> set[str]:
        step = self.state.get("current_step") or {}
        ids: set[str] = set()
        if step.get("type") == "next_step_interruption":
            for item in (step.get("data") or {}).get("interruptions") or []:
                call_id = (item.get("raw_item") or {}).get("call_id")
                if isinstance(call_id, str):
                    ids.add(call_id)
        return ids

    def _calls_by_id(self) -> dict[str, tuple[str, str, str]]:
        calls: dict[str, tuple[str, str, str]] = {}
        for item in self.state.get("generated_items") or []:
            raw = item.get("raw_item") or {}
            if raw.get("type") == "function_call" and item.get("type") != "handoff_call_item":
                agent = _agent_key(_agent_ref(item.get("agent"), "tool call owner"))
                calls.setdefault(raw["call_id"], (agent, raw["name"], raw["arguments"]))
        return calls

    def completed(self, generated: list[Json]) -> tuple[list[Json], list[Json]]:
        """``completedToolInvocations`` and evidence, as the JS SDK infers them."""
        pending: dict[tuple[str, str], tuple[int, str]] = {}
        completed: dict[str, dict[str, str]] = {}
        evidence: dict[str, dict[str, Json]] = {}
        for index, item in enumerate(generated):
            kind = item["type"]
            raw = item["rawItem"]
            if kind in ("tool_call_item", "handoff_call_item", "tool_approval_item"):
                agent = _agent_key(item["agent"])
                if kind == "handoff_call_item":
                    tool_name = handoff_tool_name(raw["name"])
                else:
                    tool_name = item.get("functionToolStateKey") or bare_state_key(raw["name"])
                fingerprint = function_call_fingerprint(tool_name, raw["arguments"])
                key = (agent, raw["callId"])
                if key not in pending:
                    pending[key] = (index, fingerprint)
            elif kind in ("tool_call_output_item", "handoff_output_item"):
                owner = item["sourceAgent"] if kind == "handoff_output_item" else item["agent"]
                agent = _agent_key(owner)
                key = (agent, raw["callId"])
                if key not in pending:
                    raise _unsupported_to_js(
                        "tool output without its call", f"call {raw['callId']!r}"
                    )
                call_index, fingerprint = pending.pop(key)
                completed.setdefault(agent, {})[raw["callId"]] = fingerprint
                evidence.setdefault(agent, {})[raw["callId"]] = {
                    "fingerprint": fingerprint,
                    "items": [{"generatedItemIndex": call_index}, {"generatedItemIndex": index}],
                }
        return (
            [{"agentIdentity": a, "invocations": inv} for a, inv in completed.items()],
            [{"agentIdentity": a, "invocations": inv} for a, inv in evidence.items()],
        )

    def processed_response(self, data: Mapping[str, Any]) -> Json:
        for key in (
            "computer_actions",
            "custom_tool_actions",
            "local_shell_actions",
            "shell_actions",
            "apply_patch_actions",
            "mcp_approval_requests",
        ):
            if data.get(key):
                raise _unsupported_to_js(f"last_processed_response.{key}")
        if data.get("mcp_tool_bindings"):
            raise _unsupported_to_js("MCP tool bindings")
        functions: list[Json] = []
        for entry in data.get("functions") or []:
            if entry.get("agent_run_state"):
                raise _unsupported_to_js("agent-as-tool nested runs")
            tool = entry.get("tool") or {}
            call = _raw_to_js(entry.get("tool_call"), self.names)
            functions.append(
                {
                    "toolCall": call,
                    "tool": {"type": "function", "name": tool.get("name") or call["name"]},
                    "mcpToolBinding": None,
                }
            )
        handoffs: list[Json] = []
        for entry in data.get("handoffs") or []:
            call = _raw_to_js(entry.get("tool_call"), self.names)
            handoff = entry.get("handoff") or {}
            handoffs.append(
                {
                    "toolCall": call,
                    "handoff": {"toolName": handoff.get("tool_name") or call["name"]},
                }
            )
        return {
            "newItems": [self.item(item) for item in data.get("new_items") or []],
            "toolsUsed": list(data.get("tools_used") or []),
            "handoffs": handoffs,
            "functions": functions,
            "functionToolsNotFound": [],
            "computerActions": [],
            "shellActions": [],
            "applyPatchActions": [],
            "mcpApprovalRequests": [],
        }

    def current_step(self, step: Mapping[str, Any] | None, final_output: Any) -> Json | None:
        if step is None:
            if final_output is not None:
                return {"type": "next_step_final_output", "output": final_output}
            return None
        kind = step.get("type")
        if kind == "next_step_run_again":
            return {"type": "next_step_run_again"}
        if kind == "next_step_interruption":
            interruptions = (step.get("data") or {}).get("interruptions") or []
            return {
                "type": "next_step_interruption",
                "data": {"interruptions": [self.item(item) for item in interruptions]},
            }
        raise _unsupported_to_js(f"current_step {kind!r}")

    def final_output(self) -> Any:
        """The final output of a finished Python run (Python keeps it only in the items)."""
        if self.state.get("current_step") is not None or self.state.get("last_processed_response"):
            return None
        items = self.state.get("generated_items") or []
        if not items or items[-1].get("type") != "message_output_item":
            return None
        texts = [
            part.get("text", "")
            for part in (items[-1].get("raw_item") or {}).get("content") or []
            if isinstance(part, dict) and part.get("type") == "output_text"
        ]
        return "".join(texts)

    def run(self) -> Json:
        state = self.state
        _require_empty(
            state,
            (
                "tool_input_guardrail_results",
                "tool_output_guardrail_results",
                "nested_history_owned_session_item_refs",
                "pending_session_write",
                "sandbox",
                "terminal_unrecoverable",
            ),
            to_js=True,
        )
        context = _require(state, "context", "root")
        py_context = context.get("context")
        if py_context is not None and not isinstance(py_context, dict):
            raise _unsupported_to_js("context.context", "only mapping (JSON object) contexts")
        if (context.get("context_meta") or {}).get("requires_deserializer"):
            raise _unsupported_to_js("context.context", "context needs a custom deserializer")
        function_approvals, approval_invocations = self.approvals(context)
        generated = [self.item(item) for item in state.get("generated_items") or []]
        completed, evidence = self.completed(generated)
        model_responses = [self.model_response(r) for r in state.get("model_responses") or []]
        final_output = self.final_output()
        current_step = self.current_step(state.get("current_step"), final_output)
        interrupted = current_step is not None and current_step["type"] == "next_step_interruption"
        js_context: Json = {
            "usage": _usage_to_js(context.get("usage") or {}),
            "approvals": {},
        }
        if function_approvals:
            js_context["functionApprovals"] = function_approvals
        js_context["approvalInvocations"] = approval_invocations
        js_context["context"] = dict(py_context or {})
        if context.get("tool_input") is not None:
            js_context["toolInput"] = context["tool_input"]
        tracker: Json = {}
        for agent, tools in (state.get("tool_use_tracker") or {}).items():
            tracker[agent] = list(dict.fromkeys(tools))
        out: Json = {
            "$schemaVersion": JS_SCHEMA,
            "currentTurn": _require(state, "current_turn", "root"),
            "currentAgent": _agent_ref(state.get("current_agent"), "current_agent"),
            "originalInput": _input_to_js(state.get("original_input"), self.names),
            "modelResponses": model_responses,
            "context": js_context,
            "toolUseTracker": tracker,
            "maxTurns": state.get("max_turns"),
            "noActiveAgentRun": False,
            "inputGuardrailResults": _guardrails(state.get("input_guardrail_results"), "input"),
            "initialInputGuardrailsCompleted": True,
            "outputGuardrailResults": _guardrails(state.get("output_guardrail_results"), "output"),
            "toolInputGuardrailResults": [],
            "toolOutputGuardrailResults": [],
            "currentTurnInProgress": interrupted,
        }
        pending_input = state.get("pending_input") or []
        if pending_input:
            out["pendingInput"] = _input_to_js(pending_input, self.names)
        if current_step is not None:
            out["currentStep"] = current_step
        if model_responses:
            out["lastModelResponse"] = model_responses[-1]
        out["generatedItems"] = generated
        ownership = state.get("current_response_generated_item_ownership")
        if ownership and interrupted:
            out["currentResponseGeneratedItemOwnership"] = {
                "generatedItemStartIndex": ownership["start"],
                "generatedItemEndIndexExclusive": ownership["end"],
                "interruptionGeneratedItemIndexes": list(ownership["interruptions"]),
                "toolOutputGuardrailResultStartIndex": 0,
            }
        out["pendingAgentToolRuns"] = {}
        out["pendingAgentToolRunAliases"] = {}
        processed = state.get("last_processed_response")
        if processed:
            out["lastProcessedResponse"] = self.processed_response(processed)
        out["currentTurnPersistedItemCount"] = state.get("current_turn_persisted_item_count") or 0
        out["completedToolInvocations"] = completed
        out["completedToolInvocationEvidence"] = evidence
        out["ambiguousToolInvocationCallIds"] = []
        if state.get("conversation_id"):
            out["conversationId"] = state["conversation_id"]
        if state.get("previous_response_id"):
            out["previousResponseId"] = state["previous_response_id"]
        if state.get("reasoning_item_id_policy"):
            out["reasoningItemIdPolicy"] = state["reasoning_item_id_policy"]
        out["trace"] = None
        return out


def _guardrails(results: Any, kind: str) -> list[Json]:
    """Guardrail results: both SDKs write the same camelCase records; validate and copy them."""
    out: list[Json] = []
    for result in results or []:
        if not isinstance(result, dict):
            raise CorruptStateError(f"{kind} guardrail result is not an object")
        guardrail = result.get("guardrail") or {}
        output = result.get("output") or {}
        entry: Json = {
            "guardrail": {"type": kind, "name": str(guardrail.get("name", ""))},
            "output": {
                "tripwireTriggered": bool(output.get("tripwireTriggered")),
                "outputInfo": output.get("outputInfo"),
            },
        }
        if kind == "output":
            entry["agentOutput"] = result.get("agentOutput")
            entry["agent"] = _agent_ref(result.get("agent"), "guardrail agent")
        out.append(entry)
    return out


def _decision_list(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    return list(value or [])


# --------------------------------------------------------------------------------------------
# JS -> Python


class _ToPy:
    def __init__(self, state: Mapping[str, Any]) -> None:
        self.state = state

    def item(self, item: Mapping[str, Any]) -> Json:
        kind = item.get("type")
        raw_js = item.get("rawItem")
        raw = _raw_to_py(raw_js)
        if kind == "handoff_output_item":
            source = _agent_ref(item.get("sourceAgent"), "handoff source")
            return {
                "type": kind,
                "raw_item": raw,
                "agent": source,
                "source_agent": source,
                "target_agent": _agent_ref(item.get("targetAgent"), "handoff target"),
            }
        out: Json = {
            "type": kind,
            "raw_item": raw,
            "agent": _agent_ref(item.get("agent"), str(kind)),
        }
        if kind == "tool_call_output_item":
            output = item.get("output")
            out["output"] = output if isinstance(output, str) else raw["output"]
            out["tool_origin"] = {"type": "function"}
        elif kind == "tool_call_item":
            out["tool_name"] = raw.get("name")
            out["tool_origin"] = {"type": "function"}
        elif kind == "tool_approval_item":
            state_key = item.get("functionToolStateKey")
            name = (
                _parse_bare_key(state_key) if isinstance(state_key, str) else str(raw.get("name"))
            )
            out["tool_name"] = item.get("toolName") or name
            out["tool_lookup_key"] = {"kind": "bare", "name": name}
            out["tool_origin"] = {"type": "function"}
        elif kind not in _PLAIN_ITEMS:
            raise _unsupported_to_py(f"run item {kind!r}")
        if kind in ("tool_call_item", "tool_approval_item") and raw.get("type") != "function_call":
            raise _unsupported_to_py(f"{kind} for {raw.get('type')!r}")
        return out

    def model_response(self, response: Mapping[str, Any]) -> Json:
        return {
            "usage": _usage_to_py(response.get("usage") or {}),
            "output": [_raw_to_py(raw) for raw in response.get("output") or []],
            "response_id": response.get("responseId"),
            "request_id": response.get("requestId"),
        }

    def ledger(self, generated: list[Json]) -> dict[str, Json]:
        """Python ``context.tool_invocations``: the Python SDK's own hashes of each call."""
        ledger: dict[str, Json] = {}
        outputs = {
            item["raw_item"]["call_id"]
            for item in generated
            if item["type"] in ("tool_call_output_item", "handoff_output_item")
        }
        for item in generated:
            kind = item["type"]
            if kind not in ("tool_call_item", "handoff_call_item", "tool_approval_item"):
                continue
            raw = item["raw_item"]
            call_id = raw["call_id"]
            if call_id in ledger:
                continue
            scope = _python_scope(raw["name"], "handoff" if kind == "handoff_call_item" else None)
            done = call_id in outputs
            ledger[call_id] = {
                "type": "function_call",
                "approval_scope": scope,
                "fingerprint": _python_fingerprint(scope, raw["arguments"]),
                "executed": done,
                "completed": done,
            }
        return ledger

    def approvals(self, context: Mapping[str, Any]) -> list[Json]:
        if context.get("approvals"):
            raise _unsupported_to_py("context.approvals", "non-function-tool approvals")
        if context.get("hostedMcpApprovals"):
            raise _unsupported_to_py("hosted MCP approvals")
        if context.get("legacyFunctionApprovals"):
            raise _unsupported_to_py("legacyFunctionApprovals")
        for record in context.get("approvalInvocations") or []:
            if record.get("approvals"):
                raise _unsupported_to_py("approvalInvocations.approvals", "non-function tools")
        out: list[Json] = []
        for entry in context.get("functionApprovals") or []:
            agent = {"name": entry.get("agentIdentity")}
            for state_key, record in (entry.get("approvals") or {}).items():
                name = _parse_bare_key(state_key)
                decision: Json = {
                    "approved": _decision_list(record.get("approved")),
                    "rejected": _decision_list(record.get("rejected")),
                }
                if record.get("messages"):
                    decision["rejection_messages"] = dict(record["messages"])
                if record.get("stickyRejectMessage") is not None:
                    decision["sticky_rejection_message"] = record["stickyRejectMessage"]
                if decision["approved"] is True or decision["rejected"] is True:
                    decision["sticky_scope"] = _python_scope(name)
                out.append({"agent": agent, "tool_key": name, "decision": decision})
        return out

    def processed_response(self, data: Mapping[str, Any], interruptions: list[Json]) -> Json:
        for key in (
            "computerActions",
            "shellActions",
            "applyPatchActions",
            "mcpApprovalRequests",
            "functionToolsNotFound",
        ):
            if data.get(key):
                raise _unsupported_to_py(f"lastProcessedResponse.{key}")
        functions: list[Json] = []
        for entry in data.get("functions") or []:
            if entry.get("mcpToolBinding") not in (None, "unknown"):
                raise _unsupported_to_py("MCP tool bindings")
            call = _raw_to_py(entry.get("toolCall"))
            name = (entry.get("tool") or {}).get("name") or call["name"]
            functions.append(
                {
                    "tool_call": call,
                    "tool": {"name": name, "lookupKey": {"kind": "bare", "name": name}},
                }
            )
        handoffs: list[Json] = []
        for entry in data.get("handoffs") or []:
            call = _raw_to_py(entry.get("toolCall"))
            handoff = entry.get("handoff") or {}
            handoffs.append(
                {
                    "tool_call": call,
                    "handoff": {"tool_name": handoff.get("toolName") or call["name"]},
                }
            )
        return {
            "new_items": [self.item(item) for item in data.get("newItems") or []],
            "tools_used": list(data.get("toolsUsed") or []),
            "functions": functions,
            "computer_actions": [],
            "custom_tool_actions": [],
            "local_shell_actions": [],
            "shell_actions": [],
            "apply_patch_actions": [],
            "handoffs": handoffs,
            "mcp_approval_requests": [],
            "interruptions": interruptions,
            "mcp_tool_bindings": {},
        }

    def run(self) -> Json:
        state = self.state
        _require_empty(
            state,
            (
                "toolInputGuardrailResults",
                "toolOutputGuardrailResults",
                "pendingAgentToolRuns",
                "pendingAgentToolRunAliases",
                "pendingSessionHistoryTransaction",
                "pendingSessionWrite",
                "pendingLegacyCompactionSessionItems",
                "currentTurnDeferredSessionItemIndexes",
                "ambiguousToolInvocationCallIds",
                "sandbox",
            ),
            to_js=False,
        )
        context = _require(state, "context", "root")
        js_context = context.get("context")
        if js_context is not None and not isinstance(js_context, dict):
            raise _unsupported_to_py("context.context", "only JSON object contexts")
        generated = [self.item(item) for item in state.get("generatedItems") or []]
        step = state.get("currentStep")
        current_step: Json | None = None
        interruptions: list[Json] = []
        if isinstance(step, dict):
            kind = step.get("type")
            if kind == "next_step_interruption":
                interruptions = [
                    self.item(item) for item in (step.get("data") or {}).get("interruptions") or []
                ]
                current_step = {
                    "type": "next_step_interruption",
                    "data": {
                        "interruptions": interruptions,
                        "response_accepted": False,
                        "llm_end_hooks_started": True,
                    },
                }
            elif kind == "next_step_run_again":
                current_step = {"type": "next_step_run_again"}
            elif kind in ("next_step_final_output", "next_step_handoff"):
                current_step = None
            else:
                raise _unsupported_to_py(f"currentStep {kind!r}")
        model_responses = [self.model_response(r) for r in state.get("modelResponses") or []]
        py_context: Json = {
            "usage": _usage_to_py(context.get("usage") or {}),
            "approvals": {},
            "tool_invocations": self.ledger(generated),
            "context": dict(js_context) if js_context else None,
            "context_meta": {
                "original_type": "dict" if js_context else "none",
                "serialized_via": "direct" if js_context else "none",
                "requires_deserializer": False,
                "omitted": False,
            },
        }
        if context.get("toolInput") is not None:
            py_context["tool_input"] = context["toolInput"]
        function_approvals = self.approvals(context)
        if function_approvals:
            py_context["function_tool_approvals"] = function_approvals
        out: Json = {
            "$schemaVersion": PYTHON_SCHEMA,
            "current_turn": _require(state, "currentTurn", "root"),
            "current_agent": _agent_ref(state.get("currentAgent"), "currentAgent"),
            "original_input": _input_to_py(state.get("originalInput")),
            "pending_input": _input_to_py(state.get("pendingInput") or []),
            "model_responses": model_responses,
            "context": py_context,
            "tool_use_tracker": {
                agent: list(tools) for agent, tools in (state.get("toolUseTracker") or {}).items()
            },
            "max_turns": state.get("maxTurns"),
            "no_active_agent_run": True,
            "input_guardrail_results": _guardrails(state.get("inputGuardrailResults"), "input"),
            "output_guardrail_results": _guardrails(state.get("outputGuardrailResults"), "output"),
            "tool_input_guardrail_results": [],
            "tool_output_guardrail_results": [],
            "conversation_id": state.get("conversationId"),
            "previous_response_id": state.get("previousResponseId"),
            "auto_previous_response_id": False,
            "generated_prompt_cache_key": None,
            "reasoning_item_id_policy": state.get("reasoningItemIdPolicy"),
            "nested_history_owned_session_item_refs": [],
        }
        ownership = state.get("currentResponseGeneratedItemOwnership")
        if ownership and current_step is not None and interruptions:
            out["current_response_generated_item_ownership"] = {
                "start": ownership["generatedItemStartIndex"],
                "end": ownership["generatedItemEndIndexExclusive"],
                "interruptions": list(ownership["interruptionGeneratedItemIndexes"]),
            }
        out["generated_items"] = generated
        out["current_step"] = current_step
        out["last_model_response"] = model_responses[-1] if model_responses else None
        processed = state.get("lastProcessedResponse")
        finished = isinstance(step, dict) and step.get("type") == "next_step_final_output"
        out["last_processed_response"] = (
            self.processed_response(processed, interruptions)
            if processed and not finished
            else None
        )
        out["current_turn_persisted_item_count"] = state.get("currentTurnPersistedItemCount") or 0
        out["trace"] = None
        return out


# --------------------------------------------------------------------------------------------
# entry points


def _guard(fn: Callable[[Mapping[str, Any]], Json], state: Mapping[str, Any], where: str) -> Json:
    try:
        return fn(state)
    except (UnsupportedStateFeatureError, CorruptStateError):
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise CorruptStateError(f"malformed {where} RunState: {type(exc).__name__}: {exc}") from exc


def python_to_js(state: Mapping[str, Any]) -> Json:
    """Translate a Python 1.21 RunState JSON document to a JS 1.22 one."""
    return _guard(lambda s: _ToJs(s).run(), state, _PY)


def js_to_python(state: Mapping[str, Any]) -> Json:
    """Translate a JS 1.22 RunState JSON document to a Python 1.21 one."""
    return _guard(lambda s: _ToPy(s).run(), state, _JS)


def python_items_to_js(items: Sequence[Mapping[str, Any]]) -> list[Json]:
    """Translate conversation items (a session's history) from Python to JS item format.

    A ``function_call_output`` gets its tool ``name`` (JS requires it) from the matching
    ``function_call`` earlier in ``items``.
    """
    names: dict[str, str] = {}
    out: list[Json] = []
    for raw in items:
        if isinstance(raw, dict) and raw.get("type") == "function_call":
            call_id, name = raw.get("call_id"), raw.get("name")
            if isinstance(call_id, str) and isinstance(name, str):
                names.setdefault(call_id, name)
        out.append(_raw_to_js(raw, names))
    return out


def js_items_to_python(items: Sequence[Mapping[str, Any]]) -> list[Json]:
    """Translate conversation items (a session's history) from JS to Python item format."""
    return [_raw_to_py(raw) for raw in items]
