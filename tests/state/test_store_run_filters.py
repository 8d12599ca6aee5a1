"""``list_runs``/``count_runs`` filters (agent, updated since, run id search) applied in the
database, so a filtered page costs what an unfiltered one does; the file store filters alike."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, Runner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from harness.refund_agent import build_agent, start_model
from timestep import ConfigurationError, RunStateStore
from timestep.durable import list_runs
from timestep.state._engine import get_engine
from timestep.state._filters import store_moment

#: (run id, agent name); written in this order, then ``x_1`` is set done (newest).
RUNS = [("A-1", "support"), ("b%2", "billing"), ("x_1", "support"), ("axb", "billing")]


async def _fill(store: RunStateStore) -> dict[str, str]:
    """Write ``RUNS`` (waiting, one per save) and return each run's ``updated_at``."""
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    for run_id, agent_name in RUNS:
        state = result.to_state()
        if agent_name != "support":  # the same paused run under another agent's name
            state._current_agent = Agent(name=agent_name, tools=build_agent(None).tools)
        await store.save(state, run_id=run_id)
    await store.set_status("x_1", "done")
    return {run.run_id: run.updated_at for run in await store.list_runs()}


def _ids(runs: list[Any]) -> list[str]:
    return [run.run_id for run in runs]


class _RowsRead:
    """The ``timestep_runs`` statements the store's engine runs, and the rows each returned."""

    def __init__(self, url: str) -> None:
        self.engine = get_engine(url)
        self.statements: list[str] = []
        self.rows: list[int] = []

    def _after(self, _c: Any, cursor: Any, statement: str, *_a: Any) -> None:
        if "timestep_runs" in statement:
            self.statements.append(" ".join(statement.split()))
            self.rows.append(cursor.rowcount)

    def __enter__(self) -> _RowsRead:
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "after_cursor_execute", self._after)


async def test_each_filter_alone_and_combined(db_target: str) -> None:
    store = RunStateStore(db_target)
    updated = await _fill(store)
    assert _ids(await store.list_runs()) == ["x_1", "axb", "b%2", "A-1"]
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"agent": "support"}, ["x_1", "A-1"]),
        ({"agent": "billing"}, ["axb", "b%2"]),
        ({"agent": "nobody"}, []),
        ({"search": "a"}, ["axb", "A-1"]),  # case-insensitive
        ({"search": "A_"}, []),  # "_" is a character, not LIKE's any-one
        ({"search": "_"}, ["x_1"]),
        ({"search": "%"}, ["b%2"]),  # "%" is a character, not LIKE's anything
        ({"search": "X_1"}, ["x_1"]),
        ({"updated_since": updated["b%2"]}, ["x_1", "axb", "b%2"]),  # at or after
        ({"status": "waiting", "agent": "support"}, ["A-1"]),
        ({"status": "waiting", "updated_since": updated["b%2"]}, ["axb", "b%2"]),
        ({"agent": "billing", "search": "b", "updated_since": updated["axb"]}, ["axb"]),
    ]
    for filters, expected in cases:
        assert _ids(await store.list_runs(**filters)) == expected, filters
        assert await store.count_runs(**filters) == len(expected), filters
        assert _ids(await list_runs(store=store, **filters)) == expected, filters
    # one microsecond after a run's update leaves it out
    later = datetime.fromisoformat(updated["b%2"]) + timedelta(microseconds=1)
    assert _ids(await store.list_runs(updated_since=later)) == ["x_1", "axb"]
    assert _ids(await store.list_runs(updated_since=later.isoformat())) == ["x_1", "axb"]
    # pages of a filtered listing
    assert _ids(await store.list_runs(agent="billing", limit=1, offset=1)) == ["b%2"]
    assert _ids(await store.list_runs(search="b", limit=1)) == ["axb"]


async def test_the_database_filters_and_cuts_the_page(db_target: str) -> None:
    store = RunStateStore(db_target)
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    for i in range(12):
        await store.save(result, run_id=f"run-{i:02d}")
    with _RowsRead(db_target) as read:
        page = await store.list_runs(agent="support", search="RUN-0", limit=2)
        total = await store.count_runs(agent="support", search="run-0")
    assert _ids(page) == ["run-09", "run-08"] and total == 10
    listing, counting = read.statements
    assert "agent_name" in listing and "LIKE" in listing.upper() and "LIMIT" in listing
    assert "count(" in counting.lower() and "agent_name" in counting
    if db_target.startswith("postgresql"):  # psycopg reports the rows a SELECT returned
        assert read.rows == [2, 1], read.rows


async def test_a_file_store_filters_like_a_database(tmp_path: Path) -> None:
    store = RunStateStore(str(tmp_path / "one.json"))
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    await store.save(result, run_id="Only_One")
    [run] = await store.list_runs()
    cases: list[tuple[dict[str, Any], bool]] = [
        ({"agent": "support"}, True),
        ({"agent": "billing"}, False),
        ({"search": "ONLY_"}, True),
        ({"search": "x"}, False),
        ({"updated_since": run.updated_at}, True),
        ({"updated_since": datetime.now(UTC) + timedelta(days=1)}, False),
        ({"status": "waiting", "agent": "support", "search": "one"}, True),
        ({"status": "done", "agent": "support"}, False),
    ]
    for filters, kept in cases:
        assert _ids(await store.list_runs(**filters)) == (["Only_One"] if kept else []), filters
        assert await store.count_runs(**filters) == int(kept), filters


@pytest.mark.parametrize(
    "filters",
    [
        {"agent": ""},
        {"agent": 3},
        {"search": ""},
        {"search": ["x"]},
        {"updated_since": "yesterday"},
        {"updated_since": ""},
        {"updated_since": "2026-13-40"},
        {"updated_since": "2026-02-30T10:00Z"},
        {"updated_since": 1700000000},
        {"status": "paused"},
    ],
)
async def test_bad_filters_are_refused_before_any_read(tmp_path: Path, filters: Any) -> None:
    store = RunStateStore(f"sqlite:///{tmp_path / 'bad.db'}")
    name = next(iter(filters))
    with pytest.raises(ConfigurationError, match=name if name != "status" else "unknown status"):
        await store.list_runs(**filters)
    with pytest.raises(ConfigurationError):
        await store.count_runs(**filters)
    assert not (tmp_path / "bad.db").exists()  # refused before the database was opened


def test_moments_are_written_as_the_store_writes_timestamps() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert store_moment("2026-12-01") == "2026-12-01T00:00:00.000000Z"
    assert store_moment("2026-12-01T10:30") == "2026-12-01T10:30:00.000000Z"
    assert store_moment("2026-12-01T10:30:05.123456789Z") == "2026-12-01T10:30:05.123456Z"
    assert store_moment("2026-12-01T01:30:05.5+02:00") == "2026-11-30T23:30:05.500000Z"
    assert store_moment("2026-12-01 10:30:05-0130") == "2026-12-01T12:00:05.000000Z"
    assert store_moment(datetime(2026, 12, 1, 2, tzinfo=plus_two)) == "2026-12-01T00:00:00.000000Z"
    assert store_moment(datetime(2026, 12, 1, 2)) == "2026-12-01T02:00:00.000000Z"  # naive: UTC


@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7, minutes=-30))])))
def test_a_moment_orders_as_its_instant(moment: datetime) -> None:
    """Text comparison of normalised moments agrees with comparing the instants themselves."""
    other = moment + timedelta(microseconds=1)
    for a, b in itertools.permutations([moment, other]):
        assert (store_moment(a) < store_moment(b)) == (a < b)
        assert store_moment(a.isoformat()) == store_moment(a)
