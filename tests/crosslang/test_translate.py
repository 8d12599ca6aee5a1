"""Every shared vector in the Python runtime: exact translations, ledgers, and real SDK resumes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner, RunState

from timestep._errors import (
    CorruptStateError,
    TranslationError,
    UnsupportedSchemaVersionError,
    UnsupportedStateFeatureError,
)
from timestep.state.translate import detect_language, to_language, to_python, to_typescript
from vectors.scenarios import (
    REFUND_EXECUTIONS,
    scripted,
    structured_agent,
    support_agent,
    text,
    triage_agent,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SHAPES = sorted(p.name for p in VECTORS.iterdir() if (p / "python.json").exists())
CONFIG = RunConfig(tracing_disabled=True)


def _read(shape: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / shape / name).read_text())
    return data


def _agent(shape: str, final: str = "ok") -> Agent[Any]:
    if shape == "handoff":
        return triage_agent(scripted(), scripted([text(final)]))
    if shape == "structured_output":
        return structured_agent(scripted())
    return support_agent(scripted([text(final)]), guarded=shape == "input_guardrail")


def _call_ids(state: RunState[Any, Agent[Any]]) -> list[str]:
    return [str(getattr(item.raw_item, "call_id", "")) for item in state.get_interruptions()]


def test_vectors_cover_the_issue_shapes() -> None:
    required = {
        "single_approval",
        "multiple_approvals",
        "approved",
        "rejected_with_message",
        "always_approve",
        "always_reject",
        "handoff",
        "usage_details",
        "reasoning",
        "streamed",
        "conversation_id",
        "input_guardrail",
        "structured_output",
    }
    assert required <= set(SHAPES)
    for shape in SHAPES:
        assert (VECTORS / shape / "typescript.json").exists(), shape


@pytest.mark.parametrize("shape", SHAPES)
def test_detects_the_writer(shape: str) -> None:
    assert detect_language(_read(shape, "python.json")) == "python"
    assert detect_language(_read(shape, "typescript.json")) == "typescript"


@pytest.mark.parametrize("shape", SHAPES)
def test_python_to_typescript_matches_expected(shape: str) -> None:
    assert to_typescript(_read(shape, "python.json")) == _read(shape, "python.to_typescript.json")


@pytest.mark.parametrize("shape", SHAPES)
def test_typescript_to_python_matches_expected(shape: str) -> None:
    assert to_python(_read(shape, "typescript.json")) == _read(shape, "typescript.to_python.json")


@pytest.mark.parametrize("shape", SHAPES)
def test_ledgers_equal_what_each_sdk_writes_itself(shape: str) -> None:
    """Both SDKs ran the same scenario, so the rebuilt ledgers must equal the native ones."""
    python = _read(shape, "python.json")
    typescript = _read(shape, "typescript.json")
    translated_py = to_python(typescript)
    assert translated_py["context"]["tool_invocations"] == python["context"]["tool_invocations"]
    assert translated_py["context"].get("function_tool_approvals") == python["context"].get(
        "function_tool_approvals"
    )
    translated_js = to_typescript(python)
    assert (
        translated_js["context"]["approvalInvocations"]
        == typescript["context"]["approvalInvocations"]
    )
    assert translated_js["context"].get("functionApprovals") == typescript["context"].get(
        "functionApprovals"
    )
    assert translated_js["completedToolInvocations"] == typescript["completedToolInvocations"]


@pytest.mark.parametrize("shape", SHAPES)
async def test_python_sdk_loads_translated_typescript_state(shape: str) -> None:
    translated = await RunState.from_json(_agent(shape), to_python(_read(shape, "typescript.json")))
    native = await RunState.from_json(_agent(shape), _read(shape, "python.json"))
    assert _call_ids(translated) == _call_ids(native)
    assert translated._current_agent is not None and native._current_agent is not None
    assert translated._current_agent.name == native._current_agent.name
    assert translated._context is not None and native._context is not None
    assert translated._context.usage == native._context.usage


FINISHED = ("completed", "structured_output")
RESUMABLE = [s for s in SHAPES if s not in (*FINISHED, "conversation_id")]


@pytest.mark.parametrize("shape", RESUMABLE)
async def test_python_sdk_resumes_translated_typescript_state(shape: str) -> None:
    agent = _agent(shape, "finished")
    state = await RunState.from_json(agent, to_python(_read(shape, "typescript.json")))
    for item in state.get_interruptions():
        state.approve(item)
    result = await Runner.run(agent, state, run_config=CONFIG)
    assert result.interruptions == []
    assert result.final_output == "finished"


async def test_decision_made_in_typescript_is_honoured_by_python() -> None:
    """A JS rejection with a message reaches the Python model as the tool output."""
    agent = support_agent(scripted([text("understood")]))
    translated = to_python(_read("rejected_with_message", "typescript.json"))
    state = await RunState.from_json(agent, translated)
    result = await Runner.run(agent, state, run_config=CONFIG)
    assert result.final_output == "understood"
    outputs = [i.raw_item for i in result.new_items if i.type == "tool_call_output_item"]
    assert [o["output"] for o in outputs if isinstance(o, dict)] == ["Refunds need a manager."]


async def test_python_ignores_a_decision_without_ledger_entry() -> None:
    """Why the ledger matters: drop it and Python silently interrupts again."""
    agent = support_agent(scripted([text("never reached")]))
    translated = to_python(_read("approved", "typescript.json"))
    translated["context"]["tool_invocations"] = {}
    state = await RunState.from_json(agent, translated)
    result = await Runner.run(agent, state, run_config=CONFIG)
    assert [getattr(i.raw_item, "call_id", None) for i in result.interruptions] == ["call_1"]


def test_round_trip_keeps_python_state_facts() -> None:
    python = _read("mixed_decisions", "python.json")
    back = to_python(to_typescript(python))
    assert back["context"]["tool_invocations"] == python["context"]["tool_invocations"]
    assert (
        back["context"]["function_tool_approvals"] == python["context"]["function_tool_approvals"]
    )
    pending = back["current_step"]["data"]["interruptions"]
    native = python["current_step"]["data"]["interruptions"]
    assert [(i["raw_item"]["call_id"], i["tool_lookup_key"]) for i in pending] == [
        (i["raw_item"]["call_id"], i["tool_lookup_key"]) for i in native
    ]


def test_usage_details_survive_both_directions() -> None:
    js = to_typescript(_read("usage_details", "python.json"))
    assert js["context"]["usage"]["inputTokensDetails"] == [
        {"cache_write_tokens": 1, "cached_tokens": 3}
    ]
    assert js["context"]["usage"]["outputTokensDetails"] == [{"reasoning_tokens": 2}]
    py = to_python(_read("usage_details", "typescript.json"))
    assert py["context"]["usage"]["input_tokens_details"] == [
        {"cache_write_tokens": 1, "cached_tokens": 3, "cache_write_tokens_details": None}
    ]


def test_same_language_is_returned_unchanged() -> None:
    python = _read("single_approval", "python.json")
    assert to_python(python) == python
    typescript = _read("single_approval", "typescript.json")
    assert to_typescript(typescript) == typescript
    assert to_language(python, "typescript") == to_typescript(python)


@pytest.mark.parametrize(("name", "version"), [("python.json", "1.20"), ("typescript.json", "2.0")])
def test_unknown_schema_version_is_a_typed_error(name: str, version: str) -> None:
    state = _read("single_approval", name)
    state["$schemaVersion"] = version
    convert = to_typescript if name == "python.json" else to_python
    with pytest.raises(UnsupportedSchemaVersionError, match=version.replace(".", r"\.")):
        convert(state)


def test_unsupported_python_feature_names_feature_and_versions() -> None:
    state = _read("single_approval", "python.json")
    state["context"]["hosted_mcp_approvals"] = [{"identity": {}, "decision": {}}]
    with pytest.raises(UnsupportedStateFeatureError) as info:
        to_typescript(state)
    assert info.value.feature == "hosted MCP approvals"
    assert "1.21" in str(info.value) and "1.22" in str(info.value)


def test_unsupported_js_feature_names_feature() -> None:
    state = _read("single_approval", "typescript.json")
    state["generatedItems"][0]["rawItem"]["namespace"] = "billing"
    with pytest.raises(UnsupportedStateFeatureError, match="namespaced function tools"):
        to_python(state)


def test_non_text_tool_output_is_refused() -> None:
    state = _read("second_interruption", "python.json")
    state = copy.deepcopy(state)
    for item in state["generated_items"]:
        if item["type"] == "tool_call_output_item":
            item["raw_item"]["output"] = [{"type": "input_image", "image_url": "x"}]
    with pytest.raises(UnsupportedStateFeatureError, match="only text tool outputs"):
        to_typescript(state)


def test_garbage_is_a_corrupt_state_error() -> None:
    with pytest.raises(CorruptStateError):
        detect_language({"hello": 1})
    broken = _read("single_approval", "typescript.json")
    del broken["context"]
    with pytest.raises(CorruptStateError, match="context"):
        to_python(broken)
    assert not issubclass(CorruptStateError, TranslationError)


FINGERPRINTS = json.loads((VECTORS / "fingerprints.json").read_text())
TRICKY_ARGUMENTS = [case["arguments"] for case in FINGERPRINTS["cases"]]


@pytest.mark.parametrize("arguments", TRICKY_ARGUMENTS)
def test_python_ledger_hash_equals_the_sdk_function(arguments: str) -> None:
    from agents._tool_invocation import tool_invocation_identity_and_scope

    from timestep.state.translate._py_identity import python_fingerprint, python_scope

    raw = {"type": "function_call", "call_id": "c", "name": "refund", "arguments": arguments}
    identity = tool_invocation_identity_and_scope(raw, tool_lookup_key=("bare", "refund"))
    assert identity is not None
    _, _, scope, fingerprint = identity
    assert python_scope("refund") == scope
    assert python_fingerprint(scope, arguments) == fingerprint


def test_fingerprint_vector_is_current() -> None:
    from timestep.state.translate._js_identity import bare_state_key, function_call_fingerprint
    from timestep.state.translate._py_identity import python_fingerprint

    for case in FINGERPRINTS["cases"]:
        scope = FINGERPRINTS["python_scope"]
        assert python_fingerprint(scope, case["arguments"]) == case["python_fingerprint"]
        js = function_call_fingerprint(bare_state_key("refund"), case["arguments"])
        assert js == case["js_fingerprint"]


def test_guardrail_results_and_structured_output_cross_over() -> None:
    js = to_typescript(_read("structured_output", "python.json"))
    assert js["currentStep"] == {
        "type": "next_step_final_output",
        "output": '{"order_id":"42","amount":5}',
    }
    native = _read("structured_output", "typescript.json")
    assert js["outputGuardrailResults"] == native["outputGuardrailResults"]
    py = to_python(_read("input_guardrail", "typescript.json"))
    assert (
        py["input_guardrail_results"]
        == _read("input_guardrail", "python.json")["input_guardrail_results"]
    )


DECIDED = {
    "approved": (["42/5"], ["refunded 42 5"]),
    "always_approve": (["42/5"], ["refunded 42 5"]),
    "rejected_with_message": ([], ["Refunds need a manager."]),
    "mixed_decisions": (["42/5"], ["refunded 42 5", "Too much."]),
    "always_reject": ([], None),  # the SDK's default rejection text differs per language
}


@pytest.mark.parametrize("shape", sorted(DECIDED))
async def test_typescript_decisions_are_honoured_by_python_without_deciding_again(
    shape: str,
) -> None:
    executions, outputs = DECIDED[shape]
    REFUND_EXECUTIONS.clear()
    agent = support_agent(scripted([text("after the decisions")]))
    state = await RunState.from_json(agent, to_python(_read(shape, "typescript.json")))
    result = await Runner.run(agent, state, run_config=CONFIG)
    assert result.interruptions == []
    assert result.final_output == "after the decisions"
    assert executions == REFUND_EXECUTIONS
    produced = [i.output for i in result.new_items if i.type == "tool_call_output_item"]
    if outputs is None:
        assert len(produced) == 1 and "refunded" not in str(produced[0])
    else:
        assert produced == outputs


async def test_conversation_items_written_by_js_feed_a_python_run() -> None:
    """Session history crosses over: JS items -> Python items -> a Python session and model."""
    from agents import SQLiteSession

    from timestep.state.translate import items_to_python, items_to_typescript

    js = _read("completed", "typescript.json")
    history = [{"type": "message", "role": "user", "content": js["originalInput"]}]
    history += [item["rawItem"] for item in js["generatedItems"]]
    session = SQLiteSession("from-js")
    await session.add_items(items_to_python(history))  # type: ignore[arg-type]
    model = scripted([text("continued in Python")])
    result = await Runner.run(support_agent(model), "thanks", session=session, run_config=CONFIG)
    assert result.final_output == "continued in Python"
    call = model.first_call
    assert call is not None and isinstance(call.input, list)
    sent = [(i.get("type"), i.get("call_id"), i.get("output")) for i in call.input]
    assert ("function_call", "call_1", None) in sent
    assert ("function_call_output", "call_1", "refunded 42 5") in sent

    back = items_to_typescript(await session.get_items())
    assert [(i.get("type"), i.get("role"), i.get("callId")) for i in back[: len(history)]] == [
        (i.get("type"), i.get("role"), i.get("callId")) for i in history
    ]
    assert back[2]["output"] == {"type": "text", "text": "refunded 42 5"}
    assert back[2]["name"] == "refund"
