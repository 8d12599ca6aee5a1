"""Plain records describing stored runs and state versions."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

RunStatus = Literal["running", "waiting", "done", "failed", "cancelled"]
Language = Literal["python", "typescript"]
RUN_STATUSES: tuple[RunStatus, ...] = ("running", "waiting", "done", "failed", "cancelled")


@dataclass(frozen=True)
class PendingApproval:
    """A tool call waiting for a human decision, listed without loading the whole state."""

    call_id: str
    tool_name: str
    arguments: str
    agent_name: str

    def to_dict(self) -> dict[str, str]:
        """JSON form used in the ``pending_approvals`` columns."""
        return asdict(self)


@dataclass(frozen=True)
class StoredState:
    """One saved version of a run's state, as stored (``state_json`` may be omitted)."""

    run_id: str
    version: int
    language: Language
    sdk_version: str
    schema_version: str
    agent_name: str
    status: RunStatus
    pending_approvals: list[PendingApproval]
    state_json: dict[str, Any] | None
    created_at: str


@dataclass(frozen=True)
class NewVersion:
    """A state version on its way into a store (what every backend writes)."""

    body: str
    language: Language
    sdk_version: str
    schema_version: str
    agent_name: str
    status: RunStatus
    pending_approvals: list[PendingApproval]

    def columns(self) -> dict[str, Any]:
        """Column values shared by the version row and its metadata (JSON columns as text)."""
        return {
            "language": self.language,
            "sdk_version": self.sdk_version,
            "schema_version": self.schema_version,
            "agent_name": self.agent_name,
            "status": self.status,
            "pending_approvals": dump_pending(self.pending_approvals),
        }

    def stored(self, run_id: str, version: int, created_at: str) -> StoredState:
        """The record of this version once saved (without its body)."""
        return StoredState(
            run_id=run_id,
            version=version,
            language=self.language,
            sdk_version=self.sdk_version,
            schema_version=self.schema_version,
            agent_name=self.agent_name,
            status=self.status,
            pending_approvals=self.pending_approvals,
            state_json=None,
            created_at=created_at,
        )


@dataclass(frozen=True)
class RunSummary:
    """The latest facts about one run."""

    run_id: str
    agent_name: str
    status: RunStatus
    latest_version: int
    language: Language
    pending_approvals: list[PendingApproval]
    metadata: dict[str, Any]
    created_at: str
    updated_at: str
    problem: str | None = None
    """Why this row's side columns could not be read (the row is listed, marked unreadable)."""


_last_now: list[datetime] = [datetime.min.replace(tzinfo=UTC)]
_now_lock = threading.Lock()


def utc_now() -> str:
    """Current time as ISO-8601 UTC text with microseconds and a ``Z`` suffix.

    Strictly increasing within the process, so two writes in the same microsecond still list in
    the order they happened ("most recently updated first").
    """
    with _now_lock:
        now = max(datetime.now(UTC), _last_now[0] + timedelta(microseconds=1))
        _last_now[0] = now
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dump_pending(pending: list[PendingApproval]) -> str:
    """Serialise pending approvals for a JSON text column."""
    return json.dumps([p.to_dict() for p in pending], separators=(",", ":"))
