"""Record human decisions on pending tool calls and apply them when a run resumes.

A decision is one row of ``timestep_approvals`` (who, when, why) for the waiting version of a run.
The row's unique key makes a second decision on the same call fail, across processes. The decision
reaches the RunState only when the run is resumed with its agent (:func:`apply_decisions`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .._errors import ApprovalAlreadyDecidedError, RunNotWaitingError, UnknownCallError
from ..state.records import PendingApproval, RunSummary, StoredState, utc_now
from ..state.schema import approvals

if TYPE_CHECKING:
    from agents import RunState

    from ..state.store import RunStateStore

Decision = Literal["approve", "reject"]


@dataclass(frozen=True)
class DecisionRecord:
    """One row of the approvals audit table."""

    run_id: str
    call_id: str
    tool_name: str
    decision: Decision
    always: bool
    reason: str | None
    decided_by: str | None
    decided_at: str
    state_version: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the API's ``Decision`` schema)."""
        return asdict(self)


def _record(row: Any) -> DecisionRecord:
    return DecisionRecord(
        run_id=row.run_id,
        call_id=row.call_id,
        tool_name=row.tool_name,
        decision=row.decision,
        always=bool(row.always),
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        state_version=row.state_version,
    )


def list_decisions(
    store: RunStateStore, run_id: str | None = None, *, version: int | None = None
) -> list[DecisionRecord]:
    """Decisions of one run (or of all runs), oldest first."""
    query = sa.select(approvals).order_by(approvals.c.id)
    if run_id is not None:
        query = query.where(approvals.c.run_id == run_id)
    if version is not None:
        query = query.where(approvals.c.state_version == version)
    with store.engine().connect() as conn:
        return [_record(row) for row in conn.execute(query)]


def undecided(
    run: RunSummary | StoredState, decisions: list[DecisionRecord]
) -> list[PendingApproval]:
    """Pending approvals of the run's latest version that nobody has decided yet."""
    version = run.latest_version if isinstance(run, RunSummary) else run.version
    if run.status != "waiting":
        return []
    done = {d.call_id for d in decisions if d.state_version == version}
    return [p for p in run.pending_approvals if p.call_id not in done]


def _already_decided(store: RunStateStore, run_id: str, version: int, call_id: str) -> str:
    for record in list_decisions(store, run_id, version=version):
        if record.call_id == call_id:
            by = f" by {record.decided_by}" if record.decided_by else ""
            verb = "approved" if record.decision == "approve" else "rejected"
            return (
                f"call {call_id!r} of run {run_id!r} was already {verb}{by} at {record.decided_at}"
            )
    return f"call {call_id!r} of run {run_id!r} was already decided"


async def decide(
    store: RunStateStore,
    run_id: str,
    call_id: str | None,
    decision: Decision,
    *,
    reason: str | None = None,
    decided_by: str | None = None,
    always: bool = False,
) -> list[DecisionRecord]:
    """Record a decision on one pending call, or on every undecided one when ``call_id`` is None.

    Raises ``RunNotFoundError`` for an unknown run, ``ApprovalError`` when the run is not waiting
    or has no such pending call, and ``ApprovalAlreadyDecidedError`` when the call was decided.
    """
    latest = await store.get(run_id)
    if latest.status != "waiting" or not latest.pending_approvals:
        raise RunNotWaitingError(f"run {run_id!r} is {latest.status}, not waiting for an approval")
    if call_id is None:
        targets = undecided(latest, list_decisions(store, run_id))
        if not targets:
            raise ApprovalAlreadyDecidedError(
                f"every pending call of run {run_id!r} was already decided"
            )
    else:
        targets = [p for p in latest.pending_approvals if p.call_id == call_id]
        if not targets:
            known = ", ".join(p.call_id for p in latest.pending_approvals)
            raise UnknownCallError(
                f"run {run_id!r} has no pending call {call_id!r} (pending: {known})"
            )
    now = utc_now()
    records = [
        DecisionRecord(
            run_id=run_id,
            call_id=p.call_id,
            tool_name=p.tool_name,
            decision=decision,
            always=always,
            reason=reason,
            decided_by=decided_by,
            decided_at=now,
            state_version=latest.version,
        )
        for p in targets
    ]
    try:
        with store.engine().begin() as conn:
            conn.execute(approvals.insert(), [r.to_dict() for r in records])
    except IntegrityError:
        message = _already_decided(store, run_id, latest.version, targets[0].call_id)
        raise ApprovalAlreadyDecidedError(message) from None
    return records


def apply_decisions(state: RunState[Any], decisions: list[DecisionRecord]) -> int:
    """Approve or reject the state's interruptions as recorded; returns how many were applied."""
    by_call = {d.call_id: d for d in decisions}
    applied = 0
    for item in state.get_interruptions():
        call_id = getattr(item.raw_item, "call_id", None)
        if call_id is None and isinstance(item.raw_item, dict):
            call_id = item.raw_item.get("call_id")
        record = by_call.get(str(call_id))
        if record is None:
            continue
        if record.decision == "approve":
            state.approve(item, always_approve=record.always)
        else:
            state.reject(item, always_reject=record.always, rejection_message=record.reason)
        applied += 1
    return applied
