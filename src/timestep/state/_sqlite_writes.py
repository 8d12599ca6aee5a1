"""A run's first row and a compare-and-set append on SQLite, on the driver's connection.

The twins of ``_pg_writes``, in a ``BEGIN IMMEDIATE`` transaction under the process's write lock
(``_driver.sqlite_write``): the run row first, then the version row, then the change counter's
bump, in the lock order of every other writer. An append answers ``None`` when it wrote nothing
because the run is missing; the caller then takes the SQLAlchemy path, which handles that case.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ._records import NewVersion
from ._row_values import next_version, run_values, version_values

_CREATE_RUN = (
    "INSERT INTO timestep_runs (run_id, agent_name, status, latest_version, language, "
    "pending_approvals, metadata, created_at, updated_at) VALUES (:run_id, :agent_name, "
    ":status, 0, :language, :pending_approvals, :metadata, :updated_at, :updated_at) "
    "ON CONFLICT (run_id) DO NOTHING RETURNING run_id"
)
_LOCK_RUN = "SELECT latest_version, metadata FROM timestep_runs WHERE run_id = ?"
_UPDATE_RUN = (
    "UPDATE timestep_runs SET agent_name = :agent_name, status = :status, "
    "latest_version = :latest_version, language = :language, "
    "pending_approvals = :pending_approvals, metadata = :metadata, updated_at = :updated_at "
    "WHERE run_id = :run_id"
)
_INSERT_VERSION = (
    "INSERT INTO timestep_run_states (run_id, version, language, sdk_version, schema_version, "
    "agent_name, status, pending_approvals, state_json, state_sha256, created_at) VALUES "
    "(:run_id, :version, :language, :sdk_version, :schema_version, :agent_name, :status, "
    ":pending_approvals, :state_json, :state_sha256, :created_at)"
)
_BUMP = "UPDATE timestep_changes SET counter = counter + 1 WHERE id = 1"


def _insert_version(
    conn: sqlite3.Connection,
    run_id: str,
    version: int,
    new: NewVersion,
    columns: dict[str, Any],
    now: str,
) -> None:
    """The version row (``columns``: ``new.columns()``, computed once per write), then the bump."""
    conn.execute(_INSERT_VERSION, version_values(run_id, version, new, columns, now))
    conn.execute(_BUMP)


def create(
    conn: sqlite3.Connection,
    run_id: str,
    new: NewVersion,
    now: str,
    metadata: dict[str, Any] | None,
) -> bool:
    """Write version 0 of ``run_id``; False (and no change) when the run already has a row."""
    columns = new.columns()
    values = {"run_id": run_id, **run_values(run_id, new, columns, 0, None, metadata, now)}
    if conn.execute(_CREATE_RUN, values).fetchone() is None:
        return False
    _insert_version(conn, run_id, 0, new, columns, now)
    return True


def append(
    conn: sqlite3.Connection,
    run_id: str,
    new: NewVersion,
    now: str,
    expected: int,
    metadata: dict[str, Any] | None,
) -> int | None:
    """Append the version after ``expected``; its number, or None when the run has no row.

    Raises ``StaleStateError`` (writing nothing) when the run's latest version is another one.
    """
    row = conn.execute(_LOCK_RUN, (run_id,)).fetchone()
    if row is None:
        return None
    version = next_version(run_id, int(row[0]), expected)
    columns = new.columns()
    values = run_values(run_id, new, columns, version, row[1], metadata, now)
    conn.execute(_UPDATE_RUN, {"run_id": run_id, **values})
    _insert_version(conn, run_id, version, new, columns, now)
    return version
