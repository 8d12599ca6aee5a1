"""On SQLite the durable path's three store calls run on the event loop's own connection when no
statement has to wait (``timestep.state._sqlite_loop``). A call that would wait for a lock (this
process's write lock, or another process's write transaction) takes the thread path instead, so
the loop keeps running while it waits; the loop's connection leaves WAL checkpoints to a worker
thread; connections of closed loops, of disposed engines and of a forked parent are handled."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agents import Runner, RunState
from sqlalchemy import Engine, create_engine

from harness.loop_connections import is_closed, loop_connections
from harness.refund_agent import build_agent, start_model
from harness.statements import StatementLog
from timestep import RunStateStore
from timestep.state import _driver, _sqlite_loop
from timestep.state._engine import get_engine, sqlite_write_lock


async def _start() -> RunState[Any, Any]:
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    return result.to_state()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'timestep.db'}"


async def _until(condition: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_a_write_waiting_for_this_process_lock_waits_in_a_thread(url: str) -> None:
    store = RunStateStore(url)
    state = await _start()
    await store.create_run(state, run_id="r1")
    engine = get_engine(url)
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with sqlite_write_lock(engine):
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(5)
    with StatementLog(url) as log:
        saving = asyncio.ensure_future(store.save(state, run_id="r1", expected_version=0))
        ticks = 0
        for _ in range(20):  # the loop keeps running while the save waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not saving.done()
        release.set()
        saved = await saving
    holder.join()
    assert saved.version == 1 and (await store.run("r1")).latest_version == 1
    assert log.driver_threads and threading.get_ident() not in log.driver_threads


async def test_a_write_waiting_for_another_writer_waits_in_a_thread(url: str) -> None:
    """Another process's write transaction (here a second connection) holds SQLite's lock."""
    store = RunStateStore(url)
    state = await _start()
    await store.create_run(state, run_id="r1")
    here = threading.get_ident()
    other = sqlite3.connect(Path(url.removeprefix("sqlite:///")), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with StatementLog(url) as log:
            # a read does not wait for a writer in WAL mode: it stays on the loop
            assert (await store.run("r1")).latest_version == 0
            assert log.driver_threads == [here]
            saving = asyncio.ensure_future(store.save(state, run_id="r1", expected_version=0))
            await asyncio.sleep(0.2)
            assert not saving.done()
            other.execute("COMMIT")
            assert (await saving).version == 1
        assert log.driver_threads[1] == here  # the loop's BEGIN IMMEDIATE, refused at once
        assert set(log.driver_threads[2:]) - {here}, "the save then ran in a worker thread"
    finally:
        other.close()
    assert [v.version for v in await store.versions("r1")] == [0, 1]


async def test_a_missing_run_is_saved_by_the_transactional_path(url: str) -> None:
    store = RunStateStore(url)
    state = await _start()
    await store.list_runs()
    saved = await store.save(state, run_id="new", expected_version=0)
    assert saved.version == 1 and (await store.run("new")).latest_version == 1


async def test_checkpoints_run_in_a_worker_thread(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStateStore(url)
    state = await _start()
    await store.create_run(state, run_id="r1")
    [conn] = loop_connections(url)
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    ran: list[tuple[int, Any]] = []
    original = _sqlite_loop.checkpoint

    def checkpoint(engine: Engine) -> None:
        original(engine)
        with _driver.checked_out(engine) as raw:  # what is left to copy into the database
            ran.append((threading.get_ident(), raw.execute("PRAGMA wal_checkpoint").fetchone()))

    monkeypatch.setattr(_sqlite_loop, "checkpoint", checkpoint)
    await store.save(state, run_id="r1", expected_version=0)
    await asyncio.sleep(0.05)
    assert ran == []  # a few kilobytes written: no checkpoint yet
    monkeypatch.setattr(_sqlite_loop, "CHECKPOINT_BYTES", 1)
    await store.save(state, run_id="r1", expected_version=1)
    await _until(lambda: ran)
    [(thread, (busy, frames, copied))] = ran
    assert thread != threading.get_ident()
    assert busy == 0 and frames == copied  # every frame of the WAL is in the database


async def test_a_failed_checkpoint_is_logged_and_the_next_one_runs(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = RunStateStore(url)
    state = await _start()
    await store.create_run(state, run_id="r1")
    calls: list[int] = []

    def failing_once(engine: Engine) -> None:
        calls.append(threading.get_ident())
        if len(calls) == 1:
            raise sqlite3.OperationalError("disk I/O error (test)")

    monkeypatch.setattr(_sqlite_loop, "checkpoint", failing_once)
    monkeypatch.setattr(_sqlite_loop, "CHECKPOINT_BYTES", 1)
    with caplog.at_level("WARNING", logger="timestep.state"):
        await store.save(state, run_id="r1", expected_version=0)
        await _until(lambda: "disk I/O error (test)" in caplog.text)
    await _until(lambda: not _sqlite_loop._written[get_engine(url)].running)
    await store.save(state, run_id="r1", expected_version=1)
    await _until(lambda: len(calls) == 2)
    assert [v.version for v in await store.versions("r1")] == [0, 1, 2]


def test_disposing_closes_a_running_loops_connection_on_that_loop(url: str) -> None:
    """Never in the middle of that loop's work: here a callback the loop is still running."""
    store = RunStateStore(url)
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever)
    runner.start()

    def on_loop(call: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(call, loop).result(10)

    try:
        on_loop(store.create_run(on_loop(_start()), run_id="r1"))
        [conn] = loop_connections(url)
        busy, done = threading.Event(), threading.Event()

        def working() -> None:  # stands for a statement in progress on the loop's thread
            busy.set()
            done.wait(10)

        loop.call_soon_threadsafe(working)
        busy.wait(5)
        _sqlite_loop.dispose(get_engine(url))  # as dispose_engine does
        assert not is_closed(conn) and loop_connections(url) == []
        done.set()
        # Wait for the loop to run what dispose queued before looking at the connection from
        # this thread: a statement here while the loop's thread closes it could crash sqlite3.
        on_loop(asyncio.sleep(0))
        assert is_closed(conn)
        assert on_loop(store.run("r1")).latest_version == 0  # a new connection on that loop
        assert len(loop_connections(url)) == 1
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(10)
        loop.close()


async def test_a_file_that_cannot_be_opened_now_is_tried_again(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStateStore(url)
    engine = get_engine(url)
    await store.create_run(await _start(), run_id="r1")
    _sqlite_loop.dispose(engine)  # the next call opens the loop's connection again
    original: Any = sqlite3.connect

    def refuse_the_loop(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        if kwargs.get("timeout") == 0:
            raise sqlite3.OperationalError("unable to open database file (test)")
        conn: sqlite3.Connection = original(*args, **kwargs)
        return conn

    monkeypatch.setattr(sqlite3, "connect", refuse_the_loop)
    with StatementLog(url) as log:
        assert (await store.run("r1")).latest_version == 0  # answered in a worker thread
    assert log.driver_threads and threading.get_ident() not in log.driver_threads
    assert _sqlite_loop.open_connections(engine) == 0
    monkeypatch.undo()
    with StatementLog(url) as log:
        assert (await store.run("r1")).latest_version == 0
    assert log.driver_threads == [threading.get_ident()]
    assert _sqlite_loop.open_connections(engine) == 1


async def test_an_in_memory_database_stays_in_threads() -> None:
    engine = create_engine("sqlite+pysqlite://")  # the loop's connection would be another database
    try:
        with pytest.raises(_sqlite_loop.Busy):
            _sqlite_loop.read(engine, "SELECT 1", ())
        assert _sqlite_loop.open_connections(engine) == 0
    finally:
        _sqlite_loop.dispose(engine)
        engine.dispose()


async def test_a_database_not_in_wal_mode_stays_in_threads(tmp_path: Path) -> None:
    path = tmp_path / "rollback-journal.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE t (x)")
    engine = create_engine(f"sqlite+pysqlite:///{path}")
    try:
        with pytest.raises(_sqlite_loop.Busy):
            _sqlite_loop.read(engine, "SELECT x FROM t", ())
        with pytest.raises(_sqlite_loop.Busy):
            _sqlite_loop.write(engine, lambda conn: conn.execute("INSERT INTO t VALUES (1)"), 1)
        assert _sqlite_loop.open_connections(engine) == 0
        with sqlite3.connect(path) as raw:
            assert raw.execute("SELECT count(*) FROM t").fetchone() == (0,)
    finally:
        _sqlite_loop.dispose(engine)
        engine.dispose()


@pytest.fixture(autouse=True)
def _no_listeners_left() -> Iterator[None]:
    yield
    assert _driver.statement_listeners == []
