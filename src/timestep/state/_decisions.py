"""Human decisions on pending tool calls: the records and the rules every backend applies.

A decision is one audit record (who, when, why) for the waiting version of a run. The rules that
choose and check the decided call live here once; the backends apply them inside the transaction
(or file lock) that writes the record.

Three kinds: ``approve`` (the tool runs; with ``arguments`` it runs with the human's edited
arguments instead of the model's, both kept in the record), ``reject`` (the tool does not run; the
reason goes to the model) and ``answer`` (the tool does not run; the human's ``output`` is given
to the model as the tool's output).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .._errors import (
    ApprovalAlreadyDecidedError,
    ApprovalError,
    ConfigurationError,
    UnknownCallError,
)
from ._records import PendingApproval, RunSummary, StoredState

DecisionKind = Literal["approve", "reject", "answer"]
DECISIONS: tuple[DecisionKind, ...] = ("approve", "reject", "answer")


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
    arguments: str | None = None
    """The edited arguments (JSON object text) an approval runs the tool with, else None."""
    original_arguments: str | None = None
    """The model's arguments of an edited approval (the audit trail's "before")."""
    output: str | None = None
    """An answer's text, given to the model as the tool's output (the tool does not run)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the inbox API's ``Decision`` schema)."""
        return asdict(self)


@dataclass(frozen=True)
class DecisionOutcome:
    """What recording a decision did: the record, and whether every pending call is now decided."""

    record: DecisionRecord
    all_decided: bool


def edit_arguments(arguments: Any) -> str:
    """Edited arguments as stored: a JSON object's compact text (the same in both languages).

    ``arguments`` is a dict, or the text of a JSON object (as typed in the CLI or the inbox).
    """
    value = arguments
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except ValueError as error:
            raise ConfigurationError(
                f"edited arguments are not valid JSON ({error}): give a JSON object, "
                'e.g. {"amount": 10}'
            ) from None
    if not isinstance(value, dict):
        raise ConfigurationError(
            f"edited arguments must be a JSON object, not {type(value).__name__}: "
            'e.g. {"amount": 10}'
        )
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ConfigurationError(f"edited arguments are not JSON ({error})") from None


def check_decision(
    decision: str, *, always: bool, arguments: str | None, output: str | None
) -> None:
    """The rules for a decision's extra fields (checked before anything is written)."""
    if decision not in DECISIONS:
        raise ConfigurationError(f"unknown decision {decision!r}; use approve, reject or answer")
    if arguments is not None and decision != "approve":
        raise ConfigurationError("edited arguments go with an approval, not a " + decision)
    if arguments is not None and always:
        raise ConfigurationError(
            "edited arguments apply to one call: they cannot be combined with always"
        )
    if decision == "answer":
        if not isinstance(output, str):
            raise ConfigurationError("an answer needs output: the text the model gets")
        if always:
            raise ConfigurationError("an answer applies to one call: it cannot be always")
    elif output is not None:
        raise ConfigurationError(f"output goes with an answer, not a {decision}")


def new_record(
    entry: PendingApproval,
    run_id: str,
    decision: DecisionKind,
    *,
    always: bool,
    reason: str | None,
    decided_by: str | None,
    decided_at: str,
    state_version: int,
    arguments: str | None,
    output: str | None,
) -> DecisionRecord:
    """The audit record of a decision on ``entry`` (keeps the model's arguments when edited)."""
    return DecisionRecord(
        run_id=run_id,
        call_id=entry.call_id,
        tool_name=entry.tool_name,
        decision=decision,
        always=always,
        reason=reason,
        decided_by=decided_by,
        decided_at=decided_at,
        state_version=state_version,
        arguments=arguments,
        original_arguments=entry.arguments if arguments is not None else None,
        output=output,
    )


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
    verb = {"approve": "approved", "reject": "rejected", "answer": "answered"}.get(
        record.decision, record.decision
    )
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
