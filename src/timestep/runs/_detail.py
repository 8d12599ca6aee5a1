"""Run lists, pending approvals and run details, as the CLI prints and the inbox serves them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..state import undecided
from ._conversation import build_conversation
from ._durable_steps import durable_steps, with_durations
from ._timeline import build_timeline, final_output

if TYPE_CHECKING:
    from ..state import RunStateStore, RunStatus, RunSummary


def pretty_arguments(arguments: str) -> str:
    """Tool arguments as indented JSON (unchanged when they are not JSON)."""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False, sort_keys=True)
    except (ValueError, TypeError):
        return arguments


def summary_dict(run: RunSummary) -> dict[str, Any]:
    """JSON form of a run summary (the API's ``RunSummary`` schema)."""
    return {
        "run_id": run.run_id,
        "agent_name": run.agent_name,
        "status": run.status,
        "latest_version": run.latest_version,
        "language": run.language,
        "pending_approvals": len(run.pending_approvals) if run.status == "waiting" else 0,
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "error": run_error(run),
        "unreadable": run.problem,
    }


def run_error(run: RunSummary) -> str | None:
    """Why a failed or cancelled run ended, when recorded."""
    if run.status not in ("failed", "cancelled"):
        return None
    error = run.metadata.get("error")
    return error if isinstance(error, str) else None


def lineage(run: RunSummary) -> dict[str, Any] | None:
    """Where a forked run came from (``metadata["forked_from"]``: run id, step or version)."""
    found = run.metadata.get("forked_from")
    if not isinstance(found, dict) or not isinstance(found.get("run_id"), str):
        return None
    return {k: v for k, v in found.items() if k in ("run_id", "segment", "step", "version")}


async def list_summaries(
    store: RunStateStore,
    status: RunStatus | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Stored runs (optionally of one status), most recently updated first; one page with
    ``limit``/``offset``, cut by the store so a page costs the same at any store size."""
    runs = await store.list_runs(status=status, limit=limit, offset=offset)
    return [summary_dict(run) for run in runs]


async def summaries_page(
    store: RunStateStore,
    status: RunStatus | None,
    *,
    limit: int,
    offset: int,
    agent: str | None = None,
    updated_since: str | None = None,
    search: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of run summaries and the total it pages through.

    The store filters, cuts the page and counts in the database, so no run outside the page is
    read into Python (the count itself is one ``count(*)``, a scan on Postgres).
    """
    runs = await store.list_runs(
        status=status,
        agent=agent,
        updated_since=updated_since,
        search=search,
        limit=limit,
        offset=offset,
    )
    total = await store.count_runs(
        status=status, agent=agent, updated_since=updated_since, search=search
    )
    return [summary_dict(run) for run in runs], total


async def pending_approvals(store: RunStateStore) -> list[dict[str, Any]]:
    """Undecided approvals across all waiting runs, oldest first (``PendingApproval`` schema).

    Reads the waiting runs and the decisions of each one's latest version only, so the cost
    follows the runs waiting now, not the history of decided runs.
    """
    items: list[dict[str, Any]] = []
    for run in await store.list_runs(status="waiting"):
        decisions = await store.decisions(run.run_id, version=run.latest_version)
        for pending in undecided(run, decisions):
            items.append(
                {
                    "run_id": run.run_id,
                    "call_id": pending.call_id,
                    "agent_name": pending.agent_name or run.agent_name,
                    "tool_name": pending.tool_name,
                    "arguments": pending.arguments,
                    "arguments_pretty": pretty_arguments(pending.arguments),
                    "waiting_since": run.updated_at,
                    "state_version": run.latest_version,
                }
            )
    items.sort(key=lambda item: (item["waiting_since"], item["run_id"], item["call_id"]))
    return items


async def run_detail(store: RunStateStore, run_id: str) -> dict[str, Any]:
    """Everything known about one run (the API's ``RunDetail`` schema).

    Raises ``RunNotFoundError`` for an unknown run.
    """
    summary = await store.run(run_id)
    latest = await store.get(run_id, version=summary.latest_version)
    versions = await store.versions(run_id)
    decisions = await store.decisions(run_id)
    doc = latest.state_json or {}
    pending = undecided(summary, decisions)
    steps = await durable_steps(store, summary)
    return {
        "run_id": run_id,
        "agent_name": summary.agent_name,
        "status": summary.status,
        "latest_version": summary.latest_version,
        "language": summary.language,
        "versions": [
            {
                "version": v.version,
                "status": v.status,
                "agent_name": v.agent_name,
                "language": v.language,
                "sdk_version": v.sdk_version,
                "schema_version": v.schema_version,
                "pending_approvals": [p.call_id for p in v.pending_approvals],
                "created_at": v.created_at,
            }
            for v in sorted(versions, key=lambda v: v.version)
        ],
        "conversation": [item.to_dict() for item in build_conversation(doc, decisions)],
        "timeline": [step.to_dict() for step in with_durations(build_timeline(doc), steps)],
        "pending_approvals": [
            {
                "call_id": p.call_id,
                "tool_name": p.tool_name,
                "agent_name": p.agent_name,
                "arguments": p.arguments,
                "arguments_pretty": pretty_arguments(p.arguments),
            }
            for p in pending
        ],
        "decisions": [d.to_dict() for d in decisions],
        "durable_steps": [step.to_dict() for step in steps],
        "final_output": final_output(doc) if summary.status == "done" else None,
        "error": run_error(summary),
        "forked_from": lineage(summary),
        "metadata": summary.metadata,
        "unreadable": summary.problem,
    }
