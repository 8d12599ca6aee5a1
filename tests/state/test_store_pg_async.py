"""The durable path's three store calls (the read of one run, a run's first row, the
compare-and-set append) awaited on the event loop: on Postgres over psycopg's async connections
(``timestep.state._pg_async``), without a thread hop: the same answers and errors as the thread
path, a bounded number of connections per loop (beyond it, calls take the thread path), and no
connection kept that failed, was cancelled, or belongs to a loop that has closed. The tests taking
``db_target`` check the same of SQLite's loop connection (``_sqlite_loop``, with its own tests in
``test_store_sqlite_loop.py``)."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from agents import Runner, RunState
from sqlalchemy import make_url

from harness.loop_connections import is_closed, loop_connections
from harness.refund_agent import build_agent, start_model
from harness.statements import StatementLog
from timestep import RunNotFoundError, RunStateStore, StaleStateError, StoreUnavailableError
from timestep.state import _driver, _pg_async, _sqlite_loop
from timestep.state._engine import dispose_engine, get_engine


async def _start() -> RunState[Any, Any]:
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    return result.to_state()


async def test_the_durable_calls_run_on_the_loops_thread(db_target: str) -> None:
    store = RunStateStore(db_target)
    state = await _start()
    await store.list_runs()  # opened
    with StatementLog(db_target) as log:
        with pytest.raises(RunNotFoundError, match="no run 'r1'"):
            await store.run("r1")
        assert (await store.create_run(state, run_id="r1")) is not None
        assert (await store.create_run(state, run_id="r1")) is None  # it has a row now
        assert (await store.save(state, run_id="r1", expected_version=0)).version == 1
        assert (await store.run("r1")).latest_version == 1
    # SQLite's run on the loop too, as nothing waited for a lock (``_sqlite_loop``)
    assert log.driver_threads and set(log.driver_threads) == {threading.get_ident()}
    assert log.core == []
    if db_target.startswith("postgresql"):
        assert len(log.queries) == 5  # one statement a call


async def test_calls_beyond_the_loops_connections_take_the_thread_path(
    postgres_db_url: str,
) -> None:
    store = RunStateStore(postgres_db_url)
    state = await _start()
    await store.list_runs()
    many = _pg_async.MAX_CONNECTIONS * 4
    with StatementLog(postgres_db_url) as log:
        created = await asyncio.gather(
            *(store.create_run(state, run_id=f"r{i}") for i in range(many))
        )
        saved = await asyncio.gather(
            *(store.save(state, run_id=f"r{i}", expected_version=0) for i in range(many))
        )
    assert all(c is not None and c.version == 0 for c in created)
    assert [s.version for s in saved] == [1] * many
    here = threading.get_ident()
    assert here in log.driver_threads and set(log.driver_threads) - {here}, "both paths ran"
    assert 0 < _pg_async.open_connections(get_engine(postgres_db_url)) <= _pg_async.MAX_CONNECTIONS
    runs = await store.list_runs()
    assert sorted(r.run_id for r in runs) == sorted(f"r{i}" for i in range(many))
    assert {r.latest_version for r in runs} == {1}


def test_each_loop_has_its_own_connections_and_a_closed_loops_connections_close(
    db_target: str,
) -> None:
    store = RunStateStore(db_target)
    state = asyncio.run(_start())

    async def one(run_id: str) -> int:
        await store.create_run(state, run_id=run_id)
        return (await store.run(run_id)).latest_version

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(one("a")) == 0
        [first] = loop_connections(db_target)
        assert not is_closed(first)
        assert asyncio.run(one("b")) == 0  # a new loop: the first loop's connection is closed
        assert is_closed(first)
        [second] = loop_connections(db_target)
        assert second is not first
        dispose_engine(db_target)
        assert is_closed(second) and loop_connections(db_target) == []
        del first, second
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], caught


async def test_a_stale_save_or_a_missing_run_keeps_the_connection(db_target: str) -> None:
    """Answers that are errors (a stale base, an unknown run) leave a healthy connection idle."""
    store = RunStateStore(db_target)
    state = await _start()
    await store.create_run(state, run_id="r1")
    await store.save(state, run_id="r1", expected_version=0)
    [conn] = loop_connections(db_target)
    with pytest.raises(StaleStateError) as caught:
        await store.save(state, run_id="r1", expected_version=0)
    assert (caught.value.expected, caught.value.actual) == (0, 1)
    with pytest.raises(RunNotFoundError, match="no run 'nobody'"):
        await store.run("nobody")
    assert loop_connections(db_target) == [conn]
    if db_target.startswith("postgresql"):
        assert not conn.closed
    else:  # SQLite: the stale save's transaction was rolled back
        assert not conn.in_transaction
    assert [v.version for v in await store.versions("r1")] == [0, 1]


async def test_a_cancelled_call_closes_its_connection(postgres_db_url: str) -> None:
    store = RunStateStore(postgres_db_url)
    state = await _start()
    await store.create_run(state, run_id="r1")
    engine = get_engine(postgres_db_url)
    dsn = (
        make_url(postgres_db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    with psycopg.connect(dsn) as holder:  # holds the table: the next read waits for it
        holder.execute("LOCK TABLE timestep_runs IN ACCESS EXCLUSIVE MODE")
        reading = asyncio.ensure_future(store.run("r1"))
        await asyncio.sleep(0.3)
        assert not reading.done()
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert _pg_async.open_connections(engine) == 0
        assert loop_connections(postgres_db_url) == []
    assert (await store.run("r1")).latest_version == 0  # a new connection, after the lock


async def test_a_database_that_cannot_be_reached_is_a_typed_error(
    postgres_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStateStore(postgres_db_url)
    state = await _start()
    await store.list_runs()  # opened while the database could be reached
    engine = get_engine(postgres_db_url)
    params = dict(_pg_async._connect_params(engine), port=1, connect_timeout=2)
    monkeypatch.setitem(_pg_async._params, engine, params)
    for call in (
        store.run("r1"),
        store.create_run(state, run_id="r1"),
        store.save(state, run_id="r1", expected_version=0),
    ):
        with pytest.raises(StoreUnavailableError, match="database"):
            await call
    assert _pg_async.open_connections(engine) == 0
    monkeypatch.undo()
    assert (await store.create_run(state, run_id="r1")) is not None


async def test_a_forked_child_leaves_its_parents_connections_open(db_target: str) -> None:
    store = RunStateStore(db_target)
    engine = get_engine(db_target)
    await store.create_run(await _start(), run_id="r1")
    [conn] = loop_connections(db_target)
    pid = os.fork()
    if pid == 0:  # the child: what it inherited is gone from its view, and exiting closes nothing
        code = 1
        try:
            opened = _pg_async.open_connections(engine) + _sqlite_loop.open_connections(engine)
            code = 0 if loop_connections(db_target) == [] and opened == 0 else 1
            _pg_async._close_all()
            _sqlite_loop._close_all()
        finally:  # whatever happened, the child must not go on running the tests
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert loop_connections(db_target) == [conn] and not is_closed(conn)
    assert (await store.run("r1")).latest_version == 0  # on the same connection, still live
    assert loop_connections(db_target) == [conn]


@pytest.fixture(autouse=True)
def _no_listeners_left() -> Iterator[None]:
    yield
    assert _driver.statement_listeners == []
