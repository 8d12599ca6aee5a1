"""``create_run``: a run's first row (version 0, ``running``), once, in every kind of store."""

from __future__ import annotations

import asyncio
from typing import Any

from agents import Agent, RunContextWrapper, Runner, RunState

from harness.refund_agent import build_agent, full_model, start_model
from timestep import RunStateStore, StaleStateError


def _start(agent: Agent[Any]) -> RunState[Any, Agent[Any]]:
    return RunState(
        context=RunContextWrapper(context=None),
        original_input="Refund order 42",
        starting_agent=agent,
        max_turns=5,
    )


async def test_create_run_writes_version_zero_once(store_target: str) -> None:
    agent = build_agent(start_model())
    store = RunStateStore(store_target)
    created = await store.create_run(_start(agent), run_id="r1", metadata={"durable_agent": "a"})
    assert created is not None and (created.version, created.status) == (0, "running")
    again = await store.create_run(_start(agent), run_id="r1", metadata={"other": 1})
    assert again is None  # a repeated start writes nothing
    (summary,) = await store.list_runs()
    assert (summary.run_id, summary.status, summary.latest_version) == ("r1", "running", 0)
    assert summary.agent_name == agent.name and summary.metadata == {"durable_agent": "a"}
    start = await store.load("r1", agent)
    assert start._original_input == "Refund order 42"

    waiting = await Runner.run(agent, "Refund order 42")
    try:
        await store.save(waiting, run_id="r1", expected_version=1)
        raise AssertionError("a save based on version 1 must be stale")
    except StaleStateError as error:
        assert error.actual == 0
    saved = await store.save(waiting, run_id="r1", expected_version=0)
    assert (saved.version, saved.status) == (1, "waiting")
    assert [(v.version, v.status) for v in await store.versions("r1")] == [
        (0, "running"),
        (1, "waiting"),
    ]
    (summary,) = await store.list_runs()
    assert summary.metadata == {"durable_agent": "a"}  # kept by later saves
    assert await store.create_run(_start(agent), run_id="r1") is None


async def test_concurrent_first_rows_one_wins(store_target: str) -> None:
    agent = build_agent(full_model())
    stores = [RunStateStore(store_target) for _ in range(4)]
    results = await asyncio.gather(
        *(s.create_run(_start(agent), run_id="race", status="running") for s in stores)
    )
    assert sum(r is not None for r in results) == 1
    assert [v.version for v in await stores[0].versions("race")] == [0]
