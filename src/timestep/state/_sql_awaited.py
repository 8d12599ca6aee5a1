"""The durable path's three store calls on a SQL database, awaited without a thread hop.

The new-run check (:func:`run`), a run's first row (:func:`create`) and the end-of-segment
compare-and-set append (:func:`append`) are the calls every durable run makes. Each runs the same
statements as ``SqlBackend``'s method of the same name, on the event loop:

- on Postgres, on the loop's async connections (``_pg_async``); when they are all busy,
- on SQLite, on the loop's own connection when nothing has to wait (``_sqlite_loop``); when a
  statement would wait for a lock,

the call runs ``SqlBackend``'s method in a worker thread instead, which waits as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .._errors import RunNotFoundError
from . import _driver, _pg_async, _sqlite_loop, _sqlite_writes
from ._engine import database_errors
from ._records import NewVersion, RunSummary, StoredState, utc_now
from ._sql_backend import SqlBackend, run_summary

T = TypeVar("T")


async def _here(
    backend: SqlBackend,
    on_postgres: Callable[[_pg_async.Connection], Awaitable[T]],
    on_sqlite: Callable[[], T],
) -> tuple[bool, T | None]:
    """``(ran, answer)``: the statements run on the event loop, or ``ran`` False when they would
    have waited (a loop's async connections all busy, a SQLite lock taken) and ran nowhere."""
    with database_errors(backend.url):
        if backend.postgres:
            async with _pg_async.connection(backend.engine) as conn:
                if conn is None:
                    return False, None
                return True, await on_postgres(conn)
        try:
            return True, on_sqlite()
        except _sqlite_loop.Busy:
            return False, None


async def run(backend: SqlBackend, run_id: str) -> RunSummary:
    """``backend.run``, awaited."""
    engine = backend.engine
    ran, row = await _here(
        backend,
        lambda conn: _pg_async.read_run(engine, conn, run_id),
        lambda: _driver.run_row(_sqlite_loop.read(engine, _driver.READ_RUN_SQLITE, (run_id,))),
    )
    if not ran:
        return await asyncio.to_thread(backend.run, run_id)
    if row is None:
        raise RunNotFoundError(f"no run {run_id!r} in {backend.url}")
    return run_summary(row)


async def create(
    backend: SqlBackend, run_id: str, new: NewVersion, metadata: dict[str, Any] | None
) -> StoredState | None:
    """``backend.create``, awaited."""
    now = utc_now()
    engine = backend.engine
    ran, wrote = await _here(
        backend,
        lambda conn: _pg_async.create(engine, conn, run_id, new, now, metadata),
        lambda: _sqlite_loop.write(
            engine,
            lambda lite: _sqlite_writes.create(lite, run_id, new, now, metadata),
            len(new.body),
        ),
    )
    if not ran:
        return await asyncio.to_thread(backend.create, run_id, new, metadata)
    return new.stored(run_id, 0, now) if wrote else None


async def append(
    backend: SqlBackend,
    run_id: str,
    new: NewVersion,
    *,
    expected_version: int | None,
    metadata: dict[str, Any] | None,
    keep_versions: int | None,
) -> StoredState:
    """``backend.append``, awaited; what the one-statement append leaves goes to the thread."""
    ran = False
    if expected_version is not None and keep_versions is None:
        now, engine, expected = utc_now(), backend.engine, expected_version
        ran, version = await _here(
            backend,
            lambda conn: _pg_async.append(engine, conn, run_id, new, now, expected, metadata),
            lambda: _sqlite_loop.write(
                engine,
                lambda lite: _sqlite_writes.append(lite, run_id, new, now, expected, metadata),
                len(new.body),
            ),
        )
        if version is not None:  # None: the run is missing, or its stored metadata is odd
            return new.stored(run_id, version, now)
    # a statement that wrote nothing leaves it to the transaction, which raises or writes
    return await asyncio.to_thread(
        backend.append_in_transaction if ran else backend.append,
        run_id,
        new,
        expected_version=expected_version,
        metadata=metadata,
        keep_versions=keep_versions,
    )
