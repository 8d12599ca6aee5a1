"""Who runs durable work now: the executors' heartbeat rows, and the segments queued or running.

Read-only, for the operators' view (``timestep workers``, the inbox's activity section). Every
process that launched DBOS keeps a row in the executors table (``_takeover``): Python processes on
either system database, TypeScript workers on Postgres (``ts/src/durable/lease.ts``). Segments come
from DBOS's ``workflow_status``: ``ENQUEUED`` on the ``timestep`` (Python) or ``timestep-ts``
(TypeScript) queue, or ``PENDING`` (running, or left by a process that died) on an executor.
Nothing here creates a system database that does not exist yet.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from . import _config, _names, _takeover
from ._runtime import RUNTIME

if TYPE_CHECKING:
    from ..state import RunStateStore

#: DBOS queue of TypeScript segments (``ts/src/durable/config.ts``).
TS_QUEUE_NAME = "timestep-ts"


@dataclass(frozen=True)
class Executor:
    """One process that runs durable segments, as its heartbeat row says."""

    executor_id: str
    language: str
    worker: bool
    host: str
    pid: int
    started_at: str
    heartbeat_at: str
    seconds_since_heartbeat: float
    lease_seconds: float
    alive: bool
    taken_over_by: str | None
    #: Segments PENDING on this executor (running now, or left behind if it died).
    segments: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the inbox API's ``Worker`` schema)."""
        return asdict(self)


@dataclass(frozen=True)
class ActiveSegment:
    """A segment waiting on a queue (``queued``) or held by an executor (``running``)."""

    segment: str
    run_id: str
    version: int
    status: Literal["queued", "running"]
    language: str
    #: The agent the segment runs (from its persisted spec; None when unreadable).
    agent_name: str | None
    queue: str | None
    executor_id: str | None
    created_at: str | None
    dequeued_at: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the inbox API's ``Segment`` schema)."""
        return asdict(self)


def _iso(epoch_seconds: float | None) -> str | None:
    if epoch_seconds is None:
        return None
    moment = dt.datetime.fromtimestamp(epoch_seconds, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _iso_ms(epoch_ms: int | None) -> str | None:
    return None if epoch_ms is None else _iso(epoch_ms / 1000)


def _iso_time(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return _iso(value.timestamp()) or ""
    return _iso(float(value)) or ""


_SELECT_SQLITE = (
    f"SELECT *, {_takeover.SQLITE_NOW} - heartbeat_at AS age FROM {_takeover.SQLITE_TABLE} "
    "ORDER BY started_at"
)
_SELECT_POSTGRES = (
    f"SELECT *, extract(epoch FROM now() - heartbeat_at) AS age FROM {_takeover.TABLE} "
    "ORDER BY started_at"
)


def _read_executors(engine: sa.Engine) -> list[Executor]:
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            if not sa.inspect(conn).has_table(_takeover.SQLITE_TABLE):
                return []
            rows = conn.execute(sa.text(_SELECT_SQLITE)).mappings().all()
        else:
            found = conn.execute(sa.text(f"SELECT to_regclass('{_takeover.TABLE}')")).scalar()
            if found is None:
                return []
            rows = conn.execute(sa.text(_SELECT_POSTGRES)).mappings().all()
    executors = []
    for row in rows:
        executor_id = str(row["executor_id"])
        age = max(0.0, float(row["age"]))
        lease = float(row["lease_seconds"])
        alive = age <= lease and row.get("taken_by") is None
        if sqlite:  # a process on this machine: its pid says whether it still runs
            alive = alive and _config.executor_alive(executor_id)
        executors.append(
            Executor(
                executor_id=executor_id,
                language=str(row.get("language") or "python"),
                worker=bool(row.get("worker")),
                host=str(row["host"]),
                pid=int(row["pid"]),
                started_at=_iso_time(row["started_at"]),
                heartbeat_at=_iso_time(row["heartbeat_at"]),
                seconds_since_heartbeat=round(age, 1),
                lease_seconds=lease,
                alive=alive,
                taken_over_by=row.get("taken_by"),
            )
        )
    return executors


def _language(queue: str | None, app_version: str | None) -> str:
    ts = queue == TS_QUEUE_NAME or (app_version or "").startswith("timestep-ts")
    return "typescript" if ts else "python"


def _agent_of(inputs: Any) -> str | None:
    """The agent name in a segment's inputs ``(run_id, version, spec)`` (spec JSON or object)."""
    args = inputs.get("args") if isinstance(inputs, dict) else inputs
    if not isinstance(args, list | tuple) or len(args) < 3:
        return None
    spec = args[2]
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            return None
    agent = spec.get("agent") if isinstance(spec, dict) else None
    return agent if isinstance(agent, str) else None


def _read_segments(store_target: str) -> list[ActiveSegment]:
    client = RUNTIME.client(store_target)
    found = client.list_workflows(
        status=["ENQUEUED", "PENDING"],
        application_name=list(_names.APPLICATION_NAMES),
        load_input=True,
        load_output=False,
    )
    segments = []
    for workflow in found:
        run_id, _, version = workflow.workflow_id.rpartition("@")
        if not run_id or not version.isdigit():
            continue  # not one of timestep's segments
        queued = workflow.status == "ENQUEUED"
        segments.append(
            ActiveSegment(
                segment=workflow.workflow_id,
                run_id=run_id,
                version=int(version),
                status="queued" if queued else "running",
                language=_language(workflow.queue_name, workflow.app_version),
                agent_name=_agent_of(workflow.input),
                queue=workflow.queue_name,
                executor_id=None if queued else workflow.executor_id,
                created_at=_iso_ms(workflow.created_at),
                dequeued_at=_iso_ms(workflow.dequeued_at),
            )
        )
    segments.sort(key=lambda s: (s.created_at or "", s.segment))
    return segments


def _read(store_target: str) -> tuple[list[Executor], list[ActiveSegment]]:
    if not RUNTIME.has_system_tables(store_target):
        return [], []
    segments = _read_segments(store_target)
    held: dict[str, int] = {}
    for segment in segments:
        if segment.executor_id is not None:
            held[segment.executor_id] = held.get(segment.executor_id, 0) + 1
    executors = [
        Executor(**{**asdict(e), "segments": held.get(e.executor_id, 0)})
        for e in _read_executors(RUNTIME.system_engine(store_target))
    ]
    return executors, segments


async def list_activity(*, store: RunStateStore) -> tuple[list[Executor], list[ActiveSegment]]:
    """The executors with their heartbeats, and the segments queued or running, on ``store``.

    Executors are oldest first; segments by creation time. A store whose system database does
    not exist yet has neither (and none is created).
    """
    return await asyncio.to_thread(_read, store.target)
