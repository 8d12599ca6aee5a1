"""Real cross-language round trips: Python (openai-agents) <-> Node (@openai/agents) via the store.

Each run crosses languages through a shared SQLite file or Postgres database: one runtime runs
to an interruption and saves a row; the other loads it with its own timestep package (which
translates the state), decides, resumes with the stock SDK and saves. Both runtimes use scripted
models, so nothing leaves the machine. The Node half is ``ts/test/crosslang-driver.ts``; it
needs ``npm --prefix ts ci`` (the build runs here).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, ItemHelpers, RunConfig, Runner, RunResult, RunState
from agents.items import MessageOutputItem, TResponseOutputItem

from harness.node import built_node
from timestep.state import RunStateStore
from vectors.scenarios import (
    REFUND_EXECUTIONS,
    handoff_call,
    refund_call,
    scripted,
    support_agent,
    text,
    triage_agent,
)

TS = Path(__file__).resolve().parents[2] / "ts"
DRIVER = TS / "dist-test" / "test" / "crosslang-driver.js"
CONFIG = RunConfig(tracing_disabled=True)
INPUT = "Refund order 42"

Steps = list[list[dict[str, Any]]]


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with the TypeScript package and its test driver built."""
    return built_node(DRIVER)


@pytest.fixture(autouse=True)
def _clear_executions() -> None:
    REFUND_EXECUTIONS.clear()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database shared by both runtimes."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crosslang.db'}"
    else:
        yield str(request.getfixturevalue("postgres_db_url"))


def run_node(
    node: str, action: str, url: str, run_id: str, graph: str, steps: Steps, decision: str = ""
) -> dict[str, Any]:
    args = [node, str(DRIVER), action, url, run_id, graph, json.dumps(steps)]
    if decision:
        args.append(decision)
    done = subprocess.run(args, cwd=TS, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"node {action} failed:\n{done.stdout}\n{done.stderr}")
    facts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return facts


def _outputs(spec: list[dict[str, Any]]) -> list[TResponseOutputItem]:
    out: list[TResponseOutputItem] = []
    for item in spec:
        if "text" in item:
            out.append(text(item["text"]))
        elif "refund" in item:
            out.append(refund_call(item["refund"], item.get("order", "42"), item.get("amount", 5)))
        elif "handoff" in item:
            out.append(handoff_call(item["handoff"]))
        else:
            raise ValueError(item)
    return out


def py_graph(graph: str, steps: Steps, *, starting: bool) -> Agent[Any]:
    models = [_outputs(step) for step in steps]
    if graph == "support":
        return support_agent(scripted(*models))
    if starting:
        return triage_agent(scripted(*models[:1]), scripted(*models[1:]))
    return triage_agent(scripted(), scripted(*models))


async def py_start(url: str, run_id: str, graph: str, steps: Steps) -> RunResult:
    result = await Runner.run(py_graph(graph, steps, starting=True), INPUT, run_config=CONFIG)
    async with RunStateStore(url) as store:
        await store.save(result, run_id=run_id)
    return result


async def py_resume(url: str, run_id: str, graph: str, steps: Steps, decision: str) -> RunResult:
    agent = py_graph(graph, steps, starting=False)
    async with RunStateStore(url) as store:
        state = await store.load(run_id, agent)
        for item in state.get_interruptions():
            if decision == "approve":
                state.approve(item)
            elif decision.startswith("reject:"):
                state.reject(item, rejection_message=decision.removeprefix("reject:"))
            else:
                raise ValueError(decision)
        result = await Runner.run(agent, state, run_config=CONFIG)
        await store.save(result, run_id=run_id)
    return result


async def py_final_output(url: str, run_id: str, graph: str) -> tuple[str, str, str]:
    """(language of the latest row, its status, the final answer read back by Python)."""
    async with RunStateStore(url) as store:
        row = await store.get(run_id)
        state: RunState[Any, Agent[Any]] = await store.load(
            run_id, py_graph(graph, [], starting=False)
        )
    messages = [i for i in state._generated_items if isinstance(i, MessageOutputItem)]
    assert messages, "the finished state has no final message"
    return row.language, row.status, ItemHelpers.text_message_output(messages[-1])


def _tool_outputs(result: RunResult) -> list[Any]:
    return [i.output for i in result.new_items if i.type == "tool_call_output_item"]


REFUND = [[{"refund": "call_1"}]]


async def test_python_interrupts_node_approves_and_finishes(node: str, store_url: str) -> None:
    first = await py_start(store_url, "r1", "support", REFUND)
    assert [i.raw_item.call_id for i in first.interruptions] == ["call_1"]  # type: ignore[union-attr]

    facts = run_node(node, "resume", store_url, "r1", "support", [[{"text": "JS refunded."}]])
    assert facts["finalOutput"] == "JS refunded."
    assert (facts["toolOutputs"], facts["executed"]) == (["refunded 42 5"], ["42/5"])
    assert REFUND_EXECUTIONS == []
    assert (facts["language"], facts["status"], facts["version"]) == ("typescript", "done", 2)

    final = await py_final_output(store_url, "r1", "support")
    assert final == ("typescript", "done", "JS refunded.")


