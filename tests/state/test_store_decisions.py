"""Decisions, claims and run summaries owned by the store, on SQLite, Postgres and files."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import Agent, Runner
from agents.testing import ScriptedModel, function_call

from harness.refund_agent import REFUND_CALL_ID, build_agent, refund, start_model
from timestep import (
    ApprovalAlreadyDecidedError,
    ApprovalError,
    ConfigurationError,
    RunNotFoundError,
    RunNotWaitingError,
    RunStateStore,
    UnknownCallError,
)


async def _waiting(store: RunStateStore, run_id: str, agent: Agent[Any] | None = None) -> None:
    result = await Runner.run(agent or build_agent(start_model()), "Refund order 42")
    assert result.interruptions
    await store.save(result, run_id=run_id)


def _two_calls() -> Agent[Any]:
    calls = [
        function_call("refund", {"order_id": "1", "amount": 5}, call_id="call_a"),
        function_call("refund", {"order_id": "2", "amount": 7}, call_id="call_b"),
    ]
    return Agent(name="support", model=ScriptedModel([calls]), tools=[refund])


async def test_decide_names_the_only_undecided_call_and_records_who(db_target: str) -> None:
    store = RunStateStore(db_target)
    await _waiting(store, "r1")
    outcome = await store.decide("r1", None, "approve", reason="ok", decided_by="alice")
    assert outcome.all_decided
    record = outcome.record
    assert (record.call_id, record.tool_name, record.state_version) == (REFUND_CALL_ID, "refund", 1)
    assert (record.decision, record.reason, record.decided_by) == ("approve", "ok", "alice")
    assert await store.decisions("r1") == [record]
    assert await store.decisions("r1", version=2) == []
    assert await store.ready_to_resume() == ["r1"]

    with pytest.raises(ApprovalAlreadyDecidedError, match="already approved by alice"):
        await store.decide("r1", REFUND_CALL_ID, "reject", decided_by="bob")
    with pytest.raises(ApprovalAlreadyDecidedError, match="every pending call"):
        await store.decide("r1", None, "reject")
    assert await store.decisions("r1") == [record]  # the refused decisions wrote nothing


async def test_decide_refuses_and_changes_nothing(db_target: str) -> None:
    store = RunStateStore(db_target)
    await _waiting(store, "two", _two_calls())
    with pytest.raises(ApprovalError, match=r"2 undecided calls \(call_a, call_b\)"):
        await store.decide("two", None, "approve")
    with pytest.raises(UnknownCallError, match="pending: call_a, call_b"):
        await store.decide("two", "call_nope", "approve")
    with pytest.raises(RunNotFoundError):
        await store.decide("nope", None, "approve")
    assert await store.decisions("two") == []

    first = await store.decide("two", "call_a", "reject", reason="too much")
    assert not first.all_decided
    assert await store.ready_to_resume() == []
    second = await store.decide("two", None, "approve")  # the only undecided call left
    assert second.record.call_id == "call_b" and second.all_decided
    assert await store.ready_to_resume() == ["two"]

    await store.set_status("two", "done")
    with pytest.raises(RunNotWaitingError, match="is done"):
        await store.decide("two", "call_a", "approve")


async def test_of_racing_claims_exactly_one_wins(db_target: str) -> None:
    store = RunStateStore(db_target)
    await _waiting(store, "r1")
    await store.decide("r1", None, "approve")
    assert not await store.claim("r1", 2)  # not the waiting version
    wins = await asyncio.gather(*(RunStateStore(db_target).claim("r1", 1) for _ in range(4)))
    assert sorted(wins) == [False, False, False, True]
    summary = await store.run("r1")
    assert (summary.status, summary.latest_version) == ("running", 1)
    # reading the decisions claims too, and still returns them once the run is running
    [decision] = await store.claim_decisions("r1", 1)
    assert decision.call_id == REFUND_CALL_ID
    assert await store.ready_to_resume() == []


async def test_change_marker_moves_with_runs_and_decisions(db_target: str) -> None:
    store = RunStateStore(db_target)
    empty = await store.change_marker()
    await _waiting(store, "r1")
    saved = await store.change_marker()
    assert saved != empty
    assert await store.change_marker() == saved  # reading changes nothing
    await store.decide("r1", None, "approve")
    assert await store.change_marker() != saved


async def test_run_summary(store_target: str) -> None:
    store = RunStateStore(store_target)
    with pytest.raises(RunNotFoundError):
        await store.run("r1")
    await _waiting(store, "r1")
    summary = await store.run("r1")
    assert (summary.run_id, summary.status, summary.latest_version) == ("r1", "waiting", 1)
    assert [p.call_id for p in summary.pending_approvals] == [REFUND_CALL_ID]


async def test_a_file_store_keeps_no_decisions(tmp_path: Any) -> None:
    store = RunStateStore(str(tmp_path / "state.json"))
    assert await store.change_marker() is None
    await _waiting(store, "r1")
    assert await store.change_marker() is not None
    assert await store.decisions() == []
    assert await store.ready_to_resume() == []
    with pytest.raises(ConfigurationError, match="is a file, not a database"):
        await store.decide("r1", None, "approve")
    with pytest.raises(ConfigurationError, match="is a file, not a database"):
        await store.claim("r1", 1)
    with pytest.raises(ConfigurationError, match="only database stores have migrations"):
        store.upgrade()
