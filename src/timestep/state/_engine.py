"""SQLAlchemy engines for store URLs, shared per process, with database errors made typed."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from .._errors import ConfigurationError, CorruptStateError, StoreUnavailableError
from .._pg_pool import postgres_engine

DEFAULT_URL = "sqlite:///timestep.db"
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def default_url() -> str:
    """``$TIMESTEP_DB`` or ``sqlite:///timestep.db`` (in the working directory)."""
    return os.environ.get("TIMESTEP_DB") or DEFAULT_URL


def busy_timeout_ms() -> int:
    """How long SQLite waits for a lock held by another process (``$TIMESTEP_SQLITE_BUSY_MS``)."""
    return int(os.environ.get("TIMESTEP_SQLITE_BUSY_MS", "5000"))


def normalize_url(url: str) -> URL:
    """Map ``sqlite:///`` and ``postgresql://`` URLs to the drivers timestep ships with."""
    try:
        parsed = make_url(url)
    except Exception as error:  # SQLAlchemy raises ArgumentError with a generic message
        raise ConfigurationError(f"not a database URL: {url!r} ({error})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigurationError(
        f"unsupported database {backend!r} in {url!r}: use sqlite:///path.db or postgresql://..."
    )


def display_url(url: URL | str) -> str:
    """The URL with any password hidden, for messages."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.render_as_string(hide_password=True)


#: Execution option of a SQLite connection whose work is one read statement (no BEGIN).
SINGLE_READ = "timestep_single_read"


#: ``Connection.info`` key of a connection whose transaction holds the process's write lock.
_HOLDS_WRITE_LOCK = "timestep_holds_write_lock"

_write_locks: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def sqlite_write_lock(engine: Engine) -> threading.RLock:
    """The lock this process's writers of ``engine``'s SQLite file take before ``BEGIN IMMEDIATE``.

    SQLite's busy timeout is for other processes. This process's own writers queue here for the
    write lock instead: in SQLite's busy handler, many threads of one process starve each other
    (1,000 concurrent durable runs failed with "database is locked"). Re-entrant, so a thread that
    opens a second write transaction fails on SQLite's lock as before.
    """
    return _write_locks[engine]


def _configure_sqlite(engine: Engine) -> None:
    timeout = busy_timeout_ms()
    write_lock = _write_locks[engine] = threading.RLock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {timeout}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front so read-then-write transactions serialise cleanly. A
        # one-statement read (``SINGLE_READ``) runs outside a transaction instead: one statement
        # is its own snapshot, and it neither waits for nor blocks a writer.
        if conn.get_execution_options().get(SINGLE_READ):
            return
        write_lock.acquire()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            write_lock.release()
            raise
        conn.info[_HOLDS_WRITE_LOCK] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Any) -> None:
        if conn.info.pop(_HOLDS_WRITE_LOCK, False):
            write_lock.release()


def get_engine(url: str) -> Engine:
    """A process-wide engine for ``url`` (created on first use)."""
    normalized = normalize_url(url)
    key = normalized.render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is not None:
            return engine
        if normalized.get_backend_name() == "sqlite":
            database = normalized.database or ""
            if database and database != ":memory:":
                parent = Path(database).expanduser().resolve().parent
                if not parent.is_dir():
                    raise StoreUnavailableError(
                        f"SQLite database {database!r}: directory {str(parent)!r} does not exist"
                    )
            engine = create_engine(normalized)
            _configure_sqlite(engine)
        else:
            engine = postgres_engine(normalized)
        _engines[key] = engine
        return engine


#: Called with an engine ``dispose_engine`` closes (``_pg_async`` closes its own connections).
on_dispose: list[Callable[[Engine], None]] = []


def dispose_engine(url: str) -> None:
    """Close the pooled connections of ``url``'s engine, if one was created."""
    key = normalize_url(url).render_as_string(hide_password=False)
    with _lock:
        engine = _engines.pop(key, None)
    if engine is not None:
        for hook in on_dispose:
            hook(engine)
        engine.dispose()


def _typed(url: URL | str, driver_error: object) -> CorruptStateError | StoreUnavailableError:
    detail = (str(driver_error).strip().splitlines() or [type(driver_error).__name__])[0]
    if "could not decode to utf-8" in detail.lower():
        return CorruptStateError(
            f"database {display_url(url)}: a stored text value is not UTF-8 ({detail[:200]})"
        )
    if "locked" in detail:
        detail += f" (waited {busy_timeout_ms() / 1000:g} s for another process)"
    return StoreUnavailableError(f"database {display_url(url)}: {detail}")


@contextmanager
def database_errors(url: URL | str) -> Iterator[None]:
    """Re-raise driver failures (locked, gone, unreachable) as ``StoreUnavailableError``.

    Covers SQLAlchemy's calls and the drivers' own (``sqlite3``, ``psycopg``: the durable path's
    store calls, ``_driver``); a stored text that is not UTF-8 is a ``CorruptStateError``.
    """
    try:
        yield
    except (DBAPIError, sqlite3.Error, psycopg.Error) as error:
        cause = error.orig if isinstance(error, DBAPIError) and error.orig else error
        typed = _typed(url, cause)
        raise typed from (None if isinstance(typed, CorruptStateError) else error)
    except SQLAlchemyError as error:
        raise StoreUnavailableError(f"database {display_url(url)}: {error}") from error
