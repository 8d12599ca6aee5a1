"""The durable event log of streamed runs, and re-attaching to it by run id.

A streamed segment appends JSON events to ``timestep_stream_events`` in the DBOS system database as
they happen: for each model step one ``attempt_started`` per attempt, the model's stream events
(``model_event``) of that attempt, an ``attempt_abandoned`` when a later attempt of the same step
starts (the process running it died) or when the model call failed; each tool output
(``tool_output``) and one ``segment_end``. Every event has a key that is stable across a crash and
replay (step, attempt and index, or the tool call id) and the table ignores a key it already
holds, so a resumed segment that replays completed steps does not duplicate what a reader already
saw, and a retried model call never overwrites or splices into the attempt it replaces. The
format is a contract shared with the TypeScript engine: ``docs/dev/contracts.md``. Readers
(``attach_stream``) are in ``_stream_reader``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .._errors import ConfigurationError

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
    create_table(engine)
    with _lock:
        _engine = engine


def unbind() -> None:
    """Forget the engine (on shutdown)."""
    global _engine
    with _lock:
        _engine = None


def bound() -> sa.Engine | None:
    """The engine this process's segments write to (None before durable execution starts)."""
    return _engine


def create_table(engine: sa.Engine) -> None:
    """Create the event log's table (and its index) in ``engine`` if it is missing.

    Processes that start at once on a fresh database may all find the table missing. On
    Postgres two concurrent ``CREATE TABLE`` of one name collide in the catalog (a unique
    violation on ``pg_type``) even with ``IF NOT EXISTS``, so the creators take turns on an
    advisory lock held until their transaction ends; SQLite serialises its writers itself.
    """
    with _lock, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": events.name}
            )
        conn.execute(sa.schema.CreateTable(events, if_not_exists=True))
        for index in events.indexes:
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def _require() -> sa.Engine:
    if _engine is None:
        raise ConfigurationError("durable execution is not started in this process")
    return _engine


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
