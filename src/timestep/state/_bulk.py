"""Bulk rows for benchmarks: many runs written straight into the store's tables, unchecked.

bench/bench_history.py grows a database to 100,000 runs with these; ordinary writers use
``RunStateStore`` (one checked transaction per save).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert, text, update

from . import _schema as schema
from ._engine import get_engine


def _bump() -> Any:
    changes = schema.changes
    return update(changes).where(changes.c.id == 1).values(counter=changes.c.counter + 1)


def store_engine(url: str) -> Engine:
    """The engine a ``RunStateStore`` on ``url`` uses (to count or EXPLAIN its statements)."""
    return get_engine(url)


def insert_rows(
    url: str,
    *,
    runs: Sequence[dict[str, Any]] = (),
    states: Sequence[dict[str, Any]] = (),
    decisions: Sequence[dict[str, Any]] = (),
) -> None:
    """Insert run, version and decision rows (column dicts) in one transaction."""
    with get_engine(url).begin() as conn:
        for table, rows in (
            (schema.runs, runs),
            (schema.run_states, states),
            (schema.approvals, decisions),
        ):
            if rows:
                conn.execute(insert(table), list(rows))
        conn.execute(_bump())


def point_run_at(url: str, run_id: str, latest_version: int, updated_at: str) -> None:
    """Set a run's ``latest_version`` (after inserting its versions with ``insert_rows``)."""
    with get_engine(url).begin() as conn:
        conn.execute(
            update(schema.runs)
            .where(schema.runs.c.run_id == run_id)
            .values(latest_version=latest_version, updated_at=updated_at)
        )
        conn.execute(_bump())


def analyze(url: str) -> None:
    """Refresh the database's planner statistics."""
    with get_engine(url).begin() as conn:
        conn.execute(text("ANALYZE"))
