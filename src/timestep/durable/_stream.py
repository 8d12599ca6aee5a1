"""The durable event log of streamed runs, and re-attaching to it by run id.

A streamed segment appends JSON events to ``timestep_stream_events`` in the DBOS system database as
they happen: for each model step one ``attempt_started`` per attempt, the model's stream events
(``model_event``) of that attempt, an ``attempt_abandoned`` when a later attempt of the same step
starts (the process running it died) or when the model call failed; each tool output
(``tool_output``) and one ``segment_end``. Every event has a key that is stable across a crash and
replay (step, attempt and index, or the tool call id) and the table ignores a key it already
holds, so a resumed segment that replays completed steps does not duplicate what a reader already
saw, and a retried model call never overwrites or splices into the attempt it replaces. The
format is a contract shared with the TypeScript engine: ``docs/dev/contracts.md``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .._errors import ConfigurationError, RunNotFoundError, RunNotStreamedError

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
        raise ConfigurationError("durable execution is not started in this process")
    return _engine


def _reader(store: Any) -> tuple[sa.Engine, Any]:
    """The engine holding the log, and the store to look the run up in (None when unknown)."""
    if store is None and _engine is not None:
        return _engine, None
    from ..state import RunStateStore
    from ._runtime import RUNTIME

    store = store if store is not None else RunStateStore()
    engine = RUNTIME.system_engine(store.target)
    with _lock:
        _metadata.create_all(engine, checkfirst=True)
    return engine, store


def attempt_key(step: int, attempt: int, suffix: str | int) -> str:
    """The key of an event of ``attempt`` of model step ``step``: ``m<step>.<attempt>:<suffix>``."""
    return f"m{step}.{attempt}:{suffix}"


def _in_order(conn: sa.Connection, run_id: str) -> None:
    """Serialise this transaction with the run's other writers (Postgres; SQLite already is).

    Readers page with ``id > after``: ids must become visible in id order, which concurrent
    Postgres transactions (parallel tool outputs) do not guarantee without this lock, held until
    commit.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"timestep_stream_events:{run_id}"},
        )


def _inserted(conn: sa.Connection, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless its key is logged; True when it was inserted."""
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(events).values(row).on_conflict_do_nothing().returning(events.c.id)
    return conn.execute(stmt).first() is not None


class StreamWriter:
    """Appends the events of one segment of a run to the log (synchronously)."""

    def __init__(self, engine: sa.Engine, run_id: str, segment: str) -> None:
        self.engine = engine
        self.run_id = run_id
        self.segment = segment

    def _row(self, event: dict[str, Any]) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "segment": self.segment,
            "key": str(event["key"]),
            "payload": json.dumps({**event, "segment": self.segment}, separators=(",", ":")),
        }

    def __call__(self, event: dict[str, Any]) -> None:
        """Append ``event`` (ignored when its key is already logged)."""
        with self.engine.begin() as conn:
            _in_order(conn, self.run_id)
            _inserted(conn, self._row(event))

    def begin_attempt(self, step: int) -> int:
        """Log the start of a new attempt of model step ``step`` and return its number (1, 2, ...).

        The number is taken from the log itself, atomically: the first attempt whose
        ``attempt_started`` key is free. Starting attempt ``k > 1`` logs, in the same transaction
        and just before, that attempt ``k - 1`` was abandoned (its process stopped before the
        step's checkpoint), so readers drop that attempt's text before the retry's arrives.
        """
        attempt = 1
        while True:
            start = {
                "key": attempt_key(step, attempt, "start"),
                "type": "attempt_started",
                "step": step,
                "attempt": attempt,
            }
            with self.engine.begin() as conn:
                _in_order(conn, self.run_id)
                if attempt > 1:
                    _inserted(conn, self._row(abandoned(step, attempt - 1, "retried")))
                if _inserted(conn, self._row(start)):
                    return attempt
            attempt += 1

    def last_attempt(self, step: int) -> int | None:
        """The highest attempt of model step ``step`` logged so far (None when none is)."""
        prefix = f"m{step}."
        with self.engine.connect() as conn:
            keys: list[str] = list(
                conn.execute(
                    sa.select(events.c.key).where(
                        events.c.run_id == self.run_id,
                        events.c.segment == self.segment,
                        events.c.key.startswith(prefix, autoescape=True),
                        events.c.key.endswith(":start", autoescape=True),
                    )
                ).scalars()
            )
            numbers = [int(k[len(prefix) : -len(":start")]) for k in keys]
        return max(numbers, default=None)


def abandoned(step: int, attempt: int, reason: str, error: str | None = None) -> dict[str, Any]:
    """The ``attempt_abandoned`` event of ``attempt`` of model step ``step``.

    ``reason`` is ``"retried"`` (a later attempt of the step started: the process running this
    one stopped before the step's checkpoint) or ``"failed"`` (the model call raised ``error``).
    """
    event: dict[str, Any] = {
        "key": attempt_key(step, attempt, "abandoned"),
        "type": "attempt_abandoned",
        "step": step,
        "attempt": attempt,
        "reason": reason,
    }
    if error is not None:
        event["error"] = error
    return event


def writer(run_id: str, segment: str) -> StreamWriter:
    """The writer of ``segment``'s events in the run's log."""
    return StreamWriter(_require(), run_id, segment)


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
