"""Run control: cancel a run, fork a run's segment from step N into a new run.

Across languages: on a Postgres store Python's and TypeScript's segments live in one DBOS system
database, so either language cancels the other's running segment (it stops at its next step). On
a SQLite or file store each language has its own (Python's SQLite file, TypeScript's embedded
PGlite): cancelling a run that is running in TypeScript is a ``ConfigurationError`` naming
TypeScript's ``cancelRun``, and nothing changes. A waiting (or finished) run has no segment to stop
and is cancelled from either language. Forking copies a segment's recorded steps, which only its
own language can replay: forking a TypeScript segment is a ``ConfigurationError`` naming
``forkRun``. TypeScript's twins (``ts/src/durable/control.ts``) apply the same rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Literal, NoReturn

from dbos import SetWorkflowID

from .._errors import ConfigurationError, RunNotFoundError
from ..state import RunStateStore, RunSummary, utc_now
from . import _config, _names, _segment
from ._history import segment_language
from ._runtime import RUNTIME, given_store

logger = logging.getLogger("timestep.durable")

Language = Literal["python", "typescript"]


def run_language(run: RunSummary) -> Language:
    """The language whose durable engine runs ``run``'s segments.

    ``durable_language`` in its metadata (TypeScript's segments write it; a run can be handed
    over), else Python for a durable run (``durable_agent``), else its latest state's language.
    """
    named = run.metadata.get("durable_language")
    if named in ("python", "typescript"):
        return "typescript" if named == "typescript" else "python"
    if "durable_agent" in run.metadata:
        return "python"
    return "typescript" if run.language == "typescript" else "python"


async def _find_run(store: RunStateStore, run_id: str) -> RunSummary | None:
    try:
        return await store.run(run_id)
    except RunNotFoundError:
        return None


async def _segments(target: str, run_id: str) -> list[Any]:
    """Both languages' segments of ``run_id`` in this system database, by version."""
    if not await asyncio.to_thread(RUNTIME.has_system_tables, target):
        return []
    found = await asyncio.to_thread(
        RUNTIME.client(target).list_workflows,
        workflow_id_prefix=f"{run_id}@",
        application_name=list(_names.APPLICATION_NAMES),
    )
    segments = [s for s in found if s.workflow_id.rsplit("@", 1)[-1].isdigit()]
    return sorted(segments, key=lambda s: int(s.workflow_id.rsplit("@", 1)[1]))


async def cancel_run(
    run_id: str, *, store: RunStateStore | None = None, by: str | None = None
) -> bool:
    """Cancel a run: its running segment stops at the next step and the run becomes cancelled.

    The run's metadata records ``cancelled_at`` (and ``cancelled_by`` when ``by`` is given), and
    its ``error`` says who cancelled it. Returns True when a running or queued durable segment
    was cancelled, False when there was none (e.g. a run that never ran durably, whose system
    database may not exist): then only the run's status changes (``RunNotFoundError`` if the
    store has no such run either).
    """
    store = given_store(store)
    target = store.target
    run = await _find_run(store, run_id)
    if (
        run is not None
        and run.status == "running"
        and run_language(run) == "typescript"
        and not _config.shares_system_database(target)
    ):
        raise ConfigurationError(
            f"run {run_id!r} is running in TypeScript, whose DBOS system database Python cannot "
            f"reach on {store.url}; cancel it with TypeScript's cancelRun"
        )
    metadata: dict[str, Any] = {
        "cancelled_at": utc_now(),
        "error": f"run {run_id!r} was cancelled" + (f" by {by}" if by else ""),
    }
    if by:
        metadata["cancelled_by"] = by
    # The run's row first, so a segment stopping meanwhile finds who cancelled it.
    try:
        await store.set_status(run_id, "cancelled", metadata=metadata)
        stored = True
    except RunNotFoundError:
        stored = False  # queued and not started yet, or not a run at all
    stopped = False
    for status in await _segments(target, run_id):  # TypeScript's too, on a shared Postgres
        if status.status in ("PENDING", "ENQUEUED"):
            await asyncio.to_thread(RUNTIME.client(target).cancel_workflow, status.workflow_id)
            stopped = True
    if not stored and stopped:
        # a queued first segment may have started (and written its row) meanwhile
        with contextlib.suppress(RunNotFoundError):
            await store.set_status(run_id, "cancelled", metadata=metadata)
    elif not stored:
        raise RunNotFoundError(f"no run {run_id!r} in {store.url}")
    if not stopped:
        logger.info("run %r had no durable segment to stop; marked cancelled", run_id)
    return stopped


