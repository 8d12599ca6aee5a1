"""The durable runtime: everything durable execution keeps in this process, in one object.

:data:`RUNTIME` owns the registered agents (and the segments waiting for one), the stores that
recovered or dequeued segments write to, the in-process extras of segments started here, the
worker's RunConfig, the engines and DBOS clients on system databases, and the once-per-process
DBOS launch (see ``_config`` for where the system database lives).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from agents import Agent, RunConfig, RunResult, RunResultStreaming
from agents.memory import Session
from dbos import DBOS, DBOSClient, DBOSConfig

from .._env import LeaseSettings, executor_threads, tool_threads
from .._errors import ConfigurationError, StoreUnavailableError
from .._pg_pool import drop_closed_connections, postgres_engine
from ..state import RunStateStore, display_url
from . import _config, _step_sql, _stream, _takeover, _threads
from ._json import JSONSerializer
from ._spec import public_target, resolve_target

logger = logging.getLogger("timestep.durable")


@dataclass
class LocalRun:
    """In-process extras of a segment started here (not persisted; lost on a crash)."""

    agent: Agent[Any]
    store: RunStateStore
    run_config: RunConfig | None = None
    context: Any = None
    runner_kwargs: dict[str, Any] = field(default_factory=dict)
    session: Session | None = None
    result: RunResult | RunResultStreaming | None = None
    started: asyncio.Future[RunResultStreaming] | None = None
    saved: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Launched:
    url: str
    engine: sa.Engine | None
    worker: bool


class DurableRuntime:
    """Process-wide state of durable execution (one instance: :data:`RUNTIME`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._launch_lock = threading.Lock()
        self._agents: dict[str, Agent[Any]] = {}
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._stores: dict[str, RunStateStore] = {}
        self._known_targets: list[str] = []
        self._launched: _Launched | None = None
        self._engines: dict[str, sa.Engine] = {}
        self._clients: dict[str, DBOSClient] = {}
        self._prepared: set[str] = set()
        #: In-process extras of the segments started here, by workflow id.
        self.local_runs: dict[str, LocalRun] = {}
        #: RunConfig of segments recovered or dequeued here (``worker(run_config=...)``); None
        #: means timestep's default (``MultiModelProvider``).
        self.worker_run_config: RunConfig | None = None

    # ---- agents ------------------------------------------------------------------------------

    def register_agent(self, agent: Agent[Any]) -> None:
        """Make ``agent`` (by name) available to segments recovered or dequeued here."""
        with self._lock:
            self._agents[agent.name] = agent
            waiting = self._waiters.pop(agent.name, [])
        for loop, event in waiting:
            loop.call_soon_threadsafe(event.set)

    async def agent(self, name: str, run_id: str) -> Agent[Any]:
        """The registered agent ``name``; waits (the segment stays PENDING) until it is."""
        with self._lock:
            found = self._agents.get(name)
            if found is not None:
                return found
            event = asyncio.Event()
            self._waiters.setdefault(name, []).append((asyncio.get_running_loop(), event))
        logger.warning(
            "durable run %r needs agent %r, not registered in this process; it waits until "
            "register_agent() or a worker with that agent picks it up",
            run_id,
            name,
        )
        await event.wait()
        return self._agents[name]

    # ---- stores ------------------------------------------------------------------------------

    def add_store(self, store: RunStateStore) -> str:
        """Remember ``store`` (its credentials) for segments; return its persisted target."""
        persisted = public_target(store.target)
        with self._lock:
            if store.target not in self._known_targets:
                self._known_targets.append(store.target)
            self._stores.setdefault(persisted, store)
        return persisted

    def resolve(self, persisted: str) -> str:
        """The full target (with password) of a persisted one (see ``_spec.resolve_target``)."""
        with self._lock:
            known = list(self._known_targets)
        return resolve_target(persisted, known)

    def store_for(self, persisted: str) -> RunStateStore:
        """A process-wide store object for a persisted (password-free) target."""
        with self._lock:
            found = self._stores.get(persisted)
        if found is not None:
            return found
        made = RunStateStore(self.resolve(persisted))
        with self._lock:
            return self._stores.setdefault(persisted, made)

    # ---- system database ---------------------------------------------------------------------

    def _client_engine(self, url: str) -> sa.Engine:
        with self._lock:
            if url not in self._engines:
                if url.startswith("sqlite"):
                    self._engines[url] = _config.sqlite_engine(url)
                else:
                    self._engines[url] = postgres_engine(_config.postgres_url(url))
            return self._engines[url]

    def system_engine(self, store_url: str) -> sa.Engine:
        """Engine on the system database that belongs to ``store_url`` (created on first use)."""
        url = _config.system_database_url(store_url)
        launched = self._launched
        if launched is not None and launched.url == url and launched.engine is not None:
            return launched.engine
        return self._client_engine(url)

    def has_system_tables(self, store_url: str) -> bool:
        """Whether DBOS's tables exist in the system database of ``store_url`` (creates nothing)."""
        url = _config.system_database_url(store_url)
        if url.startswith("sqlite"):
            path = sa.make_url(url).database or ""
            if not os.path.exists(path):
                return False
            return sa.inspect(self.system_engine(store_url)).has_table("workflow_status")
        return sa.inspect(self.system_engine(store_url)).has_table("workflow_status", schema="dbos")

    def prepare_system_database(self, store_url: str, *, always: bool = False) -> str:
        """Create (or migrate) DBOS's tables and the stream event log for ``store_url``.

        With ``always=False`` only when DBOS's tables are missing (one check). Returns the
        system database URL (password hidden). A database that refuses is a
        ``StoreUnavailableError`` naming the fix.
        """
        url = _config.system_database_url(store_url)
        shown = display_url(url)
        if not always and url in self._prepared:
            return shown
        try:
            if always or not self.has_system_tables(store_url):
                DBOS.migrate(url if url.startswith("sqlite") else _config.postgres_url(url))
            _stream.create_table(self.system_engine(store_url))
            if not url.startswith("sqlite"):
                _takeover.ensure_table(self.system_engine(store_url))
        except Exception as error:
            raise StoreUnavailableError(
                f"cannot create DBOS's tables in {shown}: {error}; run `timestep db upgrade` "
                "as a database user allowed to create tables (and the schema `dbos` on Postgres)"
            ) from error
        with self._lock:
            self._prepared.add(url)
        return shown

    def client(self, store_url: str) -> DBOSClient:
        """A DBOS client (no launch, no recovery) for control operations from any process."""
        url = _config.system_database_url(store_url)
        with self._lock:
            found = self._clients.get(url)
        if found is not None:
            return found
        sqlite = url.startswith("sqlite")
        made = DBOSClient(
            system_database_url=url if sqlite else _config.postgres_url(url),
            system_database_engine=self.system_engine(store_url) if sqlite else None,
            serializer=JSONSerializer(),
            application_name="timestep",
        )
        with self._lock:
            return self._clients.setdefault(url, made)

    def forget(self, store_url: str) -> None:
        """Drop what this process keeps for ``store_url``: its store object, and the engine, DBOS
        client and "tables prepared" mark of its system database (the store's own engine:
        ``timestep.state``).

        A seam for tests that run the CLI in process: a relative SQLite URL names another file
        after a change of directory. Refused while DBOS runs on that system database.
        """
        url = _config.system_database_url(store_url)
        if self.launched_on(store_url):
            raise ConfigurationError(f"DBOS runs on {url!r} in this process: shutdown() first")
        with self._lock:
            self._stores.pop(public_target(store_url), None)
            self._known_targets = [t for t in self._known_targets if t != store_url]
            self._prepared.discard(url)
            client = self._clients.pop(url, None)
            engine = self._engines.pop(url, None)
        if client is not None:
            client.destroy()
        if engine is not None:
            engine.dispose()

    # ---- launch ------------------------------------------------------------------------------

    def launched_on(self, store_url: str) -> bool:
        """Whether this process already runs durable work on ``store_url``'s system database."""
        current = self._launched
        return current is not None and current.url == _config.system_database_url(store_url)

    @property
    def launched_as_worker(self) -> bool:
        """Whether DBOS runs in this process and dequeues segments."""
        current = self._launched
        return current is not None and current.worker

    def launch(
        self,
        store_url: str,
        *,
        worker: bool = False,
        worker_concurrency: int | None = None,
        lease: LeaseSettings | None = None,
        **options: Any,
    ) -> str:
        """Configure and launch DBOS once per process; return the system database URL in use.

        ``worker=True`` makes this process dequeue segments from the ``timestep`` queue; other
        processes only run the segments they start themselves. ``options`` go into the
        DBOSConfig (e.g. ``executor_id``, ``application_version``).
        """
        url = _config.system_database_url(store_url)
        with self._launch_lock:
            launched = self._launched
            if launched is not None:
                if launched.url != url:
                    raise ConfigurationError(
                        f"this process already runs durable workflows on {launched.url!r}; "
                        f"one process can use one DBOS system database, not also {url!r}"
                    )
                if worker and not launched.worker:
                    raise ConfigurationError(
                        "durable runs already started in this process without a worker; "
                        "start the worker before the first durable run"
                    )
                return url
            engine: sa.Engine | None = None
            config: DBOSConfig = {
                "name": "timestep",
                "application_version": _config.APPLICATION_VERSION,
                "serializer": JSONSerializer(),
                "log_level": os.environ.get("TIMESTEP_DBOS_LOG_LEVEL", "WARNING"),
                "notification_listener_polling_interval_sec": 0.05,
            }
            if url.startswith("sqlite"):
                engine = _config.sqlite_engine(url)
                config["system_database_url"] = url
                config["system_database_engine"] = engine
            else:
                config["system_database_url"] = _config.postgres_url(url)
                # a closed connection is found at checkout without DBOS's ping (see launch below)
                config["db_engine_kwargs"] = {"pool_pre_ping": False}
            if "executor_id" not in options:
                if url.startswith("sqlite"):
                    config["executor_id"] = _config.process_executor_id()
                elif not os.environ.get("DBOS__VMID"):
                    config["executor_id"] = _takeover.new_executor_id()
            config["max_executor_threads"] = executor_threads()
            tools = tool_threads()
            config.update(options)  # type: ignore[typeddict-item]
            DBOS(config=config)
            if not worker:
                DBOS.listen_queues([])
            DBOS.launch()
            checkpoint_threads = config.get("max_executor_threads") or executor_threads()
            _threads.route_tools(tools, url.startswith("sqlite"), checkpoint_threads)
            _step_sql.install_launched()
            if engine is None and "system_database_engine" not in options:
                drop_closed_connections(_config.dbos_engine())
            DBOS.register_queue(
                _config.QUEUE_NAME,
                worker_concurrency=worker_concurrency,
                polling_interval_sec=0.1,
                on_conflict="always_update" if worker else "never_update",
            )
            _stream.bind(engine if engine is not None else self._client_engine(url))
            # every process keeps a heartbeat row (the live-worker view); on Postgres it is
            # also the lease that live workers take over from (``_takeover``)
            _takeover.start(
                engine if engine is not None else self._client_engine(url),
                DBOS.executor_id,
                lease or LeaseSettings.resolve(),
                takes_over=worker,
                worker=worker,
            )
            self._launched = _Launched(url, engine, worker)
            return url

    def shutdown(self) -> None:
        """Destroy this process's DBOS instance (tests and clean worker exits)."""
        with self._launch_lock:
            launched = self._launched
            if launched is None:
                return
            _stream.unbind()
            _takeover.stop()
            DBOS.destroy(destroy_registry=False)
            if launched.engine is not None:
                launched.engine.dispose()
            self._launched = None


#: The process's durable runtime.
RUNTIME = DurableRuntime()


def register_agent(agent: Agent[Any]) -> None:
    """Make ``agent`` (by name) available to segments recovered or dequeued in this process."""
    RUNTIME.register_agent(agent)


def shutdown() -> None:
    """Destroy this process's DBOS instance (tests and clean worker exits)."""
    RUNTIME.shutdown()


def prepare_system_database(store: RunStateStore) -> str:
    """Create or migrate DBOS's tables for durable runs on ``store`` (``timestep db upgrade``).

    Returns the system database's URL (password hidden). Workers do this on start; run it in a
    deploy step so ``enqueue_run`` and control commands work before any worker started.
    """
    return RUNTIME.prepare_system_database(store.target, always=True)


def given_store(store: object) -> RunStateStore:
    """``store``, or the default ``RunStateStore()`` for ``None``; anything else is refused."""
    if store is None:
        return RunStateStore()
    if not isinstance(store, RunStateStore):
        raise ConfigurationError(
            f"store must be a RunStateStore (e.g. RunStateStore({store!r})), not "
            f"{type(store).__name__}"
            if isinstance(store, str)
            else f"store must be a RunStateStore, not {type(store).__name__}"
        )
    return store
