"""Postgres writes a run's first row and a compare-and-set append in one statement each
(``timestep.state._pg_writes``): the same outcomes as the transactional path, under races and
with stored metadata the statement cannot merge."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from agents import Runner
from sqlalchemy import text

from harness.refund_agent import build_agent, start_model
from timestep import RunStateStore, StaleStateError
from timestep.state._engine import get_engine


async def _doc() -> dict[str, Any]:
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    doc: dict[str, Any] = result.to_state().to_json()
    return doc


def _set_metadata(url: str, run_id: str, raw: str | None) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(
            text("UPDATE timestep_runs SET metadata = :m WHERE run_id = :r"),
            {"m": raw, "r": run_id},
        )


async def test_racing_appends_on_one_base_write_exactly_one_version(postgres_db_url: str) -> None:
    store = RunStateStore(postgres_db_url)
    doc = await _doc()
    await store.save_json("r1", doc)  # version 1
    # threads of their own, so the 8 appends of each round really race in the database
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=8))
    for base in (1, 2, 3):
        results = await asyncio.gather(
            *(store.save_json("r1", doc, expected_version=base) for _ in range(8)),
            return_exceptions=True,
        )
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert [w.version for w in won] == [base + 1], results
        assert all(isinstance(e, StaleStateError) and e.actual == base + 1 for e in lost)
    assert [v.version for v in await store.versions("r1")] == [1, 2, 3, 4]
    assert (await store.run("r1")).latest_version == 4
    marker = await store.change_marker()
    with pytest.raises(StaleStateError) as caught:
        await store.save_json("r1", doc, expected_version=2)
    assert (caught.value.expected, caught.value.actual) == (2, 4)
    assert await store.change_marker() == marker  # a refused append changes nothing


async def test_first_rows_race_one_creates(postgres_db_url: str) -> None:
    store = RunStateStore(postgres_db_url)
    state = (await Runner.run(build_agent(start_model()), "Refund order 42")).to_state()
    created = await asyncio.gather(
        *(store.create_run(state, run_id="first", metadata={"n": i}) for i in range(6))
    )
    winners = [c for c in created if c is not None]
    assert len(winners) == 1 and winners[0].version == 0
    [summary] = await store.list_runs()
    assert summary.metadata["n"] in range(6) and summary.latest_version == 0
    assert [v.version for v in await store.versions("first")] == [0]


async def test_metadata_merges_and_unmergeable_metadata_is_kept(postgres_db_url: str) -> None:
    store = RunStateStore(postgres_db_url)
    doc = await _doc()
    await store.save_json("m", doc, metadata={"a": 1, "agent": "x", "ü": "é"})
    await store.save_json("m", doc, expected_version=1, metadata={"agent": "y", "b": [1, 2]})
    run = await store.run("m")
    assert run.metadata == {"a": 1, "agent": "y", "ü": "é", "b": [1, 2]}
    await store.save_json("m", doc, expected_version=2)  # no metadata: left as it was
    assert (await store.run("m")).metadata == run.metadata
    # stored metadata the statement cannot merge: not JSON, JSON but no object, empty
    for version, raw, kept in [
        (3, "not json {", {"unreadable_metadata": "not json {"}),
        (4, "[1, 2]", {"unreadable_metadata": "[1, 2]"}),
        (5, "", {}),
    ]:
        _set_metadata(postgres_db_url, "m", raw)
        stored = await store.save_json("m", doc, expected_version=version, metadata={"k": version})
        assert stored.version == version + 1
        assert (await store.run("m")).metadata == {**kept, "k": version}, raw
    with get_engine(postgres_db_url).connect() as conn:
        raw_now: str = conn.execute(text("SELECT metadata FROM timestep_runs")).scalar_one()
    assert json.loads(raw_now) == {"k": 5}
    # '' without new metadata is stored as NULL, as the transactional path writes {}
    _set_metadata(postgres_db_url, "m", "")
    await store.save_json("m", doc, expected_version=6)
    with get_engine(postgres_db_url).connect() as conn:
        cleared: str | None = conn.execute(text("SELECT metadata FROM timestep_runs")).scalar_one()
    assert cleared is None
    assert [v.version for v in await store.versions("m")] == [1, 2, 3, 4, 5, 6, 7]
