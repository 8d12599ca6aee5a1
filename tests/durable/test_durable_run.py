"""Durable runs in this process: JSON step checkpoints, pinned names, parallel tools, streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from agents import Agent, function_tool, handoff
from agents.testing import ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext

from timestep.durable import (
    APPLICATION_VERSION,
    _names,
    attach_stream,
    idempotency_key,
    run_durable,
    shutdown,
    system_database_url,
)
from timestep.state import RunStateStore


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("durable") / "runs.db"
    yield f"sqlite:///{path}"
    shutdown()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[RunStateStore]:
    yield RunStateStore(store_url)


def _steps(store_url: str, workflow_id: str) -> list[tuple[int, str, str | None]]:
    engine = sa.create_engine(system_database_url(store_url))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT function_id, function_name, output FROM operation_outputs "
                "WHERE workflow_uuid = :w ORDER BY function_id"
            ),
            {"w": workflow_id},
        ).all()
    engine.dispose()
    return [(int(r[0]), str(r[1]), r[2]) for r in rows]


calls: list[tuple[str, str]] = []


@function_tool
async def lookup(ctx: ToolContext[Any], city: str) -> str:
    """Look up the weather (records each execution)."""
    # the first city sleeps longest, so tasks finish in the reverse of the response order
    await asyncio.sleep({"Oslo": 0.3, "Rome": 0.15}.get(city, 0.0))
    calls.append((ctx.tool_call_id, idempotency_key(ctx)))
    return f"sunny in {city}"


def _agent(steps: list[Any], name: str = "weather") -> Agent[Any]:
    return Agent(name=name, model=ScriptedModel(steps), tools=[lookup])


async def test_model_and_tool_calls_are_json_steps_with_pinned_names(
    store: RunStateStore, store_url: str
) -> None:
    agent = _agent(
        [
            [function_call("lookup", {"city": "Paris"}, call_id="c1")],
            [assistant_message("it is sunny")],
        ]
    )
    result = await run_durable(agent, "weather?", run_id="run-json", store=store)
    assert result.final_output == "it is sunny"
    steps = _steps(store_url, _names.segment_id("run-json", 0))
    assert [name for _id, name, _out in steps] == [
        "timestep.model.get_response",
        "timestep.tool:lookup",
        "timestep.model.get_response",
    ]
    for _id, _name, output in steps:
        json.loads(output or "null")  # every checkpoint is JSON text, not pickle
    assert json.loads(steps[1][2] or "") == {"text": "sunny in Paris"}
    stored = await store.get("run-json")
    assert stored.status == "done" and stored.version == 1


def test_persisted_names_are_pinned() -> None:
    assert APPLICATION_VERSION == "timestep-durable-2"
    assert _names.SEGMENT_WORKFLOW == "timestep.segment"
    assert _names.MODEL_STEP == "timestep.model.get_response"
    assert _names.MODEL_STREAM_STEP == "timestep.model.stream_response"
    assert _names.DECISIONS_STEP == "timestep.approvals.read"
    assert _names.SAVE_STEP == "timestep.state.save"
    assert _names.FORK_BASE_STEP == "timestep.fork.base"
    assert _names.tool_step("pay") == "timestep.tool:pay"
    assert _names.handoff_step("transfer_to_x") == "timestep.handoff:transfer_to_x"
    assert _names.segment_id("r", 3) == "r@3"


async def test_parallel_tool_calls_get_step_ids_in_response_order(
    store: RunStateStore, store_url: str
) -> None:
    calls.clear()
    agent = _agent(
        [
            [
                function_call("lookup", {"city": "Oslo"}, call_id="p1"),
                function_call("lookup", {"city": "Rome"}, call_id="p2"),
                function_call("lookup", {"city": "Lima"}, call_id="p3"),
            ],
            [assistant_message("done")],
        ]
    )
    await run_durable(agent, "three cities", run_id="run-par", store=store)
    assert [c for c, _k in calls] == ["p3", "p2", "p1"]  # finished in reverse order...
    steps = _steps(store_url, _names.segment_id("run-par", 0))
    tool_outputs = [
        json.loads(out or "")["text"] for _i, n, out in steps if n.startswith("timestep.tool")
    ]
    # ...yet their step ids follow the model's response order, as a replay would assign them
    assert tool_outputs == ["sunny in Oslo", "sunny in Rome", "sunny in Lima"]
    keys = {k for _c, k in calls}
    assert len(keys) == 3 and idempotency_key("p1") not in keys  # outside the run: other key


async def test_streamed_run_delivers_live_events_and_a_durable_log(
    store: RunStateStore,
) -> None:
    agent = _agent(
        [
            [function_call("lookup", {"city": "Paris"}, call_id="s1")],
            [assistant_message("sunny")],
        ],
        name="streamer",
    )
    result = await run_durable(agent, "weather?", run_id="run-stream", store=store, stream=True)
    kinds = [getattr(e, "type", "") async for e in result.stream_events()]  # type: ignore[union-attr]
    assert "raw_response_event" in kinds and "run_item_stream_event" in kinds
    assert result.final_output == "sunny"
    assert (await store.get("run-stream")).status == "done"  # saved before the stream ended
    log = [e async for e in attach_stream("run-stream", timeout=10)]
    assert [e["type"] for e in log].count("tool_output") == 1
    assert sum(1 for e in log if e["key"].endswith(":completed")) == 2
    assert log[-1]["type"] == "segment_end" and log[-1]["status"] == "done"


async def test_existing_run_id_is_refused(store: RunStateStore) -> None:
    from timestep import ConfigurationError

    agent = _agent([[assistant_message("hi")]], name="once")
    await run_durable(agent, "hi", run_id="run-once", store=store)
    with pytest.raises(ConfigurationError, match="already exists"):
        await run_durable(
            _agent([[assistant_message("x")]], name="once"), "hi", run_id="run-once", store=store
        )


def test_system_database_sits_next_to_the_store(tmp_path: Path) -> None:
    assert (
        system_database_url(f"sqlite:///{tmp_path}/t.db") == f"sqlite:///{tmp_path}/t.dbos.sqlite"
    )
    assert system_database_url("state.json") == "sqlite:///state.dbos.sqlite"
    assert system_database_url("postgresql://u@h/db") == "postgresql://u@h/db"


async def test_handoffs_and_agents_as_tools_are_steps(store: RunStateStore, store_url: str) -> None:
    helper = Agent(name="helper", model=ScriptedModel([[assistant_message("42")]]))
    specialist = Agent(
        name="specialist",
        model=ScriptedModel(
            [
                [function_call("ask_helper", {"input": "answer?"}, call_id="h1")],
                [assistant_message("the answer is 42")],
            ]
        ),
        tools=[helper.as_tool(tool_name="ask_helper", tool_description="Ask the helper.")],
    )
    handed: list[str] = []
    triage = Agent(
        name="triage",
        model=ScriptedModel([[function_call("transfer_to_specialist", {}, call_id="x1")]]),
        handoffs=[handoff(specialist, on_handoff=lambda _ctx: handed.append("specialist"))],
    )
    result = await run_durable(triage, "question", run_id="run-handoff", store=store)
    assert result.final_output == "the answer is 42"
    assert result.last_agent.name == "specialist"
    names = [name for _i, name, _out in _steps(store_url, _names.segment_id("run-handoff", 0))]
    assert handed == ["specialist"]
    assert names == [
        "timestep.model.get_response",
        "timestep.handoff:transfer_to_specialist",
        "timestep.model.get_response",
        "timestep.tool:ask_helper",
        "timestep.model.get_response",
    ]


class QuotaError(RuntimeError):
    """What a provider raises when the account is out of quota."""


async def test_a_run_failing_in_its_first_segment_is_stored_as_failed(
    store: RunStateStore,
) -> None:
    from agents.testing import ModelStep

    agent = _agent([ModelStep.raise_error(QuotaError("quota exceeded"))], name="broke")
    with pytest.raises(QuotaError):
        await run_durable(agent, "what is the weather in Oslo?", run_id="run-broke", store=store)
    summary = {r.run_id: r for r in await store.list_runs()}["run-broke"]
    assert summary.status == "failed"
    assert summary.latest_version == 0  # its first row (the start), marked failed
    assert summary.metadata["error"] == "QuotaError: quota exceeded"
    state = await store.load("run-broke", agent)  # the input is kept, ready to run again
    assert state._original_input == "what is the weather in Oslo?"
    from timestep.runs import run_detail  # what `runs show` and the inbox print

    detail = await run_detail(store, "run-broke")
    assert detail["error"] == "QuotaError: quota exceeded"
    steps = detail["durable_steps"]
    assert [s["name"] for s in steps] == [_names.MODEL_STEP, _names.SAVE_STEP]
    assert "quota exceeded" in steps[0]["error"]


async def test_a_run_failing_after_an_approval_keeps_its_waiting_state(
    store: RunStateStore,
) -> None:
    from agents.testing import ModelStep

    from timestep.durable import approve

    @function_tool(needs_approval=True)
    async def pay(amount: int) -> str:
        """Pay."""
        return f"paid {amount}"

    agent = Agent(
        name="payer",
        model=ScriptedModel(
            [
                [function_call("pay", {"amount": 5}, call_id="p1")],
                ModelStep.raise_error(QuotaError("later")),
            ]
        ),
        tools=[pay],
    )
    first = await run_durable(agent, "pay 5", run_id="run-pay-fail", store=store)
    assert first.interruptions
    with pytest.raises(QuotaError):
        await approve("run-pay-fail", "p1", store=store, resume=True, agent=agent)
    summary = {r.run_id: r for r in await store.list_runs()}["run-pay-fail"]
    assert (summary.status, summary.latest_version) == ("failed", 1)
    assert summary.metadata["error"] == "QuotaError: later"
