"""The segment workflow: one uninterrupted stretch of a run, executed as a DBOS workflow.

A segment starts from the run's input (version 0) or from a stored waiting state plus the approval
decisions recorded for it, runs the agent until it finishes or pauses, and ends by saving the
RunState (``done`` or ``waiting``) as the next version in the store. That save is not a DBOS step
(a fork's is): it is idempotent by itself, a compare-and-set on the version the segment extends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from typing import Any

from agents import (
    Agent,
    ItemHelpers,
    ModelSettings,
    RunConfig,
    Runner,
    RunResult,
    RunResultStreaming,
    RunState,
)
from agents.extensions.memory import SQLAlchemySession
from agents.memory import Session
from dbos import DBOS
from dbos._error import DBOSWorkflowCancelledError
from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from .._errors import RunNotFoundError, StaleStateError
from ..models import with_default_provider
from ..state import RunStateStore, RunStatus, open_session
from . import _approvals, _names, _rows, _stream, _threads
from ._runtime import RUNTIME, LocalRun
from ._spec import SegmentSpec, public_target
from ._steps import DurableModelProvider, SegmentContext, current_segment, wrap_agent

logger = logging.getLogger("timestep.durable")
#: One INFO line per segment run (``timestep worker`` prints them).
segments_log = logging.getLogger("timestep.segments")


#: RunConfig fields a recovered or dequeued segment gets back from the spec (plain JSON values).
PERSISTED_CONFIG = (
    "workflow_name",
    "group_id",
    "trace_metadata",
    "tracing_disabled",
    "trace_include_sensitive_data",
    "nest_handoff_history",
)
_DEFAULTS = RunConfig()


def segment_config(local: LocalRun | None, spec: SegmentSpec) -> RunConfig:
    """The RunConfig a segment runs with (before its model provider is made durable).

    A segment started here uses the caller's RunConfig. One recovered or taken from the queue
    uses the worker's (``worker(run_config=...)``) or else timestep's default model provider,
    with the run's persisted pieces of its own RunConfig laid over it (see :func:`config_spec`).
    """
    if local is not None:
        return with_default_provider(local.run_config)
    config = with_default_provider(RUNTIME.worker_run_config)
    if config.model is None and spec.model is not None:
        config = dataclasses.replace(config, model=spec.model)
    persisted: dict[str, Any] = dict(spec.run_config or {})
    settings = persisted.pop("model_settings", None)
    if isinstance(settings, dict):
        own = TypeAdapter(ModelSettings).validate_python(settings)
        merged = config.model_settings.resolve(own) if config.model_settings else own
        config = dataclasses.replace(config, model_settings=merged)
    known = {name: value for name, value in persisted.items() if name in PERSISTED_CONFIG}
    return dataclasses.replace(config, **known) if known else config


def _plain_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def is_json_object(value: Any) -> bool:
    """True for a dict that serialises as JSON (a context a recovered segment can get back)."""
    return isinstance(value, dict) and _plain_json(value)


def config_spec(run_config: RunConfig | None, context: Any = None) -> dict[str, Any]:
    """The pieces of a run's RunConfig and context that a recovered segment re-applies.

    Kept: ``model`` (a name), ``model_settings``, the plain fields in ``PERSISTED_CONFIG`` that
    differ from the SDK's defaults, and a ``context`` that is a JSON object. Objects (a model
    instance, guardrails, filters, hooks, a non-JSON context) live only in the starting process:
    give a worker what it needs through ``worker(run_config=...)``.
    """
    spec: dict[str, Any] = {}
    if is_json_object(context):
        spec["context"] = context
    if run_config is None:
        return spec
    if isinstance(run_config.model, str):
        spec["model"] = run_config.model
    persisted: dict[str, Any] = {}
    if run_config.model_settings is not None:
        settings = {
            k: v for k, v in run_config.model_settings.to_json_dict().items() if v is not None
        }
        if settings and _plain_json(settings):
            persisted["model_settings"] = settings
    for name in PERSISTED_CONFIG:
        value = getattr(run_config, name)
        if value != getattr(_DEFAULTS, name) and _plain_json(value):
            persisted[name] = value
    if persisted:
        spec["run_config"] = persisted
    return spec


async def _resolve(
    run_id: str, spec: SegmentSpec
) -> tuple[LocalRun | None, Agent[Any], RunStateStore]:
    local = RUNTIME.local_runs.get(DBOS.workflow_id or "")
    if local is not None:
        return local, local.agent, local.store
    # Recovered in a process that does not know this agent: stay PENDING (not failed) until the
    # agent is registered here, or until a worker that knows it recovers the segment.
    agent = await RUNTIME.agent(spec.agent, run_id)
    return None, agent, RUNTIME.store_for(spec.store)


def session_spec(session: Session) -> dict[str, Any]:
    """What a segment records about its session so another process can reopen it.

    The session database's URL is kept without password (see ``_spec.public_target``).
    """
    db: str | None = None
    if isinstance(session, SQLAlchemySession):
        url = session._engine.url
        db = public_target(
            url.set(drivername=url.get_backend_name()).render_as_string(hide_password=False)
        )
    return {"id": session.session_id, "db": db}


def _session_for(local: LocalRun | None, spec: SegmentSpec) -> Session | None:
    if local is not None and local.session is not None:
        return local.session
    info = spec.session
    if not info:
        return None
    if info.get("db") is None:
        logger.warning(
            "durable run uses session %r, which cannot be reopened in this process; its new "
            "items are not written to the session",
            info.get("id"),
        )
        return None
    return open_session(str(info["id"]), db=RUNTIME.resolve(str(info["db"])))


def _canonical(items: list[Any]) -> str:
    return json.dumps(to_jsonable_python(items, fallback=str), sort_keys=True)


async def _read_session(session: Session) -> list[Any]:
    items = await session.get_items()
    return list(to_jsonable_python(items, fallback=str))


async def _write_session(session: Session, items: list[Any]) -> int:
    """Append ``items``; an attempt repeated after a crash finds them already there."""
    if not items:
        return 0
    tail = await session.get_items(limit=len(items))
    if _canonical(list(tail)) == _canonical(items):
        return 0
    await session.add_items(items)
    return len(items)


async def _latest_version(store: RunStateStore, run_id: str) -> int:
    try:
        return (await store.get(run_id)).version
    except RunNotFoundError:
        return 0


@DBOS.workflow(name=_names.SEGMENT_WORKFLOW, max_recovery_attempts=50)
async def segment_workflow(
    run_id: str, base_version: int, spec_json: dict[str, Any]
) -> dict[str, Any]:
    """Run one segment of ``run_id`` starting from stored version ``base_version``.

    ``spec_json`` is a :class:`SegmentSpec` in its JSON form (the workflow's persisted input).
    """
    spec = SegmentSpec.from_json(spec_json)
    workflow_id = DBOS.workflow_id or _names.segment_id(run_id, base_version)
    # A fork runs under a new workflow id "<new run>@<version>": it reads the source run's state
    # and decisions but writes (state, events, idempotency keys) under the new run id.
    target_run = workflow_id.rsplit("@", 1)[0]
    forked = target_run != run_id
    local, agent, store = await _resolve(run_id, spec)
    session = _session_for(local, spec)
    session_info: dict[str, Any] | None = dict(spec.session) if spec.session else None
    root, _graph = wrap_agent(agent)
    emit = _stream.writer(target_run, workflow_id) if spec.stream else None
    seg = SegmentContext(run_id=target_run, workflow_id=workflow_id, emit=emit)
    token = current_segment.set(seg)
    steps_token = _threads.enter_segment()
    started = time.monotonic()
    outcome = "failed"
    try:
        run_input: Any
        if spec.state is not None or base_version > 0:
            try:
                run_input = await _load_input(store, run_id, base_version, root, spec, seg)
            except (DBOSWorkflowCancelledError, asyncio.CancelledError):
                raise
            except BaseException as load_error:
                # Recorded like any failure, with the version to retry from: once the agent
                # (or the stored state) is fixed, resume() starts this segment again.
                await DBOS.run_step_async(
                    {"name": _names.SAVE_STEP},
                    record_end,
                    store,
                    target_run,
                    "failed",
                    f"cannot load version {base_version}: {describe_error(load_error)}",
                    None,
                    agent.name,
                    None if forked else base_version,
                )
                if emit is not None:
                    emit(
                        {
                            "key": "end",
                            "type": "segment_end",
                            "status": "failed",
                            "error": str(load_error),
                        }
                    )
                raise
        else:
            run_input = spec.input
            if session is not None and session_info is not None:
                # the history this run starts from is checkpointed: a replay sees the same one
                history = await DBOS.run_step_async(
                    {"name": _names.SESSION_READ_STEP}, _read_session, session
                )
                session_info["history"] = len(history)
                run_input = history + ItemHelpers.input_to_new_input_list(run_input)
        if base_version == 0 or forked:
            await _rows.create_first_row(
                store, target_run, root, run_input, spec, {"durable_agent": agent.name}
            )
        config = segment_config(local, spec)
        config = dataclasses.replace(
            config, model_provider=DurableModelProvider(config.model_provider)
        )
        kwargs: dict[str, Any] = dict(local.runner_kwargs) if local is not None else {}
        kwargs.update(
            run_config=config,
            max_turns=spec.max_turns,
            context=local.context if local is not None else spec.context,
        )
        try:
            result: RunResult | RunResultStreaming
            if spec.stream:
                streamed = Runner.run_streamed(root, run_input, **kwargs)
                if local is not None and local.started is not None:
                    _hold_until_saved(streamed, local.saved)
                    local.started.set_result(streamed)
                else:
                    async for _event in streamed.stream_events():
                        pass
                assert streamed.run_loop_task is not None
                error = await _original_task(streamed) or streamed._stored_exception
                if error is not None:
                    raise error
                result = streamed
            else:
                result = await Runner.run(root, run_input, **kwargs)
        except (DBOSWorkflowCancelledError, asyncio.CancelledError):
            raise
        except BaseException as error:
            first = None if base_version > 0 or forked else start_state(root, run_input, spec)
            await DBOS.run_step_async(
                {"name": _names.SAVE_STEP},
                record_end,
                store,
                target_run,
                "failed",
                describe_error(error),
                first,
                agent.name,
            )
            if emit is not None:
                emit({"key": "end", "type": "segment_end", "status": "failed", "error": str(error)})
            raise
        status: RunStatus = "waiting" if result.interruptions else "done"
        if status == "done" and session is not None and session_info is not None:
            new_items = result.to_input_list()[int(session_info.get("history", 0)) :]
            await DBOS.run_step_async(
                {"name": _names.SESSION_WRITE_STEP}, _write_session, session, new_items
            )
        metadata: dict[str, Any] = {"durable_agent": agent.name}
        if session_info is not None:
            metadata["durable_session"] = session_info
        extends = base_version
        if forked:
            # A fork extends its new run's latest version (stored by fork_run or by its first
            # row), read in a step: a replay gets it back instead of reading its own save.
            extends = await DBOS.run_step_async(
                {"name": _names.FORK_BASE_STEP}, _latest_version, store, target_run
            )
        # Not a step (one DBOS checkpoint less per segment): the save is a compare-and-set on the
        # version this segment extends, so a replay after a crash finds its own version instead
        # of writing another (see _save).
        version = await _save(store, target_run, extends, result, status, metadata)
        if local is not None:
            local.result = result
        if emit is not None:
            emit({"key": "end", "type": "segment_end", "status": status, "version": version})
        final = result.final_output if isinstance(result.final_output, str) else None
        outcome = status
        return {"status": status, "version": version, "final_output": final}
    except (DBOSWorkflowCancelledError, asyncio.CancelledError):
        outcome = "cancelled"
        raise
    finally:
        segments_log.info(
            "segment %s: run %s, agent %s, %s in %.2f s",
            workflow_id,
            target_run,
            agent.name,
            outcome,
            time.monotonic() - started,
        )
        _threads.leave_segment(steps_token)
        current_segment.reset(token)
        RUNTIME.local_runs.pop(workflow_id, None)
        if local is not None:
            local.saved.set()


async def _load_input(
    store: RunStateStore,
    run_id: str,
    base_version: int,
    root: Agent[Any],
    spec: SegmentSpec,
    seg: SegmentContext,
) -> RunState[Any, Any]:
    """The RunState a resumed segment starts from, with its recorded decisions applied."""
    if spec.state is not None:
        return await RunState.from_json(root, spec.state)
    state = await store.load(run_id, root, version=base_version)
    decisions = await DBOS.run_step_async(
        {"name": _names.DECISIONS_STEP},
        _approvals.claim_and_read,
        store,
        run_id,
        base_version,
    )
    seg.reserve_calls(_approvals.apply(state, decisions))
    seg.edited_arguments.update(_approvals.edits(decisions))
    return state


def _hold_until_saved(result: RunResultStreaming, saved: asyncio.Event) -> None:
    """Make the consumer's ``stream_events()`` end only after the segment saved its state."""
    original = result.run_loop_task
    assert original is not None

    async def wait() -> Any:
        value = await asyncio.shield(original)
        await saved.wait()
        return value

    result._timestep_original_task = original  # type: ignore[attr-defined]
    result.run_loop_task = asyncio.ensure_future(wait())


async def _original_task(result: RunResultStreaming) -> BaseException | None:
    """Wait for the SDK's run loop; return what it raised (the consumer may not have seen it)."""
    task = getattr(result, "_timestep_original_task", None) or result.run_loop_task
    if task is None:
        return None
    await asyncio.wait({task})
    return None if task.cancelled() else task.exception()


async def _save(
    store: RunStateStore,
    run_id: str,
    base_version: int,
    result: RunResult | RunResultStreaming,
    status: RunStatus,
    metadata: dict[str, Any],
) -> int:
    """Write the segment's final state; a repeat after a crash finds its own version.

    ``base_version`` is the version the segment extends (a fork's is its new run's latest
    version, checkpointed before the save). The write is a compare-and-set on it, and only the
    segment holding the run at ``base_version`` (claimed, or the run's first segment) appends
    the next version: a run is ``running`` while a segment holds it, and claims take only
    ``waiting`` runs. So when the store already holds a later version, the one right after
    ``base_version`` is this segment's own, committed before a crash: a repeat returns it and
    writes nothing, even when later segments (resumed from that version meanwhile) appended more.
    """
    try:
        stored = await store.save(
            result,
            run_id=run_id,
            status=status,
            expected_version=base_version,
            metadata=metadata,
        )
    except StaleStateError as error:
        if error.actual > base_version:
            return base_version + 1
        raise
    return stored.version


#: Metadata key of a failed run whose segment could not load its state: the version to retry.
RESUMABLE_KEY = "resumable_from"


def describe_error(error: BaseException) -> str:
    """The error as recorded in a run's metadata (type and message, bounded)."""
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 2000 else text[:1997] + "..."


start_state = _rows.start_state


async def record_end(
    store: RunStateStore,
    run_id: str,
    status: RunStatus,
    reason: str,
    first: RunState[Any, Any] | None,
    agent_name: str,
    retry_from: int | None = None,
) -> str:
    """Mark ``run_id`` ``failed``/``cancelled`` with ``reason`` in its metadata.

    A run without a row (it ended before its first row was written) gets ``first``, its start
    state, as version 0, so it is listed with its input and error instead of vanishing.
    ``retry_from`` (a segment that could not load its state) is kept as
    ``metadata["resumable_from"]``: ``resume()`` may start that segment again.
    """
    metadata: dict[str, Any] = {"error": reason}
    if retry_from is not None:
        metadata[RESUMABLE_KEY] = retry_from
    try:
        await store.set_status(run_id, status, metadata=metadata)
    except RunNotFoundError:
        if first is None:
            return reason
        created = await store.create_run(
            first, run_id=run_id, status=status, metadata={**metadata, "durable_agent": agent_name}
        )
        if created is None:  # another writer created it meanwhile
            await store.set_status(run_id, status, metadata=metadata)
    return reason
