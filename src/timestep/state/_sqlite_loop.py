"""The durable path's SQLite statements run on the event loop when they need not wait.

A durable run makes three store calls (the new-run check, its first row and the end-of-segment
append). In a worker thread each also pays the hop there and back. Here they run on the calling
event loop's own connection, but only when they cannot wait: the connection's busy timeout is 0,
and a write first tries the process's write lock (``_engine.sqlite_write_lock``) without
blocking. When a statement would wait (the lock is taken, another process writes, the database is
not in WAL mode), :class:`Busy` is raised before anything was written and the caller takes the
thread path, which waits as usual. A statement therefore never stops the loop on a lock.

The loop's connection does not checkpoint the WAL itself (a checkpoint copies and syncs pages,
which may take milliseconds): after every ``CHECKPOINT_BYTES`` it has written, a passive
checkpoint runs in a worker thread on one of the engine's pooled connections.

Each event loop has one connection per database: its statements run one after another without an
await in between, so the loop never needs a second. The connections of loops that have closed
are closed at the next call (on any loop), an engine's by :func:`dispose` (``dispose_engine``),
and all of them at exit. A forked child forgets its parent's connections without closing them.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine

from . import _driver
from ._engine import on_dispose, sqlite_write_lock

logger = logging.getLogger("timestep.state")

#: Bytes of state the loop's connections write between two checkpoints (SQLite's own automatic
#: checkpoint runs at 1,000 pages, 4 MiB with the default page size).
CHECKPOINT_BYTES = 4 * 1024 * 1024
#: SQLite's primary result codes that mean "this would wait for a lock".
_WAITS = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}

T = TypeVar("T")


class Busy(Exception):
    """The statement would have waited (or cannot run on the loop): take the thread path."""


@dataclass
class _Written:
    """How much the loop's connections wrote to one database since its last checkpoint."""

    bytes: int = 0
    running: bool = False


_lock = threading.Lock()
#: Each event loop's connections, by engine (None: this database cannot be used on a loop).
_by_loop: dict[asyncio.AbstractEventLoop, dict[Engine, sqlite3.Connection | None]] = {}
_written: dict[Engine, _Written] = {}


def _close(connections: list[sqlite3.Connection | None]) -> None:
    for conn in connections:
        if conn is not None:
            conn.close()


def _sweep() -> None:
    """Close the connections of loops that have closed (under the lock)."""
    for loop in [loop for loop in _by_loop if loop.is_closed()]:
        _close(list(_by_loop.pop(loop).values()))


def _open(engine: Engine) -> sqlite3.Connection | None:
    """A connection to ``engine``'s file that never waits; None for a database not in WAL mode
    (an in-memory one reports ``memory``, a file whose readers and writers would block each other
    ``delete`` or another rollback journal).

    Raises Busy when the file cannot be opened now (the thread path then reports the cause).
    """
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    kwargs.update(timeout=0, check_same_thread=False, isolation_level=None)
    connect: Callable[..., sqlite3.Connection] = sqlite3.connect
    try:
        conn = connect(*args, **kwargs)
    except sqlite3.Error as error:
        raise Busy from error
    try:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.close()
            return None
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
    except sqlite3.Error as error:
        conn.close()
        raise Busy from error
    return conn


def _connection(engine: Engine) -> sqlite3.Connection:
    """The running loop's connection to ``engine``'s database; Busy when it has none.

    A database that is not in WAL mode is remembered as such (its calls stay in threads); one
    that could not be opened is tried again at the next call.
    """
    loop = asyncio.get_running_loop()
    with _lock:
        _sweep()
        mine = _by_loop.setdefault(loop, {})
        if engine in mine:
            conn = mine[engine]
        else:
            conn = mine[engine] = _open(engine)
    if conn is None:
        raise Busy
    return conn


