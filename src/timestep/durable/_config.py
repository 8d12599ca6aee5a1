"""DBOS configuration: where the system database lives; a lazy, once-per-process launch.

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
whose lease expired (:mod:`._takeover`).

The DBOS *application version* is fixed to :data:`APPLICATION_VERSION` instead of DBOS's default
(a hash of all workflow source), so restarting a worker after unrelated user-code changes still
recovers pending segments. It changes only when timestep changes the shape of its workflows or step
sequence; segments left PENDING by an older timestep version are then not recovered automatically
(finish or cancel them before upgrading, or fork them with ``fork_run``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSClient, DBOSConfig
from sqlalchemy import event

from .._errors import ConfigurationError
from . import _stream, _takeover
from ._json import JSONSerializer

#: DBOS application version of timestep's durable workflows (see the module docstring).
APPLICATION_VERSION = "timestep-durable-2"
#: Name of the DBOS queue that workers drain.
QUEUE_NAME = "timestep"

_lock = threading.Lock()
_engines_lock = threading.Lock()


@dataclass
class _Launched:
    url: str
    engine: sa.Engine | None
    worker: bool


_launched: _Launched | None = None

#: Prefix of the per-process executor ids used on SQLite system databases.
LOCAL_EXECUTOR_PREFIX = "local-pid-"


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


def _sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_size=20, max_overflow=20)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


def _postgres_url(url: str) -> str:
    parsed = sa.make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


_engines: dict[str, sa.Engine] = {}
_clients: dict[str, DBOSClient] = {}


def _client_engine(url: str) -> sa.Engine:
    """A process-wide engine on the system database for timestep's own reads and writes."""
    with _engines_lock:
        if url not in _engines:
            if url.startswith("sqlite"):
                _engines[url] = _sqlite_engine(url)
            else:
                _engines[url] = sa.create_engine(_postgres_url(url), pool_pre_ping=True)
        return _engines[url]


def system_engine(store_url: str) -> sa.Engine:
    """Engine on the system database that belongs to ``store_url`` (created on first use)."""
    url = system_database_url(store_url)
    if _launched is not None and _launched.url == url and _launched.engine is not None:
        return _launched.engine
    return _client_engine(url)


def has_system_tables(store_url: str) -> bool:
    """Whether DBOS's tables exist in the system database of ``store_url`` (creates nothing)."""
    url = system_database_url(store_url)
    if url.startswith("sqlite"):
        path = sa.make_url(url).database or ""
        if not os.path.exists(path):
            return False
        return sa.inspect(system_engine(store_url)).has_table("workflow_status")
    return sa.inspect(system_engine(store_url)).has_table("workflow_status", schema="dbos")


def client(store_url: str) -> DBOSClient:
    """A DBOS client (no launch, no recovery) for control operations from any process."""
    url = system_database_url(store_url)
    with _engines_lock:
        found = _clients.get(url)
    if found is not None:
        return found
    made = DBOSClient(
        system_database_url=_postgres_url(url) if not url.startswith("sqlite") else url,
        system_database_engine=system_engine(store_url) if url.startswith("sqlite") else None,
        serializer=JSONSerializer(),
        application_name="timestep",
    )
    with _engines_lock:
        _clients.setdefault(url, made)
        return _clients[url]


def launched_on(store_url: str) -> bool:
    """Whether this process already runs durable work on ``store_url``'s system database."""
    current = _launched
    return current is not None and current.url == system_database_url(store_url)


def ensure_launched(
    store_url: str,
    *,
    worker: bool = False,
    worker_concurrency: int | None = None,
    lease: _takeover.LeaseSettings | None = None,
    **options: Any,
) -> str:
    """Configure and launch DBOS once per process; return the system database URL in use.

    ``worker=True`` makes this process dequeue segments from the ``timestep`` queue; other
    processes only run the segments they start themselves. ``options`` go into the DBOSConfig
    (e.g. ``executor_id``, ``application_version``).
    """
    global _launched
    url = system_database_url(store_url)
    with _lock:
        if _launched is not None:
            if _launched.url != url:
                raise ConfigurationError(
                    f"this process already runs durable workflows on {_launched.url!r}; "
                    f"one process can use one DBOS system database, not also {url!r}"
                )
            if worker and not _launched.worker:
                raise ConfigurationError(
                    "durable runs already started in this process without a worker; "
                    "start the worker before the first durable run"
                )
            return url
        from . import _segment  # noqa: F401  (registers the workflows before launch)

        engine: sa.Engine | None = None
        config: DBOSConfig = {
            "name": "timestep",
            "application_version": APPLICATION_VERSION,
            "serializer": JSONSerializer(),
            "log_level": os.environ.get("TIMESTEP_DBOS_LOG_LEVEL", "WARNING"),
            "notification_listener_polling_interval_sec": 0.05,
        }
        if url.startswith("sqlite"):
            engine = _sqlite_engine(url)
            config["system_database_url"] = url
            config["system_database_engine"] = engine
        else:
            config["system_database_url"] = _postgres_url(url)
        if "executor_id" not in options:
            if url.startswith("sqlite"):
                config["executor_id"] = process_executor_id()
            elif not os.environ.get("DBOS__VMID"):
                config["executor_id"] = _takeover.new_executor_id()
        config.update(options)  # type: ignore[typeddict-item]
        DBOS(config=config)
        if not worker:
            DBOS.listen_queues([])
        DBOS.launch()
        DBOS.register_queue(
            QUEUE_NAME,
            worker_concurrency=worker_concurrency,
            polling_interval_sec=0.1,
            on_conflict="always_update" if worker else "never_update",
        )
        _stream.bind(engine if engine is not None else _client_engine(url))
        if not url.startswith("sqlite"):
            _takeover.start(
                _client_engine(url),
                DBOS.executor_id,
                lease or _takeover.LeaseSettings.resolve(),
                takes_over=worker,
            )
        _launched = _Launched(url, engine, worker)
        return url


def recover_dead_executors(store_url: str) -> list[str]:
    """Recover the PENDING segments of executors whose process is gone (SQLite; workers only).

    Returns the executor ids whose segments were handed to recovery. Each segment is put back on
    the ``timestep`` queue (so only workers, which know the agents, take it), and DBOS re-enqueues
    only a segment still PENDING on the dead executor: of several workers recovering the same
    one, exactly one runs it.
    """
    url = system_database_url(store_url)
    if not url.startswith("sqlite") or not launched_on(store_url):
        return []
    with system_engine(store_url).connect() as conn:
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


def shutdown() -> None:
    """Destroy this process's DBOS instance (tests and clean worker exits)."""
    global _launched
    with _lock:
        if _launched is None:
            return
        _stream.unbind()
        _takeover.stop()
        DBOS.destroy(destroy_registry=False)
        if _launched.engine is not None:
            _launched.engine.dispose()
        _launched = None
