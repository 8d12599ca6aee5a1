"""Store reads that stay flat as history grows: ``list_runs`` pages cut in the database, and the
change marker (the inbox's live poll) read from one counter row that every write bumps.

bench/bench_history.py measures the curve; these tests pin the behaviour it relies on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agents import Runner

from harness.refund_agent import build_agent, start_model
from harness.statements import StatementLog
from timestep import ConfigurationError, RunStateStore


async def _waiting(store: RunStateStore, run_id: str) -> None:
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    await store.save(result, run_id=run_id)


async def test_list_runs_pages_newest_first_in_the_database(db_target: str) -> None:
    store = RunStateStore(db_target)
    for i in range(5):
        await _waiting(store, f"r{i}")
    await store.set_status("r1", "done")  # now the most recently updated
    everything = [run.run_id for run in await store.list_runs()]
    assert everything == ["r1", "r4", "r3", "r2", "r0"]
    pages = [await store.list_runs(limit=2, offset=offset) for offset in (0, 2, 4, 6)]
    assert [[run.run_id for run in page] for page in pages] == [
        ["r1", "r4"],
        ["r3", "r2"],
        ["r0"],
        [],
    ]
    assert [r.run_id for r in await store.list_runs(offset=3)] == ["r2", "r0"]
    assert await store.list_runs(limit=0) == []
    waiting = await store.list_runs(status="waiting", limit=2, offset=1)
    assert [run.run_id for run in waiting] == ["r3", "r2"]
    with StatementLog(db_target) as seen:
        await store.list_runs(limit=2, offset=2)
    [query] = [s for s in seen.queries if "timestep_runs" in s]
    assert "LIMIT" in query and "OFFSET" in query, query  # cut by the database, not in Python
    # the total behind the pages: one count statement, no rows read into Python
    assert await store.count_runs() == 5
    assert await store.count_runs(status="waiting") == 4
    assert await store.count_runs(status="failed") == 0
    with StatementLog(db_target) as seen:
        await store.count_runs(status="waiting")
    [count] = [s for s in seen.queries if "timestep_runs" in s]
    assert "count(" in count.lower(), count


async def test_a_file_store_pages_like_a_database(tmp_path: Path) -> None:
    store = RunStateStore(str(tmp_path / "one.json"))
    await _waiting(store, "one")
    assert [r.run_id for r in await store.list_runs(limit=1)] == ["one"]
    assert await store.list_runs(offset=1) == []
    assert await store.list_runs(limit=0) == []
    assert await store.count_runs() == 1
    assert await store.count_runs(status="waiting") == 1
    assert await store.count_runs(status="done") == 0
    assert await RunStateStore(str(tmp_path / "none.json")).count_runs() == 0


@pytest.mark.parametrize(
    ("limit", "offset"), [(-1, 0), (None, -1), (1.5, 0), (True, 0), (None, None), ("2", 0)]
)
async def test_bad_pages_are_refused(tmp_path: Path, limit: Any, offset: Any) -> None:
    store = RunStateStore(f"sqlite:///{tmp_path / 'bad.db'}")
    with pytest.raises(ConfigurationError, match="whole number"):
        await store.list_runs(limit=limit, offset=offset)


async def test_change_marker_moves_on_every_write_and_reads_one_row(db_target: str) -> None:
    store = RunStateStore(db_target)
    markers = [await store.change_marker()]

    async def moved() -> None:
        now = await store.change_marker()
        assert now not in markers, "the marker should move after a write"
        markers.append(now)

    await _waiting(store, "old")
    await moved()
    await _waiting(store, "new")
    await moved()
    await store.decide("new", None, "approve")
    await moved()
    assert await store.claim("new", 1) is True
    await moved()
    assert await store.claim("new", 1) is False  # no change: the marker stays
    assert await store.change_marker() == markers[-1]
    await store.set_status("new", "done")
    await moved()
    # deleting a run that is not the newest leaves max(updated_at) as it was; the marker moves
    await store.delete("old")
    await moved()
    await store.list_runs()
    await store.get("new")
    assert await store.change_marker() == markers[-1]  # reading changes nothing
    with StatementLog(db_target) as seen:
        await store.change_marker()
    assert len(seen.queries) == 1 and "timestep_changes" in seen.queries[0], seen.queries
    assert "timestep_runs" not in seen.queries[0]


async def test_a_version_write_bumps_the_marker_once_in_its_insert_on_postgres(
    db_target: str,
) -> None:
    """A run's first row and each saved version move the marker by exactly one. On Postgres each
    of the two writes is one statement (run row, version row and bump as data-modifying CTEs:
    no BEGIN or COMMIT round trips); SQLite bumps in a statement of its own after the INSERT."""
    store = RunStateStore(db_target)
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    before = await store.change_marker()
    with StatementLog(db_target) as created:
        assert await store.create_run(result.to_state(), run_id="first") is not None
    middle = await store.change_marker()
    with StatementLog(db_target) as saved:
        await store.save(result, run_id="first", expected_version=0)
    after = await store.change_marker()
    assert (middle, after) == (before + 1, before + 2)  # type: ignore[operator]
    bumps = [s for s in created.queries + saved.queries if "timestep_changes" in s]
    assert len(bumps) == 2, created.queries + saved.queries
    if db_target.startswith("postgres"):
        assert (len(created.queries), len(saved.queries)) == (1, 1), created.queries + saved.queries
        for bump in bumps:
            assert bump.startswith("WITH run AS ("), bump
            assert "timestep_runs" in bump and "INSERT INTO timestep_run_states" in bump
            assert "UPDATE timestep_changes" in bump
    else:
        assert all(s.startswith("UPDATE timestep_changes") for s in bumps), bumps
