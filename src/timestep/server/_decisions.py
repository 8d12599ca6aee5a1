"""Human decisions on pending tool calls, as the CLI and the inbox record and read them.

The store checks and writes a decision atomically (``RunStateStore.decide``); the next durable
segment applies it when the run resumes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..state import DecisionKind, DecisionRecord

if TYPE_CHECKING:
    from ..state import RunStateStore

Decision = DecisionKind


async def list_decisions(
    store: RunStateStore, run_id: str | None = None, *, version: int | None = None
) -> list[DecisionRecord]:
    """Decisions of one run (or of all runs), oldest first; none for a file store."""
    return await store.decisions(run_id, version=version)


async def decide(
    store: RunStateStore,
    run_id: str,
    call_id: str | None,
    decision: Decision,
    *,
    reason: str | None = None,
    decided_by: str | None = None,
    always: bool = False,
) -> DecisionRecord:
    """Record a decision on a pending call (the only undecided one when ``call_id`` is None).

    Raises ``RunNotFoundError``, ``UnknownCallError``, ``RunNotWaitingError``, ``ApprovalError``
    (several undecided calls and none named) or ``ApprovalAlreadyDecidedError``, whose message
    says who decided and when.
    """
    outcome = await store.decide(
        run_id, call_id, decision, always=always, reason=reason, decided_by=decided_by
    )
    return outcome.record