def _drop(engine: Engine, conn: sqlite3.Connection) -> None:
    """Close ``conn`` after a failure (its state is unknown); the loop opens another next time."""
    with _lock:
        mine = _by_loop.get(asyncio.get_running_loop())
        if mine is not None and mine.get(engine) is conn:
            del mine[engine]
    conn.close()


def _waits(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in _WAITS


def read(engine: Engine, statement: str, params: Any) -> Any:
    """One row of a one-statement read (None if there is none); Busy if it would wait."""
    conn = _connection(engine)
    try:
        return _driver.told(engine, conn).execute(statement, params).fetchone()
    except sqlite3.Error as error:
        if _waits(error):
            raise Busy from error
        _drop(engine, conn)
        raise


def write(engine: Engine, work: Callable[[Any], T], size: int) -> T:
    """``work(conn)`` in a ``BEGIN IMMEDIATE`` transaction, committed; Busy if it would wait.

    ``size``: the bytes it writes, counted towards the next checkpoint. Busy is raised only when
    nothing was written (``BEGIN IMMEDIATE`` refused, or the transaction rolled back). After any
    other driver error the connection is closed, as the pool's are (``_driver.checked_out``).
    """
    conn = _connection(engine)
    lock = sqlite_write_lock(engine)
    if not lock.acquire(blocking=False):
        raise Busy
    try:
        told = _driver.told(engine, conn)
        with _driver.immediate(told):
            result = work(told)
    except sqlite3.Error as error:
        if _waits(error) and not conn.in_transaction:
            raise Busy from error
        _drop(engine, conn)
        raise
    finally:
        lock.release()
    _count(engine, size)
    return result


def _count(engine: Engine, size: int) -> None:
    """Add ``size`` written bytes; past ``CHECKPOINT_BYTES``, checkpoint in a worker thread."""
    with _lock:
        written = _written.setdefault(engine, _Written())
        written.bytes += size
        if written.bytes < CHECKPOINT_BYTES or written.running:
            return
        written.bytes, written.running = 0, True
    asyncio.get_running_loop().run_in_executor(None, _checkpoint_in_thread, engine, written)


def _checkpoint_in_thread(engine: Engine, written: _Written) -> None:
    """:func:`checkpoint`, then the next may be started (whatever became of this loop)."""
    try:
        checkpoint(engine)
    except Exception as error:  # the next commit past the threshold tries again
        logger.warning("WAL checkpoint of %s failed: %s", engine.url, error)
    finally:
        with _lock:
            written.running = False


def checkpoint(engine: Engine) -> None:
    """A passive WAL checkpoint of ``engine``'s database on one of its pooled connections."""
    with _driver.checked_out(engine) as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def open_connections(engine: Engine) -> int:
    """How many loop-side connections to ``engine`` are open, on every loop."""
    with _lock:
        return sum(1 for mine in _by_loop.values() if mine.get(engine) is not None)


def dispose(engine: Engine) -> None:
    """Close ``engine``'s loop-side connections (those of every loop).

    The connection of a loop running in another thread is closed on that loop, between two of
    its callbacks, so never in the middle of one of its statements.
    """
    with _lock:
        gone = [(loop, mine.pop(engine)) for loop, mine in _by_loop.items() if engine in mine]
        _written.pop(engine, None)
    for loop, conn in gone:
        if conn is None:
            continue
        if loop.is_running() and asyncio._get_running_loop() is not loop:
            try:
                loop.call_soon_threadsafe(conn.close)
                continue
            except RuntimeError:  # that loop closed meanwhile
                pass
        conn.close()


on_dispose.append(dispose)


def _forget_inherited() -> None:
    """In a forked child: drop the parent's connections without closing them."""
    _by_loop.clear()
    _written.clear()


os.register_at_fork(after_in_child=_forget_inherited)


@atexit.register
def _close_all() -> None:
    with _lock:
        every = [conn for mine in _by_loop.values() for conn in mine.values()]
        _by_loop.clear()
    _close(every)
