"""JS RunState 1.22 -> Python RunState 1.21."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._items import Json, require, usage_to_py
from .._py_identity import python_fingerprint, python_scope
from ._common import (
    ITEMS_TO_PY,
    PLAIN_ITEMS,
    PYTHON_SCHEMA,
    agent_ref,
    parse_bare_key,
    require_empty,
    unsupported_to_py,
)
from ._to_js import decision_list, guardrails


class ToPy:
    def __init__(self, state: Mapping[str, Any]) -> None:
        self.state = state

    def item(self, item: Mapping[str, Any]) -> Json:
        kind = item.get("type")
        raw_js = item.get("rawItem")
        raw = ITEMS_TO_PY.raw(raw_js)
        if kind == "handoff_output_item":
            source = agent_ref(item.get("sourceAgent"), "handoff source")
            return {
                "type": kind,
                "raw_item": raw,
                "agent": source,
                "source_agent": source,
                "target_agent": agent_ref(item.get("targetAgent"), "handoff target"),
            }
        out: Json = {
            "type": kind,
            "raw_item": raw,
            "agent": agent_ref(item.get("agent"), str(kind)),
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
            name = parse_bare_key(state_key) if isinstance(state_key, str) else str(raw.get("name"))
            out["tool_name"] = item.get("toolName") or name
            out["tool_lookup_key"] = {"kind": "bare", "name": name}
            out["tool_origin"] = {"type": "function"}
        elif kind not in PLAIN_ITEMS:
            raise unsupported_to_py(f"run item {kind!r}")
        if kind in ("tool_call_item", "tool_approval_item") and raw.get("type") != "function_call":
            raise unsupported_to_py(f"{kind} for {raw.get('type')!r}")
        return out

    def model_response(self, response: Mapping[str, Any]) -> Json:
        return {
            "usage": usage_to_py(response.get("usage") or {}),
            "output": [ITEMS_TO_PY.raw(raw) for raw in response.get("output") or []],
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
            scope = python_scope(raw["name"], "handoff" if kind == "handoff_call_item" else None)
            done = call_id in outputs
            ledger[call_id] = {
                "type": "function_call",
                "approval_scope": scope,
                "fingerprint": python_fingerprint(scope, raw["arguments"]),
                "executed": done,
                "completed": done,
            }
        return ledger

    def approvals(self, context: Mapping[str, Any]) -> list[Json]:
        if context.get("approvals"):
            raise unsupported_to_py("context.approvals", "non-function-tool approvals")
        if context.get("hostedMcpApprovals"):
            raise unsupported_to_py("hosted MCP approvals")
        if context.get("legacyFunctionApprovals"):
            raise unsupported_to_py("legacyFunctionApprovals")
        for record in context.get("approvalInvocations") or []:
            if record.get("approvals"):
                raise unsupported_to_py("approvalInvocations.approvals", "non-function tools")
        out: list[Json] = []
        for entry in context.get("functionApprovals") or []:
            agent = {"name": entry.get("agentIdentity")}
            for state_key, record in (entry.get("approvals") or {}).items():
                name = parse_bare_key(state_key)
                decision: Json = {
                    "approved": decision_list(record.get("approved")),
                    "rejected": decision_list(record.get("rejected")),
                }
                if record.get("messages"):
                    decision["rejection_messages"] = dict(record["messages"])
                if record.get("stickyRejectMessage") is not None:
                    decision["sticky_rejection_message"] = record["stickyRejectMessage"]
                if decision["approved"] is True or decision["rejected"] is True:
                    decision["sticky_scope"] = python_scope(name)
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
                raise unsupported_to_py(f"lastProcessedResponse.{key}")
        functions: list[Json] = []
        for entry in data.get("functions") or []:
            if entry.get("mcpToolBinding") not in (None, "unknown"):
                raise unsupported_to_py("MCP tool bindings")
            call = ITEMS_TO_PY.raw(entry.get("toolCall"))
            name = (entry.get("tool") or {}).get("name") or call["name"]
            functions.append(
                {
                    "tool_call": call,
                    "tool": {"name": name, "lookupKey": {"kind": "bare", "name": name}},
                }
            )
        handoffs: list[Json] = []
        for entry in data.get("handoffs") or []:
            call = ITEMS_TO_PY.raw(entry.get("toolCall"))
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
        require_empty(
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
        context = require(state, "context", "root")
        js_context = context.get("context")
        if js_context is not None and not isinstance(js_context, dict):
            raise unsupported_to_py("context.context", "only JSON object contexts")
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
                raise unsupported_to_py(f"currentStep {kind!r}")
        model_responses = [self.model_response(r) for r in state.get("modelResponses") or []]
        py_context: Json = {
            "usage": usage_to_py(context.get("usage") or {}),
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
            "current_turn": require(state, "currentTurn", "root"),
            "current_agent": agent_ref(state.get("currentAgent"), "currentAgent"),
            "original_input": ITEMS_TO_PY.input(state.get("originalInput")),
            "pending_input": ITEMS_TO_PY.input(state.get("pendingInput") or []),
            "model_responses": model_responses,
            "context": py_context,
            "tool_use_tracker": {
                agent: list(tools) for agent, tools in (state.get("toolUseTracker") or {}).items()
            },
            "max_turns": state.get("maxTurns"),
            "no_active_agent_run": True,
            "input_guardrail_results": guardrails(state.get("inputGuardrailResults"), "input"),
            "output_guardrail_results": guardrails(state.get("outputGuardrailResults"), "output"),
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
