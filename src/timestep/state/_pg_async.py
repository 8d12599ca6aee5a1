"""The durable path's Postgres statements awaited on the event loop, without a thread hop.

On Postgres the durable path's three store calls (the new-run check, a run's first row and the
end-of-segment append) are one autocommit statement each (``_driver``, ``_pg_writes``). Run in a
worker thread, each also pays the hop there and back (0.13-0.16 ms a call in
``bench/breakdown_store.py``). Here the same statements run on psycopg's async connections.

A connection belongs to the event loop it was opened on, so each loop has its own connections to
each database, at most ``MAX_CONNECTIONS``. A call that finds them all busy returns ``None`` from
:func:`connection`, and the caller takes the thread path (the engine's pool) instead of waiting.
As in the engine's pool (``_pg_pool``), an idle connection whose server closed it is dropped at
checkout; one whose statement failed or was cancelled is closed, not reused. The idle
connections of loops that have closed are closed at the next checkout (on any loop), an
engine's by :func:`dispose` (``dispose_engine``), and all of them at exit. A forked child
forgets its parent's connections without closing them.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import weakref
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Engine

from .._pg_pool import CONNECT_TIMEOUT, server_closed
from . import _driver, _pg_writes
from ._engine import on_dispose
from ._records import NewVersion

#: Async connections per event loop and database (beyond them, calls take the thread path).
MAX_CONNECTIONS = 4
Connection = psycopg.AsyncConnection[Any]


def _close_now(conn: Connection) -> None:
    """Close ``conn`` without awaiting (its socket is shut; psycopg then sees it closed)."""
    conn.pgconn.finish()


@dataclass
class _LoopConnections:
    """One loop's connections to one database: the idle ones, and how many are open."""

    idle: list[Connection] = field(default_factory=list)
    opened: int = 0


def _close_idle(groups: Iterable[_LoopConnections]) -> None:
    """Close the idle connections of ``groups``."""
    for mine in groups:
        for conn in mine.idle:
            _close_now(conn)


_lock = threading.Lock()
#: Every event loop's connections, by engine (loops that have closed are swept at checkout).
_by_loop: dict[asyncio.AbstractEventLoop, dict[Engine, _LoopConnections]] = {}
_params: weakref.WeakKeyDictionary[Engine, dict[str, Any]] = weakref.WeakKeyDictionary()


def _connect_params(engine: Engine) -> dict[str, Any]:
    found = _params.get(engine)
    if found is None:
        _args, params = engine.dialect.create_connect_args(engine.url)
        params.pop("context", None)  # SQLAlchemy's adapters: these statements need psycopg's
        found = _params[engine] = {
            **params,
            "connect_timeout": CONNECT_TIMEOUT,
            "autocommit": True,
        }
    return found


def _sweep() -> None:
    """Close the idle connections of loops that have closed (under the lock)."""
    for loop in [loop for loop in _by_loop if loop.is_closed()]:
        _close_idle(_by_loop.pop(loop).values())


async def _take(engine: Engine, loop: asyncio.AbstractEventLoop) -> Connection | None:
    """An idle or new connection of ``loop`` to ``engine``; None when all are busy."""
    with _lock:
        _sweep()
        mine = _by_loop.setdefault(loop, {}).setdefault(engine, _LoopConnections())
        while mine.idle:
            conn = mine.idle.pop()
            if not server_closed(conn):
                return conn
            _close_now(conn)
            mine.opened -= 1
        if mine.opened >= MAX_CONNECTIONS:
            return None
        mine.opened += 1
        params = _connect_params(engine)
    try:
        return await psycopg.AsyncConnection.connect(**params)
    except BaseException:
        _forget(engine, loop)
        raise


def _give_back(engine: Engine, loop: asyncio.AbstractEventLoop, conn: Connection) -> None:
    """Keep ``conn`` for the loop's next call (closed instead if the engine was disposed)."""
    with _lock:
        mine = _by_loop.get(loop, {}).get(engine)
        if mine is not None:
            mine.idle.append(conn)
            return
    _close_now(conn)


def _forget(engine: Engine, loop: asyncio.AbstractEventLoop) -> None:
    """A connection of ``loop`` is gone (it failed to open, or was closed after a failure)."""
    with _lock:
        mine = _by_loop.get(loop, {}).get(engine)
        if mine is not None:
            mine.opened -= 1


@asynccontextmanager
async def connection(engine: Engine) -> AsyncIterator[Connection | None]:
    """An async autocommit connection to ``engine``'s database, or None (take the thread path).

    A connection that raised, or whose call was cancelled, is closed (its state is unknown);
    otherwise it goes back to the loop's idle connections.
    """
    loop = asyncio.get_running_loop()
    conn = await _take(engine, loop)
    if conn is None:
        yield None
        return
    try:
        yield conn
    except BaseException:
        _close_now(conn)
        _forget(engine, loop)
        raise
    _give_back(engine, loop, conn)


def open_connections(engine: Engine) -> int:
    """How many async connections to ``engine`` are open, on every loop."""
    with _lock:
        return sum(loops[engine].opened for loops in _by_loop.values() if engine in loops)


def dispose(engine: Engine) -> None:
    """Close ``engine``'s idle connections on every loop; busy ones close when given back."""
    with _lock:
        gone = [loops.pop(engine) for loops in _by_loop.values() if engine in loops]
    _close_idle(gone)


on_dispose.append(dispose)


def _forget_inherited() -> None:
    """In a forked child: drop the parent's connections without closing them.

    Closing one here would end the parent's session on the socket both processes share; psycopg
    itself closes a connection only in the process that opened it.
    """
    _by_loop.clear()


os.register_at_fork(after_in_child=_forget_inherited)


@atexit.register
def _close_all() -> None:
    with _lock:
        every = [mine for loops in _by_loop.values() for mine in loops.values()]
        _by_loop.clear()
    _close_idle(every)


async def _one_row(engine: Engine, conn: Connection, statement: str, params: Any) -> Any:
    _driver.tell_listeners(engine, statement)
    cursor = await conn.execute(statement, params)
    return await cursor.fetchone()


async def read_run(engine: Engine, conn: Connection, run_id: str) -> _driver.RunRow | None:
    """The row of ``run_id`` (None if there is none): ``_driver.read_run`` on ``conn``."""
    return _driver.run_row(await _one_row(engine, conn, _driver.READ_RUN_PG, (run_id,)))


async def create(
    engine: Engine,
    conn: Connection,
    run_id: str,
    new: NewVersion,
    now: str,
    metadata: dict[str, Any] | None,
) -> bool:
    """``_pg_writes.create`` on ``conn``."""
    statement, params = _pg_writes.create_statement(run_id, new, now, metadata)
    return await _one_row(engine, conn, statement, params) is not None


async def append(
    engine: Engine,
    conn: Connection,
    run_id: str,
    new: NewVersion,
    now: str,
    expected: int,
    metadata: dict[str, Any] | None,
) -> int | None:
    """``_pg_writes.append`` on ``conn``: the new version, or None when nothing was written."""
    statement, params = _pg_writes.append_statement(run_id, new, now, expected, metadata)
    try:
        row = await _one_row(engine, conn, statement, params)
    except psycopg.DataError:
        return None  # stored metadata that is no JSON: the transactional path keeps it
    return None if row is None else int(row[0])
