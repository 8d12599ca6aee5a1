"""Conversation history (SDK sessions) stored in the same database as run states."""

from __future__ import annotations

import threading

from agents.extensions.memory import SQLAlchemySession
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .._errors import ConfigurationError
from . import _schema as schema
from ._engine import database_errors, default_url, get_engine, normalize_url

_async_engines: dict[str, AsyncEngine] = {}
_lock = threading.Lock()


def _async_engine(url: str) -> AsyncEngine:
    normalized = normalize_url(url)
    if normalized.get_backend_name() == "sqlite":
        normalized = normalized.set(drivername="sqlite+aiosqlite")
    key = normalized.render_as_string(hide_password=False)
    with _lock:
        engine = _async_engines.get(key)
        if engine is None:
            engine = create_async_engine(normalized)
            _async_engines[key] = engine
        return engine


def open_session(session_id: str, db: str | None = None) -> SQLAlchemySession:
    """The SDK's ``SQLAlchemySession`` for ``session_id`` in ``db`` (default: the default store).

    The tables come from timestep's migrations (``timestep_sessions``, ``timestep_session_items``);
    SQLite and Postgres URLs are accepted.
    """
    url = db or default_url()
    if "://" not in url:
        raise ConfigurationError(
            f"sessions live in a database; {url!r} is a file path: use sqlite:///path.db"
        )
    with database_errors(url):
        schema.ensure_schema(get_engine(url))
    return SQLAlchemySession(
        session_id,
        engine=_async_engine(url),
        create_tables=False,
        sessions_table=schema.SESSIONS_TABLE,
        messages_table=schema.SESSION_ITEMS_TABLE,
    )
