"""The ``Backend`` protocol: every operation on timestep's stored runs, one implementation per kind.

``RunStateStore`` is the async face of a backend (it runs these blocking calls in a thread, but
awaits the durable path's three calls on a SQL database on the event loop, ``_sql_awaited``); no
module outside ``timestep.state`` reads or writes the tables (or file) behind it. The TypeScript
package has the same interface in ``ts/src/store.ts``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Protocol

from ._decisions import DecisionKind, DecisionOutcome, DecisionRecord
from ._filters import RunFilter
from ._records import NewVersion, RunStatus, RunSummary, StoredState


class Backend(Protocol):
    """Storage of versioned run states and the decisions on their pending calls."""

    url: str

    def append(
        self,
        run_id: str,
        new: NewVersion,
        *,
        expected_version: int | None,
        metadata: dict[str, Any] | None,
        keep_versions: int | None,
    ) -> StoredState:
        """Add the next version of ``run_id``; a stale ``expected_version`` raises."""
        ...

    def create(
        self, run_id: str, new: NewVersion, metadata: dict[str, Any] | None
    ) -> StoredState | None:
        """Write version 0 of a run that has no row yet; ``None`` (no change) when it has one."""
        ...

    def get(self, run_id: str, version: int | None) -> StoredState:
        """One version (the latest when ``version`` is None), with its JSON body."""
        ...

    def versions(self, run_id: str) -> list[StoredState]:
        """Every kept version of ``run_id``, oldest first, without bodies."""
        ...

    def run(self, run_id: str) -> RunSummary:
        """The latest facts of one run (``RunNotFoundError`` when unknown)."""
        ...

    def list_runs(
        self, keep: RunFilter, limit: int | None = None, offset: int = 0
    ) -> list[RunSummary]:
        """Latest facts of the runs ``keep`` keeps, most recently updated first, one page."""
        ...

    def count_runs(self, keep: RunFilter) -> int:
        """How many runs ``keep`` keeps, without reading them."""
        ...

    def set_status(
        self, run_id: str, status: RunStatus, metadata: dict[str, Any] | None = None
    ) -> None:
        """Change a run's status, merging ``metadata``, without a new version."""
        ...

    def delete(self, run_id: str) -> None:
        """Remove a run with its versions and decisions."""
        ...

    def decide(
        self,
        run_id: str,
        call_id: str | None,
        decision: DecisionKind,
        *,
        always: bool,
        reason: str | None,
        decided_by: str | None,
        arguments: str | None = None,
        output: str | None = None,
    ) -> DecisionOutcome:
        """Record a decision on a pending call of a waiting run, checked atomically."""
        ...

    def decisions(self, run_id: str | None, version: int | None) -> list[DecisionRecord]:
        """Recorded decisions (of one run, of one version), oldest first."""
        ...

    def claim(self, run_id: str, version: int, status: RunStatus = "waiting") -> bool:
        """Flip a run in ``status`` at ``version`` to running; True only for the caller that did."""
        ...

    def claim_decisions(self, run_id: str, version: int) -> list[DecisionRecord]:
        """Mark the run running if still waiting at ``version``; that version's decisions."""
        ...

    def ready_to_resume(self) -> list[str]:
        """Waiting runs whose every pending call has a decision."""
        ...

    def change_marker(self) -> Hashable:
        """A cheap value that changes whenever a run or a decision is written."""
        ...
