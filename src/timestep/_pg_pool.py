"""Postgres pool: a connection the server has closed is replaced at checkout, without a round trip.

A server that restarts, or ends a session (``pg_terminate_backend``, ``idle_session_timeout``,
a proxy closing it), sends a FATAL message and closes its side of the socket. Until the next use,
a pooled connection then sits with a readable socket while no query of ours is running: checking
that at checkout is one ``poll`` of the socket. SQLAlchemy's ``pool_pre_ping`` asks the server
instead (``SELECT 1``), a round trip per checkout: three per durable run for the store and two
per step for DBOS's system database (its engine gets this check instead of its ping too). Every
Postgres engine timestep creates comes from ``postgres_engine`` (the store's, the system
database's client engine); DBOS's own engine gets ``drop_closed_connections`` after launch. A
connection whose peer vanished without closing it (a cut network) is not caught by either
before its statement runs; that statement then fails with ``StoreUnavailableError``.
"""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

#: Seconds a new Postgres connection may take before the attempt fails (a host that is gone):
#: every pool's here, and ``state._pg_async``'s connections.
CONNECT_TIMEOUT = 10


def _readable(fd: int) -> bool:
    """Whether ``fd`` has data or a hang-up waiting (no wait)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [fd], 0)[0])  # Windows: no poll()


def server_closed(dbapi_connection: Any) -> bool:
    """Whether an idle driver connection was closed by its server (or by us)."""
    if getattr(dbapi_connection, "closed", False):
        return True
    try:
        fd = dbapi_connection.fileno()
    except Exception:  # the driver reports a broken connection when asked for its socket
        return True
    return fd < 0 or _readable(fd)


def drop_closed_connections(engine: Engine) -> None:
    """Replace, at checkout, a pooled connection that ``server_closed`` finds closed."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if server_closed(dbapi_connection):
            # the pool discards this connection and checks out a new one (SQLAlchemy retries)
            raise DisconnectionError("the server closed this pooled connection")


def postgres_engine(url: str | URL) -> Engine:
    """An engine on Postgres: connect timeout, no ping, closed connections replaced at checkout."""
    engine = create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT})
    drop_closed_connections(engine)
    return engine
