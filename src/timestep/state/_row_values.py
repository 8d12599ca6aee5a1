"""What an append writes: its version number and the values of the run row and the version row.

One source for the store's SQL write paths (SQLAlchemy's transactional ``_append`` and the SQLite
driver's ``_sqlite_writes``), so the compare-and-set rule, the metadata merge and the columns
cannot drift apart between them; the file backend shares the compare-and-set rule. Postgres's
one-statement writes (``_pg_writes``) take the version row's values from here and check the
version and merge metadata in their SQL.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import StaleStateError
from ._decode import merged_metadata
from ._integrity import body_checksum
from ._records import NewVersion


def next_version(run_id: str, latest: int, expected: int | None) -> int:
    """The version after ``latest``; ``StaleStateError`` if ``expected`` is given and differs."""
    if expected is not None and expected != latest:
        raise StaleStateError(run_id, expected, latest)
    return latest + 1


def run_values(
    run_id: str,
    new: NewVersion,
    columns: dict[str, Any],
    version: int,
    stored_metadata: object,
    metadata: dict[str, Any] | None,
    now: str,
) -> dict[str, Any]:
    """The run row's facts after writing ``version`` (``columns``: ``new.columns()``).

    ``metadata`` is laid over the stored metadata; unreadable stored metadata is kept under
    ``unreadable_metadata``, as every save keeps it.
    """
    merged = merged_metadata(stored_metadata, metadata, f"run {run_id!r}: metadata")
    return {
        "agent_name": new.agent_name,
        "status": new.status,
        "latest_version": version,
        "language": new.language,
        "pending_approvals": columns["pending_approvals"],
        "metadata": json.dumps(merged) if merged else None,
        "updated_at": now,
    }


def version_values(
    run_id: str, version: int, new: NewVersion, columns: dict[str, Any], now: str
) -> dict[str, Any]:
    """The version row of ``version`` (``columns``: ``new.columns()``, computed once per write)."""
    return {
        "run_id": run_id,
        "version": version,
        "state_json": new.body,
        "state_sha256": body_checksum(new.body),
        "created_at": now,
        **columns,
    }
