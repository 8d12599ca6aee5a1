"""The durable path's store calls (the read of one run, a run's first row, a compare-and-set
append) run on the driver's connection (``timestep.state._driver``), not through SQLAlchemy Core:
same answers and errors as the rest of the store, connections handed back to the pool as it
expects them, and a failed one discarded."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from agents import Runner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

from harness.refund_agent import build_agent, start_model
from harness.statements import StatementLog
from timestep import CorruptStateError, RunStateStore, StaleStateError, StoreUnavailableError
from timestep.state import _driver
from timestep.state._engine import get_engine
from timestep.state._records import RunSummary


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'timestep.db'}"


async def _result() -> Any:
    return await Runner.run(build_agent(start_model()), "Refund order 42")


async def test_a_durable_runs_store_calls_skip_sqlalchemy_core(db_target: str) -> None:
    store = RunStateStore(db_target)
    result = await _result()
    await store.list_runs()  # opened: the schema check is behind us
    with StatementLog(db_target) as seen:
        with pytest.raises(Exception, match="no run 'r1'"):
            await store.run("r1")
        created = await store.create_run(result.to_state(), run_id="r1", metadata={"a": 1})
        saved = await store.save(result, run_id="r1", expected_version=0, metadata={"b": 2})
        summary = await store.run("r1")
    assert seen.core == []
    assert len(seen.driver) >= 4, seen.driver
    assert created is not None and created.version == 0 and saved.version == 1
    assert (summary.latest_version, summary.status, summary.metadata) == (
        1,
        "waiting",
        {"a": 1, "b": 2},
    )
    assert [p.tool_name for p in summary.pending_approvals] == ["refund"]
    [listed] = await store.list_runs()  # the same facts through SQLAlchemy
    assert listed == summary
    assert [v.version for v in await store.versions("r1")] == [0, 1]


async def test_a_stale_append_writes_nothing_and_a_missing_run_is_created(db_target: str) -> None:
    store = RunStateStore(db_target)
    result = await _result()
    doc = result.to_state().to_json()
    await store.create_run(result.to_state(), run_id="r1")
    await store.save_json("r1", doc, expected_version=0)
    marker = await store.change_marker()
    with pytest.raises(StaleStateError) as caught:
        await store.save_json("r1", doc, expected_version=0, metadata={"lost": True})
    assert (caught.value.expected, caught.value.actual) == (0, 1)
    assert await store.change_marker() == marker
    assert (await store.run("r1")).metadata == {}
    # an append on a run with no row yet takes the transactional path, which creates it
    assert (await store.save_json("new", doc, expected_version=0)).version == 1
    with pytest.raises(StaleStateError):
        await store.save_json("other", doc, expected_version=3)
    assert {r.run_id for r in await store.list_runs()} == {"r1", "new"}


async def test_postgres_connections_go_back_to_the_pool_transactional(
    postgres_db_url: str,
) -> None:
    """The driver path runs in autocommit and must hand connections back as SQLAlchemy expects
    them: a transaction rolled back afterwards still leaves nothing behind."""
    store = RunStateStore(postgres_db_url)
    result = await _result()
    await store.create_run(result.to_state(), run_id="r1")
    await store.save(result, run_id="r1", expected_version=0)
    await store.run("r1")
    engine = get_engine(postgres_db_url)
    with engine.begin() as conn:  # metadata that is no JSON: the driver's append falls back
        conn.execute(text("UPDATE timestep_runs SET metadata = 'not json' WHERE run_id = 'r1'"))
    assert (await store.save(result, run_id="r1", expected_version=1)).version == 2
    raw = engine.raw_connection()
    try:
        assert getattr(raw.driver_connection, "autocommit", None) is False
    finally:
        raw.close()
    with engine.connect() as conn:
        conn.execute(text("UPDATE timestep_runs SET status = 'cancelled'"))
        conn.rollback()
    run = await store.run("r1")
    assert run.status == "waiting"
    assert run.metadata == {"unreadable_metadata": "not json"}


async def test_sessions_the_server_ended_are_replaced_on_the_driver_path(
    postgres_db_url: str,
) -> None:
    store = RunStateStore(postgres_db_url)
    result = await _result()
    await store.create_run(result.to_state(), run_id="r0")
    name = str(get_engine(postgres_db_url).url.database)
    admin = get_engine(postgres_db_url.rsplit("/", 1)[0] + "/postgres")
    for round_ in range(1, 3):
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": name},
            )
        time.sleep(0.2)  # the FATAL message and the close reach the pooled sockets
        assert (await store.run("r0")).latest_version == round_ - 1
        await store.save(result, run_id="r0", expected_version=round_ - 1)
        assert await store.create_run(result.to_state(), run_id=f"r{round_}") is not None
    assert sorted(r.run_id for r in await store.list_runs()) == ["r0", "r1", "r2"]


async def test_a_locked_sqlite_file_is_a_typed_error_and_reads_go_on(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMESTEP_SQLITE_BUSY_MS", "150")
    store = RunStateStore(sqlite_url)
    result = await _result()
    await store.create_run(result.to_state(), run_id="r1")
    discarded: list[object] = []
    event.listen(get_engine(sqlite_url), "invalidate", lambda conn, *_: discarded.append(conn))
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailableError, match=r"database is locked .*waited 0\.15 s"):
            await store.create_run(result.to_state(), run_id="r2")
        with pytest.raises(StoreUnavailableError, match="database is locked"):
            await store.save(result, run_id="r1", expected_version=0)
        assert (await store.run("r1")).latest_version == 0  # a WAL reader does not wait
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # the two connections the driver failed on were discarded, the write lock released
    assert len(discarded) == 2
    assert await store.create_run(result.to_state(), run_id="r2") is not None
    assert (await store.save(result, run_id="r1", expected_version=0)).version == 1
    pool: Any = get_engine(sqlite_url).pool
    assert pool.checkedout() == 0 and len(discarded) == 2


async def test_a_non_utf8_run_row_is_corrupt_on_the_driver_path(sqlite_url: str) -> None:
    store = RunStateStore(sqlite_url)
    await store.create_run((await _result()).to_state(), run_id="r1")
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE timestep_runs SET agent_name = CAST(x'41ff42' AS TEXT)")
    with pytest.raises(CorruptStateError, match="not UTF-8"):
        await store.run("r1")
    with pytest.raises(CorruptStateError, match="not UTF-8"):
        await store.list_runs()


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_COLUMN = st.one_of(
    _TEXT,
    st.sampled_from(["", "null", "{}", "[]", '{"a": [1, "x"]}', "[1, 2]", "{broken"]),
    st.builds(
        lambda call, tool: (
            f'[{{"call_id": "{call}", "tool_name": "{tool}", '
            f'"arguments": "{{}}", "agent_name": "a"}}]'
        ),
        st.text("abc-_1", max_size=5),
        st.text("xyz", max_size=5),
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    agent=_TEXT,
    status=st.sampled_from(["running", "waiting", "done", "odd"]),
    metadata=st.one_of(st.none(), _COLUMN),
    pending=_COLUMN,
    version=st.integers(min_value=0, max_value=2**31 - 1),
)
def test_the_driver_read_answers_as_the_sqlalchemy_read(
    tmp_path_factory: pytest.TempPathFactory,
    agent: str,
    status: str,
    metadata: str | None,
    pending: str,
    version: int,
) -> None:
    """Whatever a run row holds, ``run()`` (on the driver) answers what ``list_runs()``
    (through SQLAlchemy) answers for it, unreadable side columns included."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'f.db'}"
    store = RunStateStore(url)
    asyncio.run(store.list_runs())  # creates the schema
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute(
            "INSERT INTO timestep_runs VALUES ('r', ?, ?, ?, 'python', ?, ?, 'c', 'u')",
            (agent, status, version, pending, metadata),
        )

    async def both() -> tuple[RunSummary, list[RunSummary]]:
        return await store.run("r"), await store.list_runs()

    one, listed = asyncio.run(both())
    assert listed == [one]
    assert (one.agent_name, one.latest_version) == (agent, version)


def test_connections_are_wrapped_only_for_a_listener(tmp_path: Path) -> None:
    """With no listener the connection is handed out as the driver's own object (no wrapper on
    the hot path)."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    RunStateStore(url)
    with _driver.checked_out(get_engine(url)) as conn:
        assert type(conn) is sqlite3.Connection
    _driver.statement_listeners.append(lambda _e, _s: None)
    try:
        with _driver.checked_out(get_engine(url)) as conn:
            assert type(conn) is not sqlite3.Connection
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        _driver.statement_listeners.pop()
