"""Durable approvals: decisions recorded with an audit trail, typed errors, races, resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from agents import Agent, function_tool
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext

from timestep import RunNotFoundError
from timestep._errors import ApprovalAlreadyDecidedError, RunNotWaitingError, UnknownCallError
from timestep.durable import approve, reject, resume, run_durable, shutdown
from timestep.state import RunStateStore

executed: list[str] = []


@function_tool(needs_approval=True)
async def refund(ctx: ToolContext[Any], order: int) -> str:
    """Refund an order."""
    executed.append(ctx.tool_call_id)
    return f"refunded {order}"


def _respond(call: ModelCall) -> Any:
    items = call.input if isinstance(call.input, list) else []
    outputs = [i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
    if not outputs:
        return [function_call("refund", {"order": 42}, call_id="call_r")]
    return [assistant_message(f"tool said: {outputs[-1].get('output')}")]


def _agent() -> Agent[Any]:
    model = ScriptedModel([ModelStep.respond(_respond) for _ in range(20)])
    return Agent(name="refunder", model=model, tools=[refund])


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield f"sqlite:///{tmp_path_factory.mktemp('approvals') / 'runs.db'}"
    shutdown()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[RunStateStore]:
    yield RunStateStore(store_url)


async def _paused(store: RunStateStore, run_id: str) -> None:
    result = await run_durable(_agent(), "refund order 42", run_id=run_id, store=store)
    assert [i.name for i in result.interruptions] == ["refund"]
    stored = await store.get(run_id)
    assert stored.status == "waiting"
    assert [p.call_id for p in stored.pending_approvals] == ["call_r"]


def _decisions(store: RunStateStore, run_id: str) -> list[tuple[Any, ...]]:
    with sa.create_engine(store.target).connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT call_id, decision, reason, decided_by, state_version "
                "FROM timestep_approvals WHERE run_id = :r ORDER BY id"
            ),
            {"r": run_id},
        ).all()
    return [tuple(r) for r in rows]


async def test_approve_then_resume_runs_the_tool_once(store: RunStateStore) -> None:
    executed.clear()
    await _paused(store, "ap-1")
    assert executed == []
    with pytest.raises(UnknownCallError):
        await approve("ap-1", "call_nope", by="alice", store=store)
    assert _decisions(store, "ap-1") == []  # the failed call changed nothing
    decision = await approve("ap-1", "call_r", by="alice", store=store)
    assert (decision.call_id, decision.state_version, decision.all_decided) == ("call_r", 1, True)
    with pytest.raises(ApprovalAlreadyDecidedError):
        await reject("ap-1", "call_r", reason="changed my mind", store=store)
    assert _decisions(store, "ap-1") == [("call_r", "approve", None, "alice", 1)]
    result = await resume("ap-1", store=store, agent=_agent())
    assert result is not None and result.final_output == "tool said: refunded 42"
    assert executed == ["call_r"]
    assert [v.status for v in await store.versions("ap-1")] == ["running", "waiting", "done"]
    with pytest.raises(RunNotWaitingError):
        await approve("ap-1", "call_r", store=store)
    with pytest.raises(RunNotFoundError):
        await approve("no-such-run", "call_r", store=store)


async def test_reject_sends_the_reason_and_skips_the_tool(store: RunStateStore) -> None:
    executed.clear()
    await _paused(store, "rj-1")
    await reject("rj-1", reason="not allowed", by="bob", store=store)
    result = await resume("rj-1", store=store, agent=_agent())
    assert result is not None and result.final_output == "tool said: not allowed"
    assert executed == []
    assert _decisions(store, "rj-1") == [("call_r", "reject", "not allowed", "bob", 1)]


async def test_racing_approvals_exactly_one_wins(store: RunStateStore) -> None:
    for n in range(3):
        run_id = f"race-{n}"
        await _paused(store, run_id)
        outcomes = await asyncio.gather(
            approve(run_id, "call_r", by="a", store=store),
            reject(run_id, "call_r", reason="no", by="b", store=store),
            approve(run_id, "call_r", by="c", store=store),
            return_exceptions=True,
        )
        wins = [o for o in outcomes if not isinstance(o, BaseException)]
        losses = [o for o in outcomes if isinstance(o, ApprovalAlreadyDecidedError)]
        assert len(wins) == 1 and len(losses) == 2
        assert len(_decisions(store, run_id)) == 1


async def test_approve_without_call_id_on_a_decided_call_is_already_decided(
    store: RunStateStore,
) -> None:
    await _paused(store, "dd-1")
    await approve("dd-1", by="alice", store=store)
    with pytest.raises(ApprovalAlreadyDecidedError, match="already decided"):
        await approve("dd-1", by="bob", store=store)
    with pytest.raises(ApprovalAlreadyDecidedError):
        await reject("dd-1", by="bob", store=store)
    assert _decisions(store, "dd-1") == [("call_r", "approve", None, "alice", 1)]


async def test_racing_resumes_exactly_one_wins(store: RunStateStore) -> None:
    executed.clear()
    await _paused(store, "rr-1")
    await approve("rr-1", store=store)
    outcomes = await asyncio.gather(
        resume("rr-1", store=store, agent=_agent()),
        resume("rr-1", store=store, agent=_agent()),
        return_exceptions=True,
    )
    assert sum(1 for o in outcomes if isinstance(o, RunNotWaitingError)) == 1
    assert executed == ["call_r"]
    assert (await store.get("rr-1")).status == "done"
