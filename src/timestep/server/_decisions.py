"""Human decisions on pending tool calls: the audit rows of ``timestep_approvals``.

A decision is one row (who, when, why) for the waiting version of a run, written by the durable
engine in a transaction that re-checks the run; the next segment applies it when the run resumes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from .._errors import ApprovalAlreadyDecidedError, ApprovalError
from ..state.records import PendingApproval, RunSummary, StoredState
from ..state.schema import approvals

if TYPE_CHECKING:
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
    """Decisions of one run (or of all runs), oldest first; none for a file store."""
    if store.kind == "file":
        return []
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


def _who_decided(store: RunStateStore, run_id: str, call_id: str) -> str:
    records = [r for r in list_decisions(store, run_id) if r.call_id == call_id]
    if not records:
        return f"call {call_id!r} of run {run_id!r} was already decided"
    record = records[-1]
    by = f" by {record.decided_by}" if record.decided_by else ""
    verb = "approved" if record.decision == "approve" else "rejected"
    return f"call {call_id!r} of run {run_id!r} was already {verb}{by} at {record.decided_at}"


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

    Uses the durable engine's transactional check (run still waiting at the same version).
    Raises ``RunNotFoundError``, ``UnknownCallError``, ``RunNotWaitingError``, ``ApprovalError``
    (several undecided calls and none named) or ``ApprovalAlreadyDecidedError``, whose message
    says who decided and when.
    """
    from ..durable import approve, reject

    if call_id is None:
        latest = await store.get(run_id)
        if latest.status == "waiting":
            open_calls = undecided(latest, list_decisions(store, run_id))
            if not open_calls and latest.pending_approvals:
                raise ApprovalAlreadyDecidedError(
                    f"every pending call of run {run_id!r} was already decided"
                )
            if len(open_calls) > 1:
                names = ", ".join(p.call_id for p in open_calls)
                raise ApprovalError(
                    f"run {run_id!r} has {len(open_calls)} undecided calls ({names}); name one"
                )
            if open_calls:
                call_id = open_calls[0].call_id
    try:
        decide_call = approve if decision == "approve" else reject
        done = await decide_call(
            run_id, call_id, reason=reason, by=decided_by, always=always, store=store
        )
        decided, version = done.call_id, done.state_version
    except ApprovalAlreadyDecidedError:
        raise ApprovalAlreadyDecidedError(_who_decided(store, run_id, call_id or "")) from None
    [record] = [r for r in list_decisions(store, run_id, version=version) if r.call_id == decided]
    return record
