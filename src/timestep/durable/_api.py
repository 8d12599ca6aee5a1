"""Public entry points of durable execution: run, resume, workers, run control.

Decisions (approve, reject, answer) are in ``_decide``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from agents import Agent, RunConfig, RunResult, RunResultStreaming, RunState
from dbos import DBOS, EnqueueOptions, SetWorkflowID, SetWorkflowTimeout
from dbos._error import DBOSAwaitedWorkflowCancelledError, DBOSWorkflowCancelledError

from .._env import LeaseSettings
from .._errors import (
    ConfigurationError,
    RunCancelledError,
    RunNotFoundError,
    RunNotWaitingError,
    TimestepError,
)
from ..models import DEFAULT_MAX_TURNS
from ..state import RunStateStore, RunSummary
from . import _config, _names, _segment
from ._runtime import RUNTIME, LocalRun, given_store
from ._spec import SegmentSpec

logger = logging.getLogger("timestep.durable")


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
    store = given_store(store)
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
    store = given_store(store)
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
    store = given_store(store)
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
    store = given_store(store)
    target = store.target
    RUNTIME.add_store(store)
    for agent in agents:
        RUNTIME.register_agent(agent)
    if run_config is not None:
        RUNTIME.worker_run_config = run_config
    options: dict[str, Any] = {}
    if executor_id is not None:
        options["executor_id"] = executor_id
    settings = LeaseSettings.resolve(heartbeat, lease)
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
    *,
    store: RunStateStore | None = None,
    status: str | None = None,
    agent: str | None = None,
    updated_since: str | datetime | None = None,
    search: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[RunSummary]:
    """Runs in the store with their status, filtered and paged as ``RunStateStore.list_runs``."""
    return await given_store(store).list_runs(
        status=status,  # type: ignore[arg-type]
        agent=agent,
        updated_since=updated_since,
        search=search,
        limit=limit,
        offset=offset,
    )
