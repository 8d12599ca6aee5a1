"""Python RunState 1.21 -> JS RunState 1.22."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...._errors import CorruptStateError
from .._items import Json, require, usage_to_js
from .._js_identity import bare_state_key, function_call_fingerprint, handoff_tool_name
from ._common import (
    ITEMS_TO_JS,
    JS_SCHEMA,
    PLAIN_ITEMS,
    agent_key,
    agent_ref,
    require_empty,
    unsupported_to_js,
)


class ToJs:
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
        raw = ITEMS_TO_JS.raw(item.get("raw_item"), self.names)
        if kind == "handoff_output_item":
            return {
                "type": kind,
                "rawItem": raw,
                "sourceAgent": agent_ref(item.get("source_agent"), "handoff source"),
                "targetAgent": agent_ref(item.get("target_agent"), "handoff target"),
            }
        out: Json = {
            "type": kind,
            "rawItem": raw,
            "agent": agent_ref(item.get("agent"), str(kind)),
        }
        if kind == "tool_call_output_item":
            output = item.get("output")
            out["output"] = output if isinstance(output, str) else raw["output"]["text"]
        elif kind == "tool_approval_item":
            out["toolName"] = item.get("tool_name") or raw.get("name")
            out["functionToolStateKey"] = self._state_key(item, raw)
        elif kind not in PLAIN_ITEMS:
            raise unsupported_to_js(f"run item {kind!r}")
        if kind in ("tool_call_item", "tool_approval_item") and raw.get("type") != "function_call":
            raise unsupported_to_js(f"{kind} for {raw.get('type')!r}")
        return out

    @staticmethod
    def _state_key(item: Mapping[str, Any], raw: Mapping[str, Any]) -> str:
        lookup = item.get("tool_lookup_key")
        if lookup is None:
            return bare_state_key(str(raw.get("name")))
        if isinstance(lookup, dict) and lookup.get("kind") == "bare":
            return bare_state_key(str(lookup.get("name")))
        raise unsupported_to_js("tool_lookup_key", f"only bare top-level tools, got {lookup}")

    def model_response(self, response: Mapping[str, Any]) -> Json:
        out: Json = {
            "usage": usage_to_js(response.get("usage") or {}),
            "output": [ITEMS_TO_JS.raw(raw, self.names) for raw in response.get("output") or []],
        }
        if response.get("response_id"):
            out["responseId"] = response["response_id"]
        if response.get("request_id"):
            out["requestId"] = response["request_id"]
        return out

    def approvals(self, context: Mapping[str, Any]) -> tuple[list[Json], list[Json]]:
        """``functionApprovals`` and ``approvalInvocations`` for the JS context."""
        if context.get("approvals"):
            raise unsupported_to_js("context.approvals", "non-function-tool approvals")
        if context.get("hosted_mcp_approvals"):
            raise unsupported_to_js("hosted MCP approvals")
        calls = self._calls_by_id()
        function_approvals: dict[str, Json] = {}
        invocations: dict[str, Json] = {}
        for entry in context.get("function_tool_approvals") or []:
            agent = agent_key(agent_ref(entry.get("agent"), "function approval owner"))
            tool_key = entry.get("tool_key")
            if not isinstance(tool_key, str) or "." in tool_key:
                raise unsupported_to_js("function_tool_approvals.tool_key", str(tool_key))
            decision = entry.get("decision") or {}
            record: Json = {
                "approved": decision_list(decision.get("approved")),
                "rejected": decision_list(decision.get("rejected")),
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
                agent = agent_key(agent_ref(item.get("agent"), "tool call owner"))
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
                agent = agent_key(item["agent"])
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
                agent = agent_key(owner)
                key = (agent, raw["callId"])
                if key not in pending:
                    raise unsupported_to_js(
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
                raise unsupported_to_js(f"last_processed_response.{key}")
        if data.get("mcp_tool_bindings"):
            raise unsupported_to_js("MCP tool bindings")
        functions: list[Json] = []
        for entry in data.get("functions") or []:
            if entry.get("agent_run_state"):
                raise unsupported_to_js("agent-as-tool nested runs")
            tool = entry.get("tool") or {}
            call = ITEMS_TO_JS.raw(entry.get("tool_call"), self.names)
            functions.append(
                {
                    "toolCall": call,
                    "tool": {"type": "function", "name": tool.get("name") or call["name"]},
                    "mcpToolBinding": None,
                }
            )
        handoffs: list[Json] = []
        for entry in data.get("handoffs") or []:
            call = ITEMS_TO_JS.raw(entry.get("tool_call"), self.names)
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
        raise unsupported_to_js(f"current_step {kind!r}")

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
        require_empty(
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
        context = require(state, "context", "root")
        py_context = context.get("context")
        if py_context is not None and not isinstance(py_context, dict):
            raise unsupported_to_js("context.context", "only mapping (JSON object) contexts")
        if (context.get("context_meta") or {}).get("requires_deserializer"):
            raise unsupported_to_js("context.context", "context needs a custom deserializer")
        function_approvals, approval_invocations = self.approvals(context)
        generated = [self.item(item) for item in state.get("generated_items") or []]
        completed, evidence = self.completed(generated)
        model_responses = [self.model_response(r) for r in state.get("model_responses") or []]
        final_output = self.final_output()
        current_step = self.current_step(state.get("current_step"), final_output)
        interrupted = current_step is not None and current_step["type"] == "next_step_interruption"
        js_context: Json = {
            "usage": usage_to_js(context.get("usage") or {}),
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
            "currentTurn": require(state, "current_turn", "root"),
            "currentAgent": agent_ref(state.get("current_agent"), "current_agent"),
            "originalInput": ITEMS_TO_JS.input(state.get("original_input"), self.names),
            "modelResponses": model_responses,
            "context": js_context,
            "toolUseTracker": tracker,
            "maxTurns": state.get("max_turns"),
            "noActiveAgentRun": False,
            "inputGuardrailResults": guardrails(state.get("input_guardrail_results"), "input"),
            "initialInputGuardrailsCompleted": True,
            "outputGuardrailResults": guardrails(state.get("output_guardrail_results"), "output"),
            "toolInputGuardrailResults": [],
            "toolOutputGuardrailResults": [],
            "currentTurnInProgress": interrupted,
        }
        pending_input = state.get("pending_input") or []
        if pending_input:
            out["pendingInput"] = ITEMS_TO_JS.input(pending_input, self.names)
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


def guardrails(results: Any, kind: str) -> list[Json]:
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
            entry["agent"] = agent_ref(result.get("agent"), "guardrail agent")
        out.append(entry)
    return out


def decision_list(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    return list(value or [])
