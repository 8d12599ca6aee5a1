"""A run's first row and a compare-and-set append on Postgres, each in one statement.

The durable path writes a run's version 0 (``create``) and its end-of-segment save (an append on
the version the segment extends). In a transaction each costs BEGIN, 2-3 statements and COMMIT;
here each is one autocommit statement of data-modifying CTEs: the run row is written (and locked)
first, the version row is inserted from its RETURNING, and the change counter is bumped last, in
the lock order of every other writer. One statement is atomic, so a failure changes nothing. They
run on the driver's connection (``_driver.pg_autocommit``) or, awaited on the event loop, on an
async one (``_pg_async``); SQLite's twins are in ``_sqlite_writes``.

An append answers ``None`` when it changed nothing: the run is missing, its latest version is not
the expected one, or its stored metadata is no JSON object. The caller then takes the
transactional path, which raises the precise error or keeps the unreadable metadata.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from ._records import NewVersion
from ._row_values import version_values

_VERSION_COLUMNS = (
    "language, sdk_version, schema_version, agent_name, status, pending_approvals, state_json, "
    "state_sha256, created_at"
)
_VERSION_VALUES = (
    "%(language)s, %(sdk_version)s, %(schema_version)s, %(agent_name)s, %(status)s, "
    "%(pending_approvals)s, %(state_json)s, %(state_sha256)s, %(created_at)s"
)
_BUMP = (
    "bump AS (UPDATE timestep_changes SET counter = counter + 1 "
    "WHERE id = 1 AND EXISTS (SELECT 1 FROM version))"
)

_CREATE = (
    "WITH run AS (INSERT INTO timestep_runs (run_id, agent_name, status, latest_version, "
    "language, pending_approvals, metadata, created_at, updated_at) VALUES (%(run_id)s, "
    "%(agent_name)s, %(status)s, 0, %(language)s, %(pending_approvals)s, %(metadata)s, "
    "%(now)s, %(now)s) "
    "ON CONFLICT (run_id) DO NOTHING RETURNING run_id), "
    f"version AS (INSERT INTO timestep_run_states (run_id, version, {_VERSION_COLUMNS}) "
    f"SELECT run_id, 0, {_VERSION_VALUES} FROM run RETURNING version), {_BUMP} "
    "SELECT version FROM version"
)

# ``metadata`` merges the new keys over the stored object (NULL or '' is none; without new keys
# it is left as it was, '' becoming NULL as the transactional path writes it). The WHERE leaves
# a row whose metadata is JSON but no object to the transactional path; text that is no JSON
# fails the cast, and the statement with it.
_APPEND = (
    "WITH run AS (UPDATE timestep_runs SET agent_name = %(agent_name)s, status = %(status)s, "
    "latest_version = latest_version + 1, language = %(language)s, "
    "pending_approvals = %(pending_approvals)s, updated_at = %(now)s, metadata = CASE "
    "WHEN CAST(%(metadata)s AS text) IS NULL THEN NULLIF(metadata, '') "
    "ELSE (COALESCE(CAST(NULLIF(metadata, '') AS jsonb), '{}'::jsonb) "
    "|| CAST(%(metadata)s AS jsonb))::text END "
    "WHERE run_id = %(run_id)s AND latest_version = %(expected)s "
    "AND (NULLIF(metadata, '') IS NULL OR jsonb_typeof(CAST(metadata AS jsonb)) = 'object') "
    "RETURNING latest_version), "
    f"version AS (INSERT INTO timestep_run_states (run_id, version, {_VERSION_COLUMNS}) "
    f"SELECT %(run_id)s, latest_version, {_VERSION_VALUES} FROM run RETURNING version), {_BUMP} "
    "SELECT version FROM version"
)


def _values(
    run_id: str, version: int, new: NewVersion, now: str, metadata: dict[str, Any] | None
) -> Any:
    """The version row's values (``_row_values``), the time and the metadata's new keys."""
    return {
        **version_values(run_id, version, new, new.columns(), now),
        "now": now,
        "metadata": json.dumps(metadata) if metadata else None,
    }


def create_statement(
    run_id: str, new: NewVersion, now: str, metadata: dict[str, Any] | None
) -> tuple[str, Any]:
    """The statement writing version 0 of ``run_id``, and its parameters."""
    return _CREATE, _values(run_id, 0, new, now, metadata)


def append_statement(
    run_id: str, new: NewVersion, now: str, expected: int, metadata: dict[str, Any] | None
) -> tuple[str, Any]:
    """The statement appending the version after ``expected``, and its parameters."""
    return _APPEND, {**_values(run_id, expected + 1, new, now, metadata), "expected": expected}


def create(
    conn: psycopg.Connection[Any],
    run_id: str,
    new: NewVersion,
    now: str,
    metadata: dict[str, Any] | None,
) -> bool:
    """Write version 0 of ``run_id``; False (and no change) when the run already has a row."""
    return conn.execute(*create_statement(run_id, new, now, metadata)).fetchone() is not None


def append(
    conn: psycopg.Connection[Any],
    run_id: str,
    new: NewVersion,
    now: str,
    expected: int,
    metadata: dict[str, Any] | None,
) -> int | None:
    """Append the version after ``expected``; its number, or None when nothing was written.

    Stored metadata that is no JSON fails the statement's cast (``DataError``): None too, and the
    transactional path keeps that text.
    """
    try:
        row = conn.execute(*append_statement(run_id, new, now, expected, metadata)).fetchone()
    except psycopg.DataError:
        return None
    return None if row is None else int(row[0])
