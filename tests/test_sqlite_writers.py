"""SQLite writers queue for a file's write lock across threads and processes
(``timestep._sqlite_writers``; DBOS's SQLite system database uses it)."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from timestep._sqlite_writers import WriterQueue, queue_writers
from timestep.durable import _config


def _engine(path: Path, timeout: float = 30.0) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}", pool_size=5, max_overflow=5)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: object, _record: object) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"  # type: ignore[attr-defined]
        dbapi_conn.execute("PRAGMA journal_mode=WAL")  # type: ignore[attr-defined]
        dbapi_conn.execute("PRAGMA busy_timeout=30000")  # type: ignore[attr-defined]

    queue_writers(engine, str(path), timeout)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    return engine


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Path, sa.Engine]]:
    path = tmp_path / "w.sqlite"
    engine = _engine(path)
    yield path, engine
    engine.dispose()


def _taken(path: Path) -> bool:
    """Whether another process's (or open file's) writer holds the queue's flock."""
    with open(f"{path}-writer.lock", "ab") as other:
        try:
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(other.fileno(), fcntl.LOCK_UN)
        return False


@pytest.mark.parametrize("ending", ["commit", "rollback", "invalidate"])
def test_a_write_transaction_holds_the_queue_until_it_ends(
    db: tuple[Path, sa.Engine], ending: str
) -> None:
    path, engine = db
    conn = engine.connect()
    conn.exec_driver_sql("SELECT count(*) FROM t").all()
    assert not _taken(path)  # reads do not queue
    conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    conn.exec_driver_sql("UPDATE t SET n = 2")  # the same transaction: taken once
    assert _taken(path)
    if ending == "invalidate":
        conn.invalidate()
    else:
        getattr(conn, ending)()
    assert not _taken(path)
    conn.close()
    with engine.connect() as again:
        rows: int = again.exec_driver_sql("SELECT count(*) FROM t").scalar_one()
    assert rows == (1 if ending == "commit" else 0)
    # the thread's lock was given back too: another thread writes at once
    done = threading.Event()

    def write() -> None:
        with engine.begin() as other:
            other.exec_driver_sql("INSERT INTO t VALUES (3)")
        done.set()

    threading.Thread(target=write).start()
    assert done.wait(5)


def test_threads_of_a_process_write_one_after_another(db: tuple[Path, sa.Engine]) -> None:
    _path, engine = db
    first = engine.connect()
    first.exec_driver_sql("INSERT INTO t VALUES (1)")
    order: list[str] = []

    def second() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)
    order.append("first")  # the second thread still waits in the queue, not in SQLite
    first.commit()
    first.close()
    thread.join(5)
    assert order == ["first", "second"]


def test_a_writer_goes_ahead_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    engine = _engine(path, timeout=0.3)
    with open(f"{path}-writer.lock", "ab") as stuck:  # a writer that never gives the queue back
        fcntl.flock(stuck.fileno(), fcntl.LOCK_EX)
        started = time.monotonic()
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        waited = time.monotonic() - started
    engine.dispose()
    assert 0.3 <= waited < 5  # SQLite's lock was free: the write went ahead


def _writer(path: str, count: int) -> None:
    engine = _engine(Path(path))
    for n in range(count):
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (?)", (n,))
    engine.dispose()


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_processes_share_the_queue(tmp_path: Path, start: str) -> None:
    path = tmp_path / "w.sqlite"
    engine = _engine(path)  # a forked child inherits this process's lock file: it opens its own
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (-1)")
    context: Any = multiprocessing.get_context(start)
    workers = [context.Process(target=_writer, args=(str(path), 150)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 451
    engine.dispose()


def _queue_is_taken(queue: WriterQueue) -> None:
    queue.timeout = 0.05
    os._exit(0 if queue._flock() is False else 1)


def test_a_forked_child_queues_behind_its_parent(tmp_path: Path) -> None:
    # a flock belongs to an open file: a child using the parent's would pass its parent's lock
    queue = WriterQueue(str(tmp_path / "x-writer.lock"), 1.0)
    queue.acquire()
    try:
        child = multiprocessing.get_context("fork").Process(target=_queue_is_taken, args=(queue,))
        child.start()
        child.join(10)
        assert child.exitcode == 0
    finally:
        queue.release()


def test_the_system_database_engine_queues_its_writers(tmp_path: Path) -> None:
    path = tmp_path / "runs.dbos.sqlite"
    engine = _config.sqlite_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            assert _taken(path)
        assert not _taken(path)
        assert os.path.exists(f"{path}-writer.lock")
    finally:
        engine.dispose()
