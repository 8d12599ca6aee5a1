"""Re-attaching to a streamed run's durable event log by run id (``attach_stream``).

The writer side and the table are in ``_stream``; the event format is the contract in
``docs/dev/contracts.md``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import sqlalchemy as sa

from .._errors import RunNotFoundError, RunNotStreamedError
from . import _stream
from ._runtime import RUNTIME, given_store
from ._stream import events


def _reader(store: Any) -> tuple[sa.Engine, Any]:
    """The engine holding the log, and the store to look the run up in (None when unknown)."""
    bound = _stream.bound()
    if store is None and bound is not None:
        return bound, None
    store = given_store(store)
    engine = RUNTIME.system_engine(store.target)
    _stream.create_table(engine)
    return engine, store


def _read(engine: sa.Engine, run_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.id, events.c.payload)
            .where(events.c.run_id == run_id, events.c.id > after)
            .order_by(events.c.id)
        ).all()
    return [(int(r.id), json.loads(r.payload)) for r in rows]


def _latest(engine: sa.Engine, run_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        payload = conn.execute(
            sa.select(events.c.payload)
            .where(events.c.run_id == run_id)
            .order_by(events.c.id.desc())
            .limit(1)
        ).scalar()
    return None if payload is None else dict(json.loads(payload))


_ACTIVE = ("PENDING", "ENQUEUED", "DELAYED")


def _segments(engine: sa.Engine, run_id: str) -> list[tuple[str, str, bool | None]]:
    """``(workflow id, DBOS status, streamed?)`` of the run's segments, oldest first."""
    schema = "dbos" if engine.dialect.name == "postgresql" else None
    if not sa.inspect(engine).has_table("workflow_status", schema=schema):
        return []
    status = sa.table(
        "workflow_status",
        sa.column("workflow_uuid"),
        sa.column("status"),
        sa.column("inputs"),
        sa.column("created_at"),
        schema=schema,
    )
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(status.c.workflow_uuid, status.c.status, status.c.inputs)
            .where(status.c.workflow_uuid.startswith(f"{run_id}@", autoescape=True))
            .order_by(status.c.created_at)
        ).all()
    return [(str(r[0]), str(r[1]), _streamed(r[2])) for r in rows]


def _streamed(inputs: str | None) -> bool | None:
    """Whether a segment's recorded inputs ask for a stream (None when they cannot be read)."""
    try:
        spec = json.loads(inputs or "")["args"][2]
        return bool(spec.get("stream"))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


async def _ts_running(store: Any, run_id: str) -> bool:
    """Whether the run is a ``running`` TypeScript run: its segments live in TypeScript's own
    DBOS database (the embedded PGlite of a SQLite store), which this process cannot see."""
    if store is None:
        return False
    try:
        row = await store.run(run_id)
    except RunNotFoundError:
        return False
    return bool(row.status == "running" and row.language == "typescript")


async def _has_run(store: Any, run_id: str) -> bool:
    if store is None:
        return False
    try:
        await store.get(run_id)
    except RunNotFoundError:
        return False
    return True


async def _idle(engine: sa.Engine, store: Any, run_id: str, after: int) -> bool:
    """Decide what a reader with no new event does: True to end, False to keep waiting.

    Raises ``RunNotFoundError`` for a run nothing knows, ``RunNotStreamedError`` for one that
    has written no event and will write none (no streamed segment is running or queued).
    """
    segments = await asyncio.to_thread(_segments, engine, run_id)
    latest = await asyncio.to_thread(_latest, engine, run_id)
    active = [s for s in segments if s[1] in _ACTIVE]
    if latest is None:
        if any(streamed is not False for _wid, _status, streamed in active):
            return False  # a streamed segment is queued or starting: its first event will come
        if not segments and await _ts_running(store, run_id):
            return False  # a TypeScript segment is running (or will be recovered)
        if active:
            raise RunNotStreamedError(
                f"run {run_id!r} is running without stream=True: it writes no stream events"
            )
        if segments or await _has_run(store, run_id):
            raise RunNotStreamedError(
                f"run {run_id!r} wrote no stream events (it was not run with stream=True)"
            )
        raise RunNotFoundError(f"no run {run_id!r}: no durable segment and no stream events")
    if active or (not segments and await _ts_running(store, run_id)):
        return False
    if (
        latest.get("type") == "segment_end"
        and latest.get("status") == "waiting"
        and segments
        and segments[-1][0] == latest.get("segment")
    ):
        return False  # paused for approval: the next segment continues the stream
    # every segment ended: anything not yet read was committed before its workflow ended
    return not await asyncio.to_thread(_read, engine, run_id, after)


#: Seconds between checks of the run's segments while a reader sees no new event.
_CHECK_INTERVAL = 0.5


async def attach_stream(
    run_id: str,
    *,
    store: Any = None,
    after: int = 0,
    poll_interval: float = 0.05,
    timeout: float | None = None,
    until: tuple[str, ...] = ("done", "failed", "waiting", "cancelled"),
) -> AsyncGenerator[dict[str, Any], None]:
    """Yield the run's durable events from the start (or after event id ``after``) to its end.

    Reading ends at a ``segment_end`` event whose status is in ``until`` (by default any end: done,
    failed, or waiting for approval), or when no segment of the run is running or queued and
    every event was read (e.g. a cancelled run). A run whose process died keeps the reader waiting
    until a worker resumes it; so does one paused for approval once its ``segment_end`` was read,
    and a ``running`` TypeScript run whose segments this process cannot see (in TypeScript's
    embedded PGlite).
    Each event carries its log id as ``"id"``; pass the last one as ``after`` to continue later.
    ``timeout`` bounds the wait for each new event (``TimeoutError``). ``store`` (a
    RunStateStore) locates the system database when this process runs no durable work.

    Raises ``RunNotFoundError`` at once for a run id that neither the log, DBOS nor ``store``
    knows, and ``RunNotStreamedError`` for a run that wrote no event and has no streamed segment
    running or queued. Render the events with :class:`timestep.durable.StreamText`.
    """
    engine, known = await asyncio.to_thread(_reader, store)
    waited = 0.0
    check_at = 0.0  # the first empty read checks the run right away
    while True:
        batch = await asyncio.to_thread(_read, engine, run_id, after)
        if not batch:
            if waited >= check_at:
                if await _idle(engine, known, run_id, after):
                    return
                check_at = waited + _CHECK_INTERVAL
            if timeout is not None and waited >= timeout:
                raise TimeoutError(f"no new event of run {run_id!r} within {timeout} s")
            await asyncio.sleep(poll_interval)
            waited += poll_interval
            continue
        waited = 0.0
        check_at = _CHECK_INTERVAL
        for event_id, payload in batch:
            after = event_id
            payload["id"] = event_id
            yield payload
            if payload.get("type") == "segment_end" and payload.get("status") in until:
                return
