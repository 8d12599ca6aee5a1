"""Public entry points of durable execution: run, resume, workers, run control.

Decisions (approve, reject, answer) are in ``_decide``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

from agents import Agent, RunConfig, RunResult, RunResultStreaming, RunState
from dbos import DBOS, EnqueueOptions, SetWorkflowID, SetWorkflowTimeout
from dbos._error import DBOSAwaitedWorkflowCancelledError, DBOSWorkflowCancelledError

from .._errors import (
    ConfigurationError,
    RunCancelledError,
    RunNotFoundError,
    RunNotWaitingError,
    TimestepError,
)
from ..models import DEFAULT_MAX_TURNS
from ..state import RunStateStore, RunSummary, utc_now
from . import _config, _names, _segment, _takeover
from ._runtime import RUNTIME, LocalRun
from ._spec import SegmentSpec

logger = logging.getLogger("timestep.durable")


def _store(store: RunStateStore | None) -> RunStateStore:
    return store if store is not None else RunStateStore()


async def _latest(store: RunStateStore, run_id: str) -> tuple[int, str, dict[str, Any]]:
    run = await store.run(run_id)
    return run.latest_version, run.status, run.metadata


async def _start(
    run_id: str,
    base_version: int,
    spec: SegmentSpec,
    local: LocalRun,
    stream: bool,
    timeout: float | None = None,
) -> RunResult | RunResultStreaming:
    try:
        return await _start_segment(run_id, base_version, spec, local, stream, timeout)
    except (DBOSAwaitedWorkflowCancelledError, DBOSWorkflowCancelledError) as error:
        message = (
            f"run {run_id!r} was cancelled or exceeded its timeout ({timeout} s)"
            if timeout is not None
            else f"run {run_id!r} was cancelled"
        )
        try:
            status = (await _latest(local.store, run_id))[1]
        except RunNotFoundError:
            status = ""
        if status != "cancelled":  # else cancel_run recorded who cancelled it and when
            first = (
                _segment.start_state(local.agent, spec.input, spec)
                if base_version == 0 and spec.input is not None
                else None
            )
            await _segment.record_end(
                local.store, run_id, "cancelled", message, first, local.agent.name
            )
        raise RunCancelledError(message) from error


async def _start_segment(
    run_id: str,
    base_version: int,
    spec: SegmentSpec,
    local: LocalRun,
    stream: bool,
    timeout: float | None,
) -> RunResult | RunResultStreaming:
    workflow_id = _names.segment_id(run_id, base_version)
    if stream:
        local.started = asyncio.get_running_loop().create_future()
    RUNTIME.local_runs[workflow_id] = local
    try:
        with SetWorkflowID(workflow_id), SetWorkflowTimeout(timeout):
            handle = await DBOS.start_workflow_async(
                _segment.segment_workflow, run_id, base_version, spec.to_json()
            )
        if stream:
            assert local.started is not None
            outcome: asyncio.Future[Any] = asyncio.ensure_future(handle.get_result())
            # the consumer of the streamed result gets the segment's error; do not log it again
            outcome.add_done_callback(lambda done: done.cancelled() or done.exception())
            started: asyncio.Future[Any] = local.started
            await asyncio.wait({started, outcome}, return_when=asyncio.FIRST_COMPLETED)
            if local.started.done():
                return local.started.result()
            await outcome  # raises the segment's error
            raise RunNotWaitingError(f"segment {workflow_id!r} had already run")
        await handle.get_result()
        if local.result is None:
            raise RunNotWaitingError(f"segment {workflow_id!r} had already run")
        return local.result
    finally:
        if not stream:
            RUNTIME.local_runs.pop(workflow_id, None)


async def run_durable(
    agent: Agent[Any],
    input: str | list[Any] | RunState[Any, Any],
    *,
    run_id: str,
    store: RunStateStore | None = None,
    stream: bool = False,
    session: Any = None,
    run_config: RunConfig | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    context: Any = None,
    timeout: float | None = None,
    **runner_kwargs: Any,
) -> RunResult | RunResultStreaming:
    """Run ``agent`` as a durable run ``run_id``: one DBOS workflow per uninterrupted segment.

    Every model call, tool call and handoff is a checkpointed step. The run ends its segment when it
    finishes (state saved as ``done``) or pauses for approval (``waiting``). ``input`` may be a
    RunState loaded from the store of a waiting run, with decisions applied in memory; prefer
    :func:`approve` / :func:`reject` + :func:`resume`, which record an audit trail.
    ``timeout`` (seconds) cancels the segment when exceeded (``RunCancelledError``; the run is
    then ``cancelled``). ``session`` (an SDK session, e.g. :func:`timestep.open_session`): the
    run starts from its history (read once, in a step) and, when the run is done, its new items
    are appended to it once, in a step (a repeat after a crash finds them already written).
    """
    store = _store(store)
    target = store.target
    persisted = RUNTIME.add_store(store)
    RUNTIME.register_agent(agent)
    if not RUNTIME.launched_on(target):
        await asyncio.to_thread(RUNTIME.launch, target)
    spec = SegmentSpec(
        agent=agent.name,
        store=persisted,
        max_turns=max_turns,
        stream=stream,
        **_segment.config_spec(run_config, context),
    )
    try:
        version, status, meta = await _latest(store, run_id)
    except RunNotFoundError:
        version, status, meta = 0, "", {}
    if session is not None:
        spec = dataclasses.replace(spec, session=_segment.session_spec(session))
    if isinstance(input, RunState):
        if status != "waiting":
            raise RunNotWaitingError(f"run {run_id!r} is {status or 'not stored'}, not waiting")
        if not await store.claim(run_id, version):
            raise RunNotWaitingError(f"run {run_id!r} was resumed by another process")
        spec = dataclasses.replace(spec, state=input.to_json())
        base = version
    else:
        if status:
            raise ConfigurationError(
                f"run {run_id!r} already exists ({status}); resume it or choose a new run id"
            )
        spec = dataclasses.replace(spec, input=input)
        base = 0
    if isinstance(input, RunState) and meta.get("durable_session"):
        spec = dataclasses.replace(spec, session=meta["durable_session"])
    local = LocalRun(agent, store, run_config, context, dict(runner_kwargs), session)
    return await _start(run_id, base, spec, local, stream, timeout)


async def resume(
    run_id: str,
    *,
    store: RunStateStore | None = None,
    agent: Agent[Any] | None = None,
    stream: bool = False,
    run_config: RunConfig | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    context: Any = None,
    timeout: float | None = None,
) -> RunResult | RunResultStreaming | None:
    """Start the next segment of a waiting run, applying its recorded decisions.

    With ``agent`` the segment runs in this process and its result is returned; without, it is
    queued for a worker and ``None`` is returned. Of several callers racing to resume the same
    waiting run exactly one succeeds; the others get ``RunNotWaitingError``. A run that failed
    because its segment could not load its state (``metadata["resumable_from"]``, e.g. a tool
    renamed since it paused) is resumed the same way once the cause is fixed.
    """
    store = _store(store)
    target = store.target
    version, status, meta = await _latest(store, run_id)
    retry = status == "failed" and meta.get(_segment.RESUMABLE_KEY) == version
    if status != "waiting" and not retry:
        raise RunNotWaitingError(f"run {run_id!r} is {status}, not waiting")
    agent_name = agent.name if agent is not None else meta.get("durable_agent")
    if not isinstance(agent_name, str):
        raise ConfigurationError(f"run {run_id!r} was not started durably; pass agent=")
    session = meta.get("durable_session")
    spec = SegmentSpec(
        agent=agent_name,
        store=RUNTIME.add_store(store),
        max_turns=max_turns,
        stream=stream,
        session=session if isinstance(session, dict) and session else None,
        **_segment.config_spec(run_config, context),
    )
    if not await store.claim(run_id, version, "failed" if retry else "waiting"):
        raise RunNotWaitingError(f"run {run_id!r} was resumed by another process")
    if retry:
        await _forget_failed_segment(store, run_id, version)
    if agent is None:
        await asyncio.to_thread(_enqueue, target, run_id, version, spec)
        return None
    RUNTIME.register_agent(agent)
    await asyncio.to_thread(RUNTIME.launch, target)
    local = LocalRun(agent, store, run_config, context)
    return await _start(run_id, version, spec, local, stream, timeout)


async def _forget_failed_segment(store: RunStateStore, run_id: str, version: int) -> None:
    """Clear a load failure so the segment from ``version`` can run again under its own id."""
    await store.set_status(
        run_id, "running", metadata={"error": None, _segment.RESUMABLE_KEY: None}
    )
    workflow_id = _names.segment_id(run_id, version)
    await asyncio.to_thread(RUNTIME.client(store.target).delete_workflow, workflow_id)


def _enqueue(target: str, run_id: str, version: int, spec: SegmentSpec) -> None:
    options: EnqueueOptions = {
        "queue_name": _config.QUEUE_NAME,
        "workflow_name": _names.SEGMENT_WORKFLOW,
        "workflow_id": _names.segment_id(run_id, version),
        "app_version": _config.APPLICATION_VERSION,
    }
    RUNTIME.prepare_system_database(target)  # before any worker created DBOS's tables
    RUNTIME.client(target).enqueue(options, run_id, version, spec.to_json())


async def enqueue_run(
    agent_name: str,
    input: str | list[Any],
    *,
    run_id: str,
    store: RunStateStore | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    stream: bool = False,
    run_config: RunConfig | None = None,
    context: dict[str, Any] | None = None,
) -> None:
    """Queue a new durable run for the workers (which must know ``agent_name``).

    Of ``run_config`` the worker applies the persisted pieces (model name, model settings,
    tracing names; see the durable guide); ``context`` must be a JSON object.
    """
    if context is not None and not _segment.is_json_object(context):
        raise ConfigurationError("enqueue_run(context=...) must be a JSON object (a dict)")
    store = _store(store)
    spec = SegmentSpec(
        agent=agent_name,
        store=RUNTIME.add_store(store),
        max_turns=max_turns,
        stream=stream,
        input=input,
        **_segment.config_spec(run_config, context),
    )
    await asyncio.to_thread(_enqueue, store.target, run_id, 0, spec)


async def worker(
    agents: Sequence[Agent[Any]],
    *,
    store: RunStateStore | None = None,
    concurrency: int | None = None,
    executor_id: str | None = None,
    resume_approved: bool = True,
    poll_interval: float = 1.0,
    run_config: RunConfig | None = None,
    on_ready: Callable[[], None] | None = None,
    lease: float | None = None,
    heartbeat: float | None = None,
) -> None:
    """Run a worker until cancelled: recover this executor's pending segments, drain the queue.

    Several workers on one Postgres share the ``timestep`` DBOS queue; ``concurrency`` limits the
    segments one worker runs at once, and DBOS gives each queued segment to exactly one worker.
    On Postgres each process holds a lease renewed every ``heartbeat`` seconds and lasting
    ``lease`` seconds (defaults 5 and 20, or ``$TIMESTEP_EXECUTOR_HEARTBEAT`` /
    ``$TIMESTEP_EXECUTOR_LEASE``); workers take over the segments of a process whose lease
    expired, one worker each, within ``lease + heartbeat`` seconds. ``executor_id`` names this
    worker (default: unique per process); a restarted worker with the same id also resumes its
    previous process's PENDING segments at once. On SQLite each process has its own executor id
    and a worker recovers the segments of processes that died. With ``resume_approved`` the worker
    also resumes waiting runs whose pending calls have all been decided. ``run_config`` is used by
    the segments this process recovers or dequeues (default: timestep's ``MultiModelProvider``);
    a run's ``max_turns`` and ``run_config.model`` are persisted with it and re-applied.
    ``on_ready`` is called once the worker has launched and takes work.
    """
    store = _store(store)
    target = store.target
    RUNTIME.add_store(store)
    for agent in agents:
        RUNTIME.register_agent(agent)
    if run_config is not None:
        RUNTIME.worker_run_config = run_config
    options: dict[str, Any] = {}
    if executor_id is not None:
        options["executor_id"] = executor_id
    settings = _takeover.LeaseSettings.resolve(heartbeat, lease)
    await asyncio.to_thread(
        RUNTIME.launch,
        target,
        worker=True,
        worker_concurrency=concurrency,
        lease=settings,
        **options,
    )
    if store.kind != "file":
        await asyncio.to_thread(store.open)  # create/migrate timestep's tables up front
    if on_ready is not None:
        on_ready()
    sqlite_system = _config.system_database_url(target).startswith("sqlite")
    unresumable: set[str] = set()
    while True:
        if sqlite_system:
            engine = RUNTIME.system_engine(target)
            await asyncio.to_thread(_config.recover_dead_executors, engine)
        if resume_approved:
            for run_id in await store.ready_to_resume():
                if run_id in unresumable:
                    continue
                try:
                    await resume(run_id, store=store)
                except RunNotWaitingError:
                    pass
                except TimestepError as error:
                    # one run this worker cannot resume (e.g. never started durably) must not
                    # stop it from serving the others; say so once
                    unresumable.add(run_id)
                    _segment.segments_log.warning("cannot resume run %s: %s", run_id, error)
        await asyncio.sleep(poll_interval)


async def list_runs(
    *, store: RunStateStore | None = None, status: str | None = None
) -> list[RunSummary]:
    """Runs in the store with their status (``running``, ``waiting``, ``done``, ...)."""
    return await _store(store).list_runs(status=status)  # type: ignore[arg-type]


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
    store = _store(store)
    target = store.target
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
    if await asyncio.to_thread(RUNTIME.has_system_tables, target):
        dbos = RUNTIME.client(target)
        prefix = f"{run_id}@"
        for status in await asyncio.to_thread(dbos.list_workflows, workflow_id_prefix=prefix):
            if status.status in ("PENDING", "ENQUEUED"):
                await asyncio.to_thread(dbos.cancel_workflow, status.workflow_id)
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
    store = _store(store)
    dbos = RUNTIME.client(store.target)
    base = segment_version if segment_version is not None else await _last_segment(dbos, run_id)
    source = _names.segment_id(run_id, base)
    new_id = _names.segment_id(new_run_id, base)
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


async def _last_segment(dbos: Any, run_id: str) -> int:
    found = await asyncio.to_thread(dbos.list_workflows, workflow_id_prefix=f"{run_id}@")
    versions = [int(s.workflow_id.rsplit("@", 1)[1]) for s in found]
    if not versions:
        raise RunNotFoundError(f"no durable segment of run {run_id!r}")
    return max(versions)
