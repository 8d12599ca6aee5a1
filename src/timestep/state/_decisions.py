"""Human decisions on pending tool calls: the records and the rules every backend applies.

A decision is one audit record (who, when, why) for the waiting version of a run. The rules that
choose and check the decided call live here once; the backends apply them inside the transaction
(or file lock) that writes the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .._errors import ApprovalAlreadyDecidedError, ApprovalError, UnknownCallError
from ._records import PendingApproval, RunSummary, StoredState

DecisionKind = Literal["approve", "reject"]
DECISIONS: tuple[DecisionKind, ...] = ("approve", "reject")


@dataclass(frozen=True)
class DecisionRecord:
    """One recorded decision (a row of ``timestep_approvals``)."""

    run_id: str
    call_id: str
    tool_name: str
    decision: DecisionKind
    always: bool
    reason: str | None
    decided_by: str | None
    decided_at: str
    state_version: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the inbox API's ``Decision`` schema)."""
        return asdict(self)


@dataclass(frozen=True)
class DecisionOutcome:
    """What recording a decision did: the record, and whether every pending call is now decided."""

    record: DecisionRecord
    all_decided: bool


def choose_call(
    run_id: str,
    pending: list[PendingApproval],
    decided: Iterable[DecisionRecord],
    call_id: str | None,
) -> PendingApproval:
    """The pending call a new decision is about, or a typed error saying why there is none.

    With ``call_id`` None the run must have exactly one undecided call. ``decided`` holds the
    decisions already recorded for the same (waiting) version.
    """
    done = {record.call_id: record for record in decided}
    if call_id is None:
        open_calls = [p for p in pending if p.call_id not in done]
        if not open_calls and pending:
            raise ApprovalAlreadyDecidedError(
                f"every pending call of run {run_id!r} was already decided"
            )
        if len(open_calls) != 1:
            names = f" ({', '.join(p.call_id for p in open_calls)})" if open_calls else ""
            raise ApprovalError(
                f"run {run_id!r} has {len(open_calls)} undecided calls{names}; "
                "name one with call_id"
            )
        return open_calls[0]
    entry = next((p for p in pending if p.call_id == call_id), None)
    if entry is None:
        known = ", ".join(p.call_id for p in pending) or "none"
        raise UnknownCallError(
            f"run {run_id!r} has no pending approval {call_id!r} (pending: {known})"
        )
    if call_id in done:
        raise already_decided(done[call_id])
    return entry


def already_decided(record: DecisionRecord) -> ApprovalAlreadyDecidedError:
    """The error for a second decision on ``record``'s call, saying who decided and when."""
    by = f" by {record.decided_by}" if record.decided_by else ""
    verb = "approved" if record.decision == "approve" else "rejected"
    return ApprovalAlreadyDecidedError(
        f"call {record.call_id!r} of run {record.run_id!r} was already {verb}{by} at "
        f"{record.decided_at} (version {record.state_version})"
    )


def all_decided(pending: list[PendingApproval], decided: Iterable[str]) -> bool:
    """Whether every pending call has a decision (False when nothing is pending)."""
    calls = {p.call_id for p in pending}
    return bool(calls) and calls <= set(decided)


def undecided(
    run: RunSummary | StoredState, decisions: Iterable[DecisionRecord]
) -> list[PendingApproval]:
    """Pending approvals of the run's latest version that nobody has decided yet."""
    version = run.latest_version if isinstance(run, RunSummary) else run.version
    if run.status != "waiting":
        return []
    done = {d.call_id for d in decisions if d.run_id == run.run_id and d.state_version == version}
    return [p for p in run.pending_approvals if p.call_id not in done]
