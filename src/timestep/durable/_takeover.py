"""Executor leases on a Postgres system database: live workers take over a dead executor's runs.

DBOS recovers a workflow left ``PENDING`` only when an executor with the same id launches again.
On Postgres every process that runs durable segments therefore holds a *lease*: a row of its own
in ``dbos.timestep_executors`` (this module owns that table; it lives next to DBOS's tables in the
system database), renewed by a background thread every ``heartbeat`` seconds. The row states how
long the lease lasts (``lease`` seconds); all times are the database's clock.

Workers check, at every heartbeat, for executors whose last heartbeat is older than their lease.
A worker claims such an executor with a row lock (``SELECT ... FOR UPDATE SKIP LOCKED`` and an
``UPDATE`` setting ``taken_by`` in the same transaction), so exactly one live worker takes each
dead executor, and puts that executor's ``PENDING`` segments back on the ``timestep`` queue. Only
Python executors are claimed here (language ``python``): TypeScript processes hold leases in the
same table and TypeScript workers take them over (``ts/src/durable/lease.ts``). DBOS
re-enqueues a segment only while it is still ``PENDING`` on the dead executor, and gives each
queued segment to exactly one worker. The claimer then deletes the dead executor's row. A claimer
that dies mid-way is itself taken over, and its claim expires after one lease.

Bound: a segment whose process died runs again within ``lease + heartbeat`` seconds plus the queue's
polling (0.1 s), 20 + 5 s with the defaults, provided a live worker that knows the run's agent has
a free slot. The settings come from ``worker(lease=..., heartbeat=...)`` or the environment
(``TIMESTEP_EXECUTOR_LEASE``, ``TIMESTEP_EXECUTOR_HEARTBEAT``, seconds).

On a SQLite system database the same table (``timestep_executors``, no schema) holds each
process's heartbeat too, for the operators' view of live workers (``list_executors``); there a
dead process is found by its process id instead (``_config.recover_dead_executors``), and rows
whose heartbeat stopped an hour ago are dropped. TypeScript processes write their own rows
(language ``typescript``; ``ts/src/durable/lease.ts``).

A process cut off from the database for longer than its lease is taken for dead: its segments
then run elsewhere while it may still be inside one. Completed steps are not repeated; an
in-flight step may run twice (with the same idempotency key), as after a crash.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

import sqlalchemy as sa

from .._env import LeaseSettings
from ._config import APPLICATION_VERSION, QUEUE_NAME

logger = logging.getLogger("timestep.durable")

TABLE = "dbos.timestep_executors"

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    executor_id TEXT PRIMARY KEY,
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    lease_seconds DOUBLE PRECISION NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    taken_by TEXT,
    taken_at TIMESTAMPTZ,
    language TEXT NOT NULL DEFAULT 'python',
    worker BOOLEAN NOT NULL DEFAULT false
)"""

#: Columns added after the table first shipped (added to an older table on start).
_ADDED_COLUMNS = {
    "language": "TEXT NOT NULL DEFAULT 'python'",
    "worker": "BOOLEAN NOT NULL DEFAULT false",
}

_BEAT = f"""
INSERT INTO {TABLE} (executor_id, lease_seconds, host, pid, worker)
VALUES (:me, :lease, :host, :pid, :worker)
ON CONFLICT (executor_id) DO UPDATE SET
    heartbeat_at = now(), lease_seconds = EXCLUDED.lease_seconds, host = EXCLUDED.host,
    pid = EXCLUDED.pid, worker = EXCLUDED.worker, taken_by = NULL, taken_at = NULL"""

#: The table on a SQLite system database: times are seconds since the epoch (the database's clock).
SQLITE_TABLE = "timestep_executors"
SQLITE_NOW = "((julianday('now') - 2440587.5) * 86400.0)"
#: Rows of processes silent for this long are dropped from a SQLite system database (seconds).
SQLITE_FORGET_AFTER = 3600.0

_CREATE_SQLITE = f"""
CREATE TABLE IF NOT EXISTS {SQLITE_TABLE} (
    executor_id TEXT PRIMARY KEY,
    heartbeat_at REAL NOT NULL,
    lease_seconds REAL NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at REAL NOT NULL,
    taken_by TEXT,
    taken_at REAL,
    language TEXT NOT NULL DEFAULT 'python',
    worker INTEGER NOT NULL DEFAULT 0
)"""

