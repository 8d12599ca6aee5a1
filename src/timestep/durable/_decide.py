"""Human decisions on a waiting run's pending tool calls: approve (as called, or with edited
arguments), reject, or answer the model instead of running the tool.

Each is one audit record in the store (who, when, why; the edited arguments next to the model's;
the answer's text). The segment that resumes the run applies them (``_approvals``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents import Agent

from ..state import DecisionKind, RunStateStore
from ._api import resume
from ._runtime import given_store


@dataclass(frozen=True)
class Decision:
    """What ``approve``/``reject``/``answer`` recorded."""

    run_id: str
    call_id: str
    state_version: int
    decision: str
    all_decided: bool
    resumed: bool
    arguments: str | None = None
    """The edited arguments (compact JSON object text) of an approval that changed them."""
    output: str | None = None
    """An answer's text, given to the model as the call's output."""


async def _decide(
    run_id: str,
    call_id: str | None,
    *,
    decision: DecisionKind,
    always: bool,
    reason: str | None,
    by: str | None,
    resume_now: bool,
    store: RunStateStore | None,
    agent: Agent[Any] | None,
    arguments: dict[str, Any] | str | None = None,
    output: str | None = None,
) -> Decision:
    store = given_store(store)
    outcome = await store.decide(
        run_id,
        call_id,
        decision,
        always=always,
        reason=reason,
        decided_by=by,
        arguments=arguments,
        output=output,
    )
    resumed = False
    if resume_now and outcome.all_decided:
        await resume(run_id, store=store, agent=agent)
        resumed = True
    record = outcome.record
    return Decision(
        run_id,
        record.call_id,
        record.state_version,
        decision,
        outcome.all_decided,
        resumed,
        record.arguments,
        record.output,
    )


async def approve(
    run_id: str,
    call_id: str | None = None,
    *,
    arguments: dict[str, Any] | str | None = None,
    reason: str | None = None,
    by: str | None = None,
    always: bool = False,
    resume: bool = False,
    store: RunStateStore | None = None,
    agent: Agent[Any] | None = None,
) -> Decision:
    """Approve a pending tool call of a waiting run (the only one when ``call_id`` is None).

    The decision is stored with who, when and an optional ``reason`` (kept in the audit trail;
    not sent to the model). ``arguments`` (a dict, or a JSON object's text) edits the call: the
    tool runs with them instead of the model's, and the record keeps both. The model's history
    keeps the call as the model made it, followed by the output of the edited call. Not a JSON
    object, or combined with ``always``: ``ConfigurationError``. ``resume=True`` starts the next
    segment once every pending call is decided (in this process with ``agent``, else on a
    worker). Unknown call, already decided call, or a run that is not waiting: a typed
    ``ApprovalError`` and no change.
    """
    return await _decide(
        run_id,
        call_id,
        decision="approve",
        always=always,
        reason=reason,
        by=by,
        resume_now=resume,
        store=store,
        agent=agent,
        arguments=arguments,
    )


async def reject(
    run_id: str,
    call_id: str | None = None,
    *,
    reason: str | None = None,
    by: str | None = None,
    always: bool = False,
    resume: bool = False,
    store: RunStateStore | None = None,
    agent: Agent[Any] | None = None,
) -> Decision:
    """Reject a pending tool call; ``reason`` is sent to the model. See :func:`approve`."""
    return await _decide(
        run_id,
        call_id,
        decision="reject",
        always=always,
        reason=reason,
        by=by,
        resume_now=resume,
        store=store,
        agent=agent,
    )


async def answer(
    run_id: str,
    call_id: str | None = None,
    *,
    output: str,
    reason: str | None = None,
    by: str | None = None,
    resume: bool = False,
    store: RunStateStore | None = None,
    agent: Agent[Any] | None = None,
) -> Decision:
    """Answer a pending tool call instead of running the tool: ``output`` is the call's output.

    The tool does not run; the model gets ``output`` as the tool's result, exactly. ``reason`` is
    kept in the audit trail only. Otherwise as :func:`approve`.
    """
    return await _decide(
        run_id,
        call_id,
        decision="answer",
        always=False,
        reason=reason,
        by=by,
        resume_now=resume,
        store=store,
        agent=agent,
        output=output,
    )
