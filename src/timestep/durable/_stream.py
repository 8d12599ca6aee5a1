"""The durable event log of streamed runs, and re-attaching to it by run id.

A streamed segment appends JSON events to ``timestep_stream_events`` in the DBOS system database as
they happen: the model's stream events (``model_event``), each tool output (``tool_output``) and
one ``segment_end``. Every event has a key that is stable across a crash and replay (segment id +
step id + index, or the tool call id), and the table ignores a key it already holds, so a resumed
segment that replays completed steps does not duplicate what a reader already saw.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

_metadata = sa.MetaData()
events = sa.Table(
    "timestep_stream_events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("segment", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.UniqueConstraint("run_id", "segment", "key", name="uq_timestep_stream_event"),
    sa.Index("ix_timestep_stream_events_run", "run_id", "id"),
)

_lock = threading.Lock()
_engine: sa.Engine | None = None


def bind(engine: sa.Engine) -> None:
    """Use ``engine`` (the DBOS system database) for the event log; creates the table once."""
    global _engine
    with _lock:
        _metadata.create_all(engine, checkfirst=True)
        _engine = engine


def unbind() -> None:
    """Forget the engine (on shutdown)."""
    global _engine
    with _lock:
        _engine = None


def _require() -> sa.Engine:
    if _engine is None:
        from .._errors import ConfigurationError

        raise ConfigurationError("durable execution is not started in this process")
    return _engine


def _reader_engine(store: Any) -> sa.Engine:
    if store is None and _engine is not None:
        return _engine
    from ..state import RunStateStore
    from ._runtime import RUNTIME

    target = (store if store is not None else RunStateStore()).target
    engine = RUNTIME.system_engine(target)
    with _lock:
        _metadata.create_all(engine, checkfirst=True)
    return engine


def _insert(engine: sa.Engine, rows: list[dict[str, Any]]) -> None:
    if engine.dialect.name == "postgresql":
        stmt: Any = postgresql.insert(events).values(rows).on_conflict_do_nothing()
    else:
        stmt = sqlite.insert(events).values(rows).on_conflict_do_nothing()
    with engine.begin() as conn:
        conn.execute(stmt)


def writer(run_id: str, segment: str) -> Callable[[dict[str, Any]], None]:
    """A function appending one event of ``segment`` to the run's log (synchronously)."""
    engine = _require()

    def emit(event: dict[str, Any]) -> None:
        row = {
            "run_id": run_id,
            "segment": segment,
            "key": str(event["key"]),
            "payload": json.dumps({**event, "segment": segment}, separators=(",", ":")),
        }
        _insert(engine, [row])

    return emit


def _read(engine: sa.Engine, run_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(events.c.id, events.c.payload)
            .where(events.c.run_id == run_id, events.c.id > after)
            .order_by(events.c.id)
        ).all()
    return [(int(r.id), json.loads(r.payload)) for r in rows]


async def attach_stream(
    run_id: str,
    *,
    store: Any = None,
    after: int = 0,
    poll_interval: float = 0.05,
    timeout: float | None = None,
    until: tuple[str, ...] = ("done", "failed", "waiting", "cancelled"),
) -> AsyncIterator[dict[str, Any]]:
    """Yield the run's durable events from the start (or after event id ``after``) to its end.

    Reading ends at a ``segment_end`` event whose status is in ``until`` (by default any end: done,
    failed, or waiting for approval). A run whose process died keeps the reader waiting until a
    worker resumes it. Each event carries its log id as ``"id"``; pass the last one as ``after`` to
    continue later. ``timeout`` bounds the wait for each new event (``TimeoutError``). ``store``
    (a RunStateStore) locates the system database when this process runs no durable work.
    """
    engine = await asyncio.to_thread(_reader_engine, store)
    waited = 0.0
    while True:
        batch = await asyncio.to_thread(_read, engine, run_id, after)
        if not batch:
            if timeout is not None and waited >= timeout:
                raise TimeoutError(f"no new event of run {run_id!r} within {timeout} s")
            await asyncio.sleep(poll_interval)
            waited += poll_interval
            continue
        waited = 0.0
        for event_id, payload in batch:
            after = event_id
            payload["id"] = event_id
            yield payload
            if payload.get("type") == "segment_end" and payload.get("status") in until:
                return