_BEAT_SQLITE = f"""
INSERT INTO {SQLITE_TABLE} (executor_id, heartbeat_at, lease_seconds, host, pid, started_at, worker)
VALUES (:me, {SQLITE_NOW}, :lease, :host, :pid, {SQLITE_NOW}, :worker)
ON CONFLICT (executor_id) DO UPDATE SET
    heartbeat_at = EXCLUDED.heartbeat_at, lease_seconds = EXCLUDED.lease_seconds,
    host = EXCLUDED.host, pid = EXCLUDED.pid, worker = EXCLUDED.worker"""

_FORGET_SQLITE = f"DELETE FROM {SQLITE_TABLE} WHERE heartbeat_at < {SQLITE_NOW} - :forget"

_FIND_DEAD = f"""
SELECT executor_id FROM {TABLE}
WHERE executor_id <> :me
  AND language = 'python'
  AND heartbeat_at < now() - lease_seconds * interval '1 second'
  AND (taken_at IS NULL OR taken_at < now() - :lease * interval '1 second')
ORDER BY heartbeat_at
FOR UPDATE SKIP LOCKED"""

_CLAIM = f"UPDATE {TABLE} SET taken_by = :me, taken_at = now() WHERE executor_id = :dead"

_RELEASE = f"""
DELETE FROM {TABLE}
WHERE executor_id = :dead AND taken_by = :me
  AND heartbeat_at < now() - lease_seconds * interval '1 second'"""


def new_executor_id() -> str:
    """A unique executor id for this process on a shared system database: ``<host>-<pid>-<hex>``."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def _sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def ensure_table(engine: sa.Engine) -> None:
    """Create the lease table if missing (concurrent first workers serialise on a lock)."""
    if _sqlite(engine):
        with engine.begin() as conn:
            conn.execute(sa.text(_CREATE_SQLITE))
        return
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": TABLE})
        conn.execute(sa.text(_CREATE))
        present: set[str] = set(
            conn.execute(
                sa.text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'dbos' AND table_name = 'timestep_executors'"
                )
            ).scalars()
        )
        for column, kind in _ADDED_COLUMNS.items():
            if column not in present:
                conn.execute(sa.text(f"ALTER TABLE {TABLE} ADD COLUMN {column} {kind}"))


def beat(
    engine: sa.Engine, executor_id: str, settings: LeaseSettings, *, worker: bool = False
) -> None:
    """Renew (or take out) this executor's lease (``worker``: it dequeues segments)."""
    values = {
        "me": executor_id,
        "lease": settings.lease,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "worker": worker,
    }
    with engine.begin() as conn:
        if _sqlite(engine):
            conn.execute(sa.text(_BEAT_SQLITE), values)
            conn.execute(
                sa.text(_FORGET_SQLITE),
                {"forget": max(SQLITE_FORGET_AFTER, 10 * settings.lease)},
            )
        else:
            conn.execute(sa.text(_BEAT), values)


def claim_dead(engine: sa.Engine, executor_id: str, settings: LeaseSettings) -> list[str]:
    """Claim the Python executors whose lease expired (no live claim); each goes to one caller."""
    with engine.begin() as conn:
        rows = conn.execute(sa.text(_FIND_DEAD), {"me": executor_id, "lease": settings.lease})
        dead = [str(row[0]) for row in rows]
        for other in dead:
            conn.execute(sa.text(_CLAIM), {"me": executor_id, "dead": other})
    return dead


def release(engine: sa.Engine, executor_id: str, dead: str) -> None:
    """Forget a dead executor whose segments were handed back to the queue."""
    with engine.begin() as conn:
        conn.execute(sa.text(_RELEASE), {"me": executor_id, "dead": dead})


