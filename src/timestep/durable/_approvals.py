"""Durable approvals: decisions recorded in ``timestep_approvals``, applied by the next segment.

``approve``/``reject`` write one row per decided call in a transaction that first re-checks, under
the run row's write lock, that the run is still waiting at the same version; the table's unique
``(run_id, call_id, state_version)`` makes a second decision on the same call fail. The segment
that resumes the run flips its status from ``waiting`` to ``running`` and reads the decisions in
one transaction (a DBOS step), so a decision either makes it into the resumed segment or fails.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents import RunState
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from .._errors import (
    ApprovalAlreadyDecidedError,
    ApprovalError,
    RunNotFoundError,
    RunNotWaitingError,
    UnknownCallError,
)
from ..state import RunStateStore
from ..state.records import utc_now
from ..state.schema import approvals, runs


def _call_id_of(item: Any) -> str | None:
    raw = item.raw_item
    value = raw.get("call_id") if isinstance(raw, dict) else getattr(raw, "call_id", None)
    return value if isinstance(value, str) else None


def _decide(
    engine: Engine,
    run_id: str,
    call_id: str | None,
    *,
    decision: str,
    always: bool,
    reason: str | None,
    by: str | None,
) -> tuple[str, int, bool]:
    with engine.begin() as conn:
        row = conn.execute(
            select(runs.c.status, runs.c.latest_version, runs.c.pending_approvals)
            .where(runs.c.run_id == run_id)
            .with_for_update()
        ).first()
        if row is None:
            raise RunNotFoundError(f"no run {run_id!r} in the store")
        if row.status != "waiting":
            raise RunNotWaitingError(f"run {run_id!r} is {row.status}, not waiting for a decision")
        version = int(row.latest_version)
        pending = json.loads(row.pending_approvals)
        decided = {
            r.call_id
            for r in conn.execute(
                select(approvals.c.call_id).where(
                    approvals.c.run_id == run_id, approvals.c.state_version == version
                )
            )
        }
        if call_id is None:
            open_calls = [p for p in pending if p["call_id"] not in decided]
            if len(open_calls) != 1:
                raise ApprovalError(
                    f"run {run_id!r} has {len(open_calls)} undecided calls; name one with call_id"
                )
            call_id = open_calls[0]["call_id"]
        entry = next((p for p in pending if p["call_id"] == call_id), None)
        if entry is None:
            known = ", ".join(p["call_id"] for p in pending) or "none"
            raise UnknownCallError(
                f"run {run_id!r} has no pending approval {call_id!r} (pending: {known})"
            )
        if call_id in decided:
            raise ApprovalAlreadyDecidedError(
                f"call {call_id!r} of run {run_id!r} was already decided at version {version}"
            )
        conn.execute(update(runs).where(runs.c.run_id == run_id).values(updated_at=utc_now()))
        try:
            conn.execute(
                insert(approvals).values(
                    run_id=run_id,
                    call_id=call_id,
                    tool_name=entry["tool_name"],
                    decision=decision,
                    always=always,
                    reason=reason,
                    decided_by=by,
                    decided_at=utc_now(),
                    state_version=version,
                )
            )
        except IntegrityError as error:
            raise ApprovalAlreadyDecidedError(
                f"call {call_id!r} of run {run_id!r} was already decided at version {version}"
            ) from error
        complete = decided | {call_id} >= {p["call_id"] for p in pending}
        return call_id, version, complete


async def decide(
    store: RunStateStore,
    run_id: str,
    call_id: str | None,
    *,
    decision: str,
    always: bool = False,
    reason: str | None = None,
    by: str | None = None,
) -> tuple[str, int, bool]:
    """Record a decision; return (call_id, state version, whether every pending call is decided)."""
    engine: Engine = store.engine()
    return await asyncio.to_thread(
        _decide,
        engine,
        run_id,
        call_id,
        decision=decision,
        always=always,
        reason=reason,
        by=by,
    )


def _claim(engine: Engine, run_id: str, version: int) -> bool:
    with engine.begin() as conn:
        changed = conn.execute(
            update(runs)
            .where(
                runs.c.run_id == run_id,
                runs.c.status == "waiting",
                runs.c.latest_version == version,
            )
            .values(status="running", updated_at=utc_now())
        ).rowcount
        return bool(changed)


async def claim(store: RunStateStore, run_id: str, version: int) -> bool:
    """Flip ``run_id`` from waiting (at ``version``) to running; True for the caller that did."""
    return await asyncio.to_thread(_claim, store.engine(), run_id, version)


def _read(engine: Engine, run_id: str, version: int) -> list[dict[str, Any]]:
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(
                runs.c.run_id == run_id,
                runs.c.status == "waiting",
                runs.c.latest_version == version,
            )
            .values(status="running", updated_at=utc_now())
        )
        rows = conn.execute(
            select(approvals)
            .where(approvals.c.run_id == run_id, approvals.c.state_version == version)
            .order_by(approvals.c.id)
        ).all()
    return [
        {
            "call_id": r.call_id,
            "decision": r.decision,
            "always": bool(r.always),
            "reason": r.reason,
        }
        for r in rows
    ]


async def claim_and_read(store: RunStateStore, run_id: str, version: int) -> list[dict[str, Any]]:
    """Mark the run running (if still waiting) and return the decisions for ``version``."""
    return await asyncio.to_thread(_read, store.engine(), run_id, version)


def apply(state: RunState[Any, Any], decisions: list[dict[str, Any]]) -> list[str]:
    """Apply recorded decisions to ``state``; return the approved call ids in interruption order."""
    by_call = {d["call_id"]: d for d in decisions}
    approved: list[str] = []
    for item in state.get_interruptions():
        call_id = _call_id_of(item)
        d = by_call.get(call_id or "")
        if d is None or call_id is None:
            continue
        if d["decision"] == "approve":
            state.approve(item, always_approve=d["always"])
            approved.append(call_id)
        else:
            state.reject(item, always_reject=d["always"], rejection_message=d["reason"])
    return approved


def _fully_decided(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        waiting = conn.execute(
            select(
                runs.c.run_id, runs.c.latest_version, runs.c.pending_approvals, runs.c.metadata
            ).where(runs.c.status == "waiting")
        ).all()
        ready: list[str] = []
        for row in waiting:
            if json.loads(row.metadata or "{}").get("durable_language", "python") != "python":
                continue  # resumed by another language's workers (TypeScript's worker())
            pending = {p["call_id"] for p in json.loads(row.pending_approvals)}
            decided = {
                r.call_id
                for r in conn.execute(
                    select(approvals.c.call_id).where(
                        approvals.c.run_id == row.run_id,
                        approvals.c.state_version == row.latest_version,
                    )
                )
            }
            if pending and pending <= decided:
                ready.append(str(row.run_id))
    return ready


async def fully_decided(store: RunStateStore) -> list[str]:
    """Waiting runs whose every pending call has a recorded decision (ready to resume).

    Runs whose metadata names another ``durable_language`` (started durably by, or handed to,
    TypeScript) are left to that language's workers.
    """
    return await asyncio.to_thread(_fully_decided, store.engine())