async def fork_run(
    run_id: str,
    new_run_id: str,
    *,
    from_step: int,
    store: RunStateStore | None = None,
    segment_version: int | None = None,
    rerun_approved: bool = False,
) -> str:
    """Copy a run's segment into ``new_run_id``, replaying steps before ``from_step``.

    The new segment starts from the same stored version as the original; steps with ids below
    ``from_step`` return their recorded outputs, later ones run again (on a worker). Returns the
    new segment's workflow id. ``from_step`` must be at most the segment's last recorded step
    (``ConfigurationError`` otherwise; 0 runs every step again). Re-running a tool call that a
    human approved (a step at or after ``from_step``) needs ``rerun_approved=True``; without it
    ``ConfigurationError`` names the calls. The new run is stored at once (``running``, a copy
    of the version its segment starts from) with
    ``metadata["forked_from"] = {"run_id", "segment", "step"}``.
    """
    store = given_store(store)
    dbos = RUNTIME.client(store.target)
    segments = await _segments(store.target, run_id)
    if segment_version is not None:
        base = segment_version
    elif segments:
        base = int(segments[-1].workflow_id.rsplit("@", 1)[1])
    else:
        run = await _find_run(store, run_id)
        if run is not None and run_language(run) == "typescript":
            _other_language(run_id, None)
        raise RunNotFoundError(f"no durable segment of run {run_id!r}")
    source = _names.segment_id(run_id, base)
    new_id = _names.segment_id(new_run_id, base)
    if any(s.workflow_id == source and segment_language(s) == "typescript" for s in segments):
        _other_language(run_id, source)
    steps = await asyncio.to_thread(dbos.list_workflow_steps, source)
    if not steps:
        raise RunNotFoundError(f"no durable segment {source!r} of run {run_id!r}")
    ids = sorted(int(step["function_id"]) for step in steps)
    if not 0 <= from_step <= ids[-1]:
        raise ConfigurationError(
            f"run {run_id!r} has no step {from_step} to fork at: its segment {source!r} recorded "
            f"steps {ids[0]} to {ids[-1]} (see `timestep runs show {run_id}`)"
        )
    if not rerun_approved:
        await _refuse_approved_reruns(store, run_id, base, steps, from_step)
    with contextlib.suppress(RunNotFoundError):
        await store.run(new_run_id)
        raise ConfigurationError(f"run {new_run_id!r} already exists; choose a new run id")
    lineage = {"run_id": run_id, "segment": source, "step": from_step}
    await _store_fork(store, run_id, base, new_run_id, lineage)

    def fork() -> None:
        with SetWorkflowID(new_id):
            dbos.fork_workflow(
                source,
                from_step,
                application_version=_config.APPLICATION_VERSION,
                queue_name=_config.QUEUE_NAME,
            )

    try:
        await asyncio.to_thread(fork)
    except Exception as error:
        with contextlib.suppress(RunNotFoundError):
            await store.set_status(
                new_run_id, "failed", metadata={"error": _segment.describe_error(error)}
            )
        raise
    return new_id


async def _refuse_approved_reruns(
    store: RunStateStore, run_id: str, base: int, steps: list[Any], from_step: int
) -> None:
    """Raise if forking at ``from_step`` would run a human-approved tool call again."""
    if base == 0:
        return  # a first segment runs no approved call: approvals start the next segment
    approved = {
        d.tool_name for d in await store.decisions(run_id, version=base) if d.decision == "approve"
    }
    names = {_names.tool_step(t) for t in approved} | {_names.mcp_step(t) for t in approved}
    again = [
        f"{step['function_name']} (step {step['function_id']})"
        for step in steps
        if int(step["function_id"]) >= from_step and step["function_name"] in names
    ]
    if again:
        raise ConfigurationError(
            f"forking run {run_id!r} at step {from_step} would run approved tool calls again "
            f"with no new decision: {', '.join(again)}; fork at a later step, or pass "
            "rerun_approved=True (`timestep fork --rerun-approved`) to run them again"
        )


async def _store_fork(
    store: RunStateStore, run_id: str, base: int, new_run_id: str, lineage: dict[str, Any]
) -> None:
    """Store the new run at once, with its lineage, as a copy of the version it starts from.

    A first segment starts from no stored version: its run's earliest version (holding the
    input) stands in. A source run with no stored version leaves the new run to its segment.
    """
    try:
        if base > 0:
            origin = await store.get(run_id, version=base)
        else:
            earliest = (await store.versions(run_id))[0].version
            origin = await store.get(run_id, version=earliest)
        meta = (await store.run(run_id)).metadata
    except (RunNotFoundError, IndexError):
        logger.info(
            "run %r has no stored version; fork %r is stored by its segment", run_id, new_run_id
        )
        return
    if origin.state_json is None:
        return
    metadata: dict[str, Any] = {"forked_from": lineage}
    for key in ("durable_agent", "durable_session"):
        if key in meta:
            metadata[key] = meta[key]
    await store.save_json(
        new_run_id,
        origin.state_json,
        language=origin.language,
        sdk_version=origin.sdk_version,
        status="running",
        expected_version=0,
        metadata=metadata,
    )


def _other_language(run_id: str, segment: str | None) -> NoReturn:
    what = f"segment {segment!r}" if segment else "durable segments"
    raise ConfigurationError(
        f"run {run_id!r}: its {what} ran in TypeScript, whose recorded steps only TypeScript "
        "can replay; fork it with TypeScript's forkRun"
    )