def requeue_pending(executor: str) -> int:
    """Put ``executor``'s PENDING segments back on the ``timestep`` queue; how many were."""
    from dbos._dbos import _get_dbos_instance
    from dbos._shard_keys import bind_shard_keys

    sys_db = _get_dbos_instance()._sys_db
    count = 0
    for pending in sys_db.get_pending_workflows(executor, APPLICATION_VERSION):
        with bind_shard_keys({pending.workflow_id: pending.shard_key}):
            if sys_db.reenqueue_for_recovery(pending.workflow_id, [executor], QUEUE_NAME):
                count += 1
    return count


def take_over(engine: sa.Engine, executor_id: str, settings: LeaseSettings) -> dict[str, int]:
    """Claim every dead executor and requeue its segments: ``{executor: segments requeued}``."""
    taken: dict[str, int] = {}
    for dead in claim_dead(engine, executor_id, settings):
        taken[dead] = requeue_pending(dead)
        release(engine, executor_id, dead)
        logger.log(
            logging.WARNING if taken[dead] else logging.INFO,
            "executor %r stopped renewing its lease; %s of its segments were put back on the queue",
            dead,
            taken[dead],
        )
    return taken


class LeaseKeeper:
    """The background thread that renews this executor's lease and, on workers, takes over."""

    def __init__(
        self,
        engine: sa.Engine,
        executor_id: str,
        settings: LeaseSettings,
        *,
        takes_over: bool,
        worker: bool | None = None,
    ) -> None:
        self.engine = engine
        self.executor_id = executor_id
        self.settings = settings
        self.takes_over = takes_over and not _sqlite(engine)
        self.worker = takes_over if worker is None else worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="timestep-lease", daemon=True)
        self._last_beat = 0.0

    def start(self) -> None:
        """Take out the lease now (creating the table if needed), then renew it in a thread."""
        ensure_table(self.engine)
        beat(self.engine, self.executor_id, self.settings, worker=self.worker)
        self._last_beat = time.monotonic()
        self._thread.start()

    def _tick(self) -> None:
        beat(self.engine, self.executor_id, self.settings, worker=self.worker)
        now = time.monotonic()
        if now - self._last_beat > self.settings.lease:
            logger.warning(
                "executor %r renewed its lease after %.1f s (lease %.1f s): other workers may "
                "have taken over its segments",
                self.executor_id,
                now - self._last_beat,
                self.settings.lease,
            )
        self._last_beat = now
        if self.takes_over:
            take_over(self.engine, self.executor_id, self.settings)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.heartbeat):
            try:
                self._tick()
            except Exception as error:  # the database may be briefly unreachable: retry
                logger.warning("executor lease renewal failed (%s); retrying", error)

    def stop(self) -> None:
        """Stop renewing; the lease expires and any segment left PENDING is taken over.

        On SQLite, where no lease is taken over, the row of a cleanly stopped process goes.
        """
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if _sqlite(self.engine):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        sa.text(f"DELETE FROM {SQLITE_TABLE} WHERE executor_id = :me"),
                        {"me": self.executor_id},
                    )
            except sa.exc.SQLAlchemyError as error:
                logger.info("could not remove executor %r's row: %s", self.executor_id, error)


_keeper: LeaseKeeper | None = None
_keeper_lock = threading.Lock()


def start(
    engine: sa.Engine,
    executor_id: str,
    settings: LeaseSettings,
    *,
    takes_over: bool,
    worker: bool | None = None,
) -> None:
    """Start this process's lease keeper (one per process; on SQLite it only beats)."""
    global _keeper
    with _keeper_lock:
        if _keeper is not None:
            return
        keeper = LeaseKeeper(engine, executor_id, settings, takes_over=takes_over, worker=worker)
        try:
            keeper.start()
        except sa.exc.SQLAlchemyError as error:
            logger.warning(
                "executor leases are unavailable (%s): if this process dies, its segments wait "
                "for a process with executor id %r",
                str(error).splitlines()[0],
                executor_id,
            )
            return
        _keeper = keeper


def stop() -> None:
    """Stop this process's lease keeper, if any."""
    global _keeper
    with _keeper_lock:
        keeper, _keeper = _keeper, None
    if keeper is not None:
        keeper.stop()


def current() -> LeaseKeeper | None:
    """This process's lease keeper (tests and diagnostics)."""
    return _keeper
