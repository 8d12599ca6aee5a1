"""The connections on which the durable path's store calls run on the event loop, for tests.

Postgres: ``timestep.state._pg_async``'s idle async connections; SQLite: ``_sqlite_loop``'s one
connection per loop. Both on every event loop of the process.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from timestep.state import _pg_async, _sqlite_loop
from timestep.state._engine import get_engine

__all__ = ["is_closed", "loop_connections"]


def loop_connections(url: str) -> list[Any]:
    """The idle loop-side connections to ``url``'s database, on every loop."""
    engine = get_engine(url)
    if url.startswith("postgresql"):
        with _pg_async._lock:
            return [
                conn
                for loops in _pg_async._by_loop.values()
                for conn in loops.get(engine, _pg_async._LoopConnections()).idle
            ]
    with _sqlite_loop._lock:
        return [
            conn
            for mine in _sqlite_loop._by_loop.values()
            if (conn := mine.get(engine)) is not None
        ]


def is_closed(conn: Any) -> bool:
    """Whether a loop-side connection (psycopg async or sqlite3) was closed."""
    if isinstance(conn, sqlite3.Connection):
        try:
            conn.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(conn.closed)
