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
from typing import Any

from .._errors import RunNotFoundError
from . import _driver, _pg_async, _sqlite_loop, _sqlite_writes
from ._engine import database_errors
from ._records import NewVersion, RunSummary, StoredState, utc_now
from ._sql_backend import SqlBackend, run_summary


async def _read_run(backend: SqlBackend, run_id: str) -> tuple[bool, _driver.RunRow | None]:
    """``(read, row)``: whether the row was read here, and the row (None if there is none)."""
    engine = backend.engine
    with database_errors(backend.url):
        if backend.postgres:
            async with _pg_async.connection(engine) as conn:
                if conn is None:
                    return False, None
                return True, await _pg_async.read_run(engine, conn, run_id)
        try:
            row = _sqlite_loop.read(engine, _driver.READ_RUN_SQLITE, (run_id,))
        except _sqlite_loop.Busy:
            return False, None
        return True, None if row is None else _driver.RunRow(*row)


async def run(backend: SqlBackend, run_id: str) -> RunSummary:
    """``backend.run``, awaited."""
    read, row = await _read_run(backend, run_id)
    if not read:
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
    with database_errors(backend.url):
        if backend.postgres:
            async with _pg_async.connection(engine) as conn:
                if conn is not None:
                    wrote = await _pg_async.create(engine, conn, run_id, new, now, metadata)
                    return new.stored(run_id, 0, now) if wrote else None
        else:
            try:
                wrote = _sqlite_loop.write(
                    engine,
                    lambda lite: _sqlite_writes.create(lite, run_id, new, now, metadata),
                    len(new.body),
                )
            except _sqlite_loop.Busy:
                pass
            else:
                return new.stored(run_id, 0, now) if wrote else None
    return await asyncio.to_thread(backend.create, run_id, new, metadata)


async def _append_here(
    backend: SqlBackend,
    run_id: str,
    new: NewVersion,
    now: str,
    expected: int,
    metadata: dict[str, Any] | None,
) -> tuple[bool, int | None]:
    """``(tried, version)``: whether the one-statement append ran here, and the version it
    wrote (None when it wrote nothing: the run is missing, or its stored metadata is odd)."""
    engine = backend.engine
    with database_errors(backend.url):
        if backend.postgres:
            async with _pg_async.connection(engine) as conn:
                if conn is None:
                    return False, None
                return True, await _pg_async.append(
                    engine, conn, run_id, new, now, expected, metadata
                )
        try:
            return True, _sqlite_loop.write(
                engine,
                lambda lite: _sqlite_writes.append(lite, run_id, new, now, expected, metadata),
                len(new.body),
            )
        except _sqlite_loop.Busy:
            return False, None


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
    tried = False
    if expected_version is not None and keep_versions is None:
        now = utc_now()
        tried, version = await _append_here(backend, run_id, new, now, expected_version, metadata)
        if version is not None:
            return new.stored(run_id, version, now)
    # a statement that wrote nothing leaves it to the transaction, which raises or writes
    return await asyncio.to_thread(
        backend.append_in_transaction if tried else backend.append,
        run_id,
        new,
        expected_version=expected_version,
        metadata=metadata,
        keep_versions=keep_versions,
    )
