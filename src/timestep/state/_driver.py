"""The durable path's store calls on the driver's own connection, without SQLAlchemy Core.

A durable run makes three store calls: the new-run check (the read of one run), its first row and
its end-of-segment save (a compare-and-set append). Through SQLAlchemy Core each pays its per-call
machinery (execution context, compiled-statement cache, result wrapping, events): 0.1-0.3 ms a
call, against 0.01-0.1 ms for the same statements on the driver (bench/README.md). Here they run
as fixed SQL on the driver connection of a connection checked out of the engine's pool: the pool,
its checkout check (``_pg_pool``), the SQLite pragmas and the process's SQLite write lock stay
the engine's, and driver errors become the store's typed errors (``database_errors``). A
connection whose statement failed is discarded, not returned to the pool.

The SQL is in ``_pg_writes`` and ``_sqlite_writes``; the rest of the store stays on SQLAlchemy.
The store first runs the same statements on the event loop (``_sql_awaited``: ``_pg_async`` on
Postgres, ``_sqlite_loop`` on SQLite), and comes here, in a worker thread, when that cannot be
done without waiting (a loop's async connections all busy, a SQLite lock taken).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import psycopg
from sqlalchemy import Engine

from ._engine import sqlite_write_lock
from ._records import Language, RunStatus


class RunRow(NamedTuple):
    """One ``timestep_runs`` row, its columns in this order."""

    run_id: str
    agent_name: str
    status: RunStatus
    latest_version: int
    language: Language
    pending_approvals: str
    metadata: str | None
    created_at: str
    updated_at: str


#: The read of one run on SQLite (also run on the event loop by ``_sqlite_loop``).
READ_RUN_SQLITE = f"SELECT {', '.join(RunRow._fields)} FROM timestep_runs WHERE run_id = ?"
#: The read of one run on Postgres (also awaited on the event loop by ``_pg_async``).
READ_RUN_PG = READ_RUN_SQLITE.replace("?", "%s")


def run_row(row: Any) -> RunRow | None:
    """The driver's row of a read of one run as a :class:`RunRow` (None if there was none)."""
    return None if row is None else RunRow(*row)


#: Told ``(engine, statement)`` before every statement this path runs: SQLAlchemy's
#: ``before_cursor_execute`` does not see it (the tests and ``bench/bench_statements.py`` count
#: statements with both). Empty in normal use, where connections are handed out unwrapped.
statement_listeners: list[Callable[[Engine, str], None]] = []


def tell_listeners(engine: Engine, statement: str) -> None:
    """Tell ``statement_listeners`` that ``statement`` is about to run on ``engine``."""
    for listener in list(statement_listeners):
        listener(engine, statement)


class _Told:
    """A driver connection whose ``execute`` first tells ``statement_listeners``."""

    def __init__(self, engine: Engine, conn: Any) -> None:
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_conn", conn)

    def execute(self, statement: str, params: Any = ()) -> Any:
        tell_listeners(self._engine, statement)
        return self._conn.execute(statement, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._conn, name, value)


def told(engine: Engine, conn: Any) -> Any:
    """``conn``, wrapped to tell ``statement_listeners`` of its statements when there are any."""
    return _Told(engine, conn) if statement_listeners else conn


@contextmanager
def checked_out(engine: Engine) -> Iterator[Any]:
    """The driver connection of a pooled connection; discarded when the driver raised on it."""
    pooled = engine.raw_connection()
    conn = pooled.driver_connection
    try:
        yield told(engine, conn)
    except (sqlite3.Error, psycopg.Error):
        pooled.invalidate()  # its state is unknown (a broken socket, a failed ROLLBACK)
        raise
    finally:
        pooled.close()  # back to the pool, or closed if invalidated


@contextmanager
def immediate(conn: Any) -> Iterator[None]:
    """A ``BEGIN IMMEDIATE`` transaction on the SQLite connection ``conn`` (the caller holds the
    process's write lock): COMMIT on success, ROLLBACK when the block raised."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def sqlite_write(engine: Engine) -> Iterator[Any]:
    """A ``BEGIN IMMEDIATE`` transaction under the process's write lock; COMMIT on success.

    The connection is checked out before the lock is taken, as SQLAlchemy's writers do, so a
    writer never holds the lock while it waits for a pooled connection.
    """
    with checked_out(engine) as conn, sqlite_write_lock(engine), immediate(conn):
        yield conn


@contextmanager
def pg_autocommit(engine: Engine) -> Iterator[Any]:
    """A psycopg connection whose statements commit by themselves (no BEGIN, no COMMIT)."""
    with checked_out(engine) as conn:
        conn.autocommit = True
        try:
            yield conn
        finally:
            if not conn.broken:
                conn.autocommit = False  # as the pool's other users expect it


def read_run(engine: Engine, run_id: str) -> RunRow | None:
    """The row of ``run_id`` (None if there is none), in one statement outside a transaction."""
    if engine.dialect.name == "postgresql":
        with pg_autocommit(engine) as conn:
            row = conn.execute(READ_RUN_PG, (run_id,)).fetchone()
    else:  # SQLite's connections are in autocommit: a read takes no write lock
        with checked_out(engine) as conn:
            row = conn.execute(READ_RUN_SQLITE, (run_id,)).fetchone()
    return run_row(row)
