"""DBOS configuration: where the system database lives, executor ids, recovery of dead ones.

The launch itself, and the engines and clients on system databases, belong to the runtime
(``_runtime.RUNTIME``).

The system database defaults to a SQLite file next to the store (``timestep.db`` ->
``timestep.dbos.sqlite``; ``state.json`` -> ``state.dbos.sqlite``) opened in WAL mode with
``synchronous=NORMAL``; a Postgres store keeps DBOS's tables in the same database (schema ``dbos``).
``$TIMESTEP_DBOS_URL`` overrides both.

Executors: on a SQLite system database every process gets its own DBOS executor id,
``local-pid-<pid>-<start time>`` (:func:`process_executor_id`), so two processes never recover each
other's live segments. A worker recovers the PENDING segments of executors whose process is gone
(:func:`recover_dead_executors`, checked on start and at every poll), and those of the legacy shared
executor ``local``. On Postgres each process gets a unique id (``<host>-<pid>-<hex>``) unless
given one, holds a lease in the database, and live workers take over the segments of executors
whose lease expired (``_takeover``).

The DBOS *application version* is fixed to :data:`APPLICATION_VERSION` instead of DBOS's default
(a hash of all workflow source), so restarting a worker after unrelated user-code changes still
recovers pending segments. It changes only when timestep changes the shape of its workflows or step
sequence; segments left PENDING by an older timestep version are then not recovered automatically
(finish or cancel them before upgrading, or fork them with ``fork_run``).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from dbos import DBOS
from sqlalchemy import event

from .._errors import ConfigurationError
from .._sqlite_writers import queue_writers

#: DBOS application version of timestep's durable workflows (see the module docstring).
APPLICATION_VERSION = "timestep-durable-2"
#: Name of the DBOS queue that workers drain.
QUEUE_NAME = "timestep"
#: How long a writer of a SQLite system database waits for its write lock.
SQLITE_BUSY_SECONDS = 30

#: Prefix of the per-process executor ids used on SQLite system databases.
LOCAL_EXECUTOR_PREFIX = "local-pid-"


def dbos_engine() -> sa.Engine:
    """The launched DBOS's own engine on its system database."""
    from dbos._dbos import _get_dbos_instance

    return cast(sa.Engine, _get_dbos_instance()._sys_db.engine)


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or ``0`` when unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(") ", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def process_executor_id() -> str:
    """This process's DBOS executor id on a SQLite system database (unique per live process)."""
    pid = os.getpid()
    return f"{LOCAL_EXECUTOR_PREFIX}{pid}-{_start_ticks(pid)}"


def executor_alive(executor_id: str) -> bool:
    """Whether the process behind a :func:`process_executor_id` still runs (on this machine).

    The legacy shared id ``local`` counts as gone; ids of another form (given by the user) count
    as alive: their owner recovers them by restarting with the same id.
    """
    if executor_id == "local":
        return False
    if not executor_id.startswith(LOCAL_EXECUTOR_PREFIX):
        return True
    try:
        pid_text, ticks = executor_id[len(LOCAL_EXECUTOR_PREFIX) :].split("-", 1)
        pid = int(pid_text)
    except ValueError:
        return True
    if ticks != "0" and os.path.exists("/proc"):
        return _start_ticks(pid) == ticks
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def system_database_url(store_url: str) -> str:
    """The DBOS system database URL that belongs to a store URL (see the module docstring)."""
    override = os.environ.get("TIMESTEP_DBOS_URL")
    if override:
        return override
    return _derived_system_database_url(store_url)


@functools.lru_cache(maxsize=64)
def _derived_system_database_url(store_url: str) -> str:
    """:func:`system_database_url` without ``$TIMESTEP_DBOS_URL`` (asked on every run: cached)."""
    if store_url.startswith(("postgresql", "postgres")):
        return store_url
    if store_url.startswith("sqlite"):
        path = sa.make_url(store_url).database or ""
        if not path or path == ":memory:":
            raise ConfigurationError(
                "durable runs need a file-backed store; an in-memory SQLite store cannot be "
                "shared with the DBOS system database"
            )
    else:
        path = store_url
    base = Path(path)
    return f"sqlite:///{base.with_name(base.stem + '.dbos.sqlite')}"


def shares_system_database(store_url: str) -> bool:
    """Whether both languages' segments of runs on ``store_url`` share one system database.

    TypeScript's is ``$TIMESTEP_TS_DBOS_URL``, else a Postgres store's database, else an embedded
    PGlite directory (``ts/src/durable/config.ts``). Shared, either language sees, cancels and
    reads the other's segments.
    """
    python = system_database_url(store_url)
    typescript = os.environ.get("TIMESTEP_TS_DBOS_URL") or store_url
    postgres = ("postgresql", "postgres")
    if not (python.startswith(postgres) and typescript.startswith(postgres)):
        return False
    plain = [sa.make_url(u).set(drivername="postgresql") for u in (python, typescript)]
    return plain[0].render_as_string(hide_password=False) == plain[1].render_as_string(
        hide_password=False
    )


def sqlite_engine(url: str) -> sa.Engine:
    """An engine on a SQLite system database (WAL, ``synchronous=NORMAL``, 30 s busy wait).

    Its writers queue for the file's write lock (``timestep._sqlite_writers``): the worker
    processes of one machine share the file.
    """
    engine = sa.create_engine(url, pool_size=20, max_overflow=20)
    database = sa.make_url(url).database
    if database and database != ":memory:":
        queue_writers(engine, database, SQLITE_BUSY_SECONDS)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


def postgres_url(url: str) -> str:
    """A Postgres URL with the psycopg driver timestep ships with."""
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def recover_dead_executors(system_engine: sa.Engine) -> list[str]:
    """Recover the PENDING segments of executors whose process is gone (SQLite; workers only).

    ``system_engine`` is the launched worker's engine on its SQLite system database. Returns the
    executor ids whose segments were handed to recovery. Each segment is put back on the
    ``timestep`` queue (so only workers, which know the agents, take it), and DBOS re-enqueues
    only a segment still PENDING on the dead executor: of several workers recovering the same
    one, exactly one runs it.
    """
    with system_engine.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT DISTINCT executor_id FROM workflow_status "
                "WHERE status = 'PENDING' AND application_version = :version"
            ),
            {"version": APPLICATION_VERSION},
        ).all()
    mine = DBOS.executor_id
    dead = [str(r[0]) for r in found if r[0] and r[0] != mine and not executor_alive(str(r[0]))]
    if dead:
        from dbos._dbos import _get_dbos_instance
        from dbos._shard_keys import bind_shard_keys

        sys_db = _get_dbos_instance()._sys_db
        for executor in dead:
            for pending in sys_db.get_pending_workflows(executor, APPLICATION_VERSION):
                with bind_shard_keys({pending.workflow_id: pending.shard_key}):
                    sys_db.reenqueue_for_recovery(pending.workflow_id, [executor], QUEUE_NAME)
    return dead
