"""The SQL statements a store's engine runs, recorded while inside a ``with`` block.

Two paths are recorded: SQLAlchemy Core's cursor executions and the statements the durable
path's calls run on the driver's own connection (``timestep.state._driver``).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event

from timestep.state import _driver
from timestep.state._engine import get_engine

__all__ = ["StatementLog"]

#: Transaction control the driver path issues around its SQLite writes (not queries).
_CONTROL = frozenset({"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"})


def _one_line(statement: str) -> str:
    return " ".join(statement.split())


class StatementLog:
    """Statements of the store engine of ``url``: ``core``, ``driver`` and, in order, ``queries``.

    ``core`` and ``driver`` hold every statement as run; ``queries`` holds both paths' statements
    on one line each, in the order they ran, without the driver's transaction control;
    ``driver_threads`` the thread each ``driver`` statement ran in.
    """

    def __init__(self, url: str) -> None:
        self.engine = get_engine(url)
        self.core: list[str] = []
        self.driver: list[str] = []
        self.driver_threads: list[int] = []
        self.queries: list[str] = []

    def _on_core(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        self.core.append(statement)
        self.queries.append(_one_line(statement))

    def _on_driver(self, engine: Any, statement: str) -> None:
        if engine is not self.engine:
            return
        self.driver.append(statement)
        self.driver_threads.append(threading.get_ident())
        if statement not in _CONTROL:
            self.queries.append(_one_line(statement))

    def __enter__(self) -> StatementLog:
        event.listen(self.engine, "before_cursor_execute", self._on_core)
        _driver.statement_listeners.append(self._on_driver)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_core)
        _driver.statement_listeners.remove(self._on_driver)