async def test_node_interrupts_python_approves_and_finishes(node: str, store_url: str) -> None:
    facts = run_node(node, "start", store_url, "r2", "support", REFUND)
    assert (facts["interruptions"], facts["status"]) == (["call_1"], "waiting")

    result = await py_resume(store_url, "r2", "support", [[{"text": "Py refunded."}]], "approve")
    assert result.final_output == "Py refunded."
    assert _tool_outputs(result) == ["refunded 42 5"]
    assert REFUND_EXECUTIONS == ["42/5"]
    assert await py_final_output(store_url, "r2", "support") == ("python", "done", "Py refunded.")


async def test_ping_pong_crosses_languages_twice(node: str, store_url: str) -> None:
    await py_start(store_url, "r3", "support", REFUND)
    facts = run_node(
        node,
        "resume",
        store_url,
        "r3",
        "support",
        [[{"refund": "call_2", "order": "43", "amount": 7}]],
        "approve",
    )
    assert (facts["interruptions"], facts["status"]) == (["call_2"], "waiting")
    assert facts["executed"] == ["42/5"]

    result = await py_resume(store_url, "r3", "support", [[{"text": "Both done."}]], "approve")
    assert result.final_output == "Both done."
    # call_1 ran once (in Node); only call_2 runs now, in Python.
    assert REFUND_EXECUTIONS == ["43/7"]
    assert _tool_outputs(result) == ["refunded 42 5", "refunded 43 7"]

    # And the other way round: Node -> Python -> Node.
    REFUND_EXECUTIONS.clear()
    facts = run_node(node, "start", store_url, "r3b", "support", REFUND)
    result = await py_resume(
        store_url,
        "r3b",
        "support",
        [[{"refund": "call_2", "order": "43", "amount": 7}]],
        "approve",
    )
    assert [i.raw_item.call_id for i in result.interruptions] == ["call_2"]  # type: ignore[union-attr]
    assert REFUND_EXECUTIONS == ["42/5"]
    facts = run_node(node, "resume", store_url, "r3b", "support", [[{"text": "Done."}]])
    assert (facts["finalOutput"], facts["executed"], facts["version"]) == ("Done.", ["43/7"], 3)


async def test_node_rejects_python_call_with_message(node: str, store_url: str) -> None:
    await py_start(store_url, "r4", "support", REFUND)
    facts = run_node(
        node,
        "resume",
        store_url,
        "r4",
        "support",
        [[{"text": "No refund then."}]],
        "reject:Refunds need a manager.",
    )
    assert (facts["toolOutputs"], facts["executed"]) == (["Refunds need a manager."], [])
    assert await py_final_output(store_url, "r4", "support") == (
        "typescript",
        "done",
        "No refund then.",
    )


async def test_python_rejects_node_call_with_message(node: str, store_url: str) -> None:
    run_node(node, "start", store_url, "r5", "support", REFUND)
    result = await py_resume(
        store_url, "r5", "support", [[{"text": "No refund."}]], "reject:Too much."
    )
    assert _tool_outputs(result) == ["Too much."]
    assert result.final_output == "No refund."
    assert REFUND_EXECUTIONS == []


HANDOFF = [[{"handoff": "call_h"}], [{"refund": "call_1"}]]


async def test_handoff_state_python_to_node(node: str, store_url: str) -> None:
    first = await py_start(store_url, "r6", "triage", HANDOFF)
    assert first.last_agent.name == "support"
    facts = run_node(node, "resume", store_url, "r6", "triage", [[{"text": "Support done."}]])
    assert (facts["currentAgent"], facts["finalOutput"]) == ("support", "Support done.")
    assert facts["toolOutputs"] == ["refunded 42 5"]


async def test_handoff_state_node_to_python(node: str, store_url: str) -> None:
    facts = run_node(node, "start", store_url, "r7", "triage", HANDOFF)
    assert (facts["currentAgent"], facts["interruptions"]) == ("support", ["call_1"])
    result = await py_resume(
        store_url, "r7", "triage", [[{"text": "Support done in Py."}]], "approve"
    )
    assert result.last_agent.name == "support"
    assert result.final_output == "Support done in Py."
    assert _tool_outputs(result) == ["refunded 42 5"]


async def test_file_store_round_trip(node: str, tmp_path: Path) -> None:
    """The JSON file store is shared too: Python pauses, Node finishes, Python reads."""
    url = str(tmp_path / "ticket.json")
    await py_start(url, "ticket", "support", REFUND)
    facts = run_node(node, "resume", url, "ticket", "support", [[{"text": "Filed."}]])
    assert facts["finalOutput"] == "Filed."
    assert (facts["version"], facts["language"]) == (2, "typescript")
    assert await py_final_output(url, "ticket", "support") == ("typescript", "done", "Filed.")
