"""The small surface: ``run_agent`` and ``consume_result``."""

from __future__ import annotations

from typing import Any

from agents import Agent, RunConfig, Runner, RunResult, RunResultStreaming, RunState
from agents.items import TResponseInputItem
from agents.memory import Session

from ._errors import RunFinishedError
from .models import DEFAULT_MAX_TURNS, with_default_provider
from .state import RunStateStore, is_finished, open_session, origin_of, remember


async def run_agent(
    agent: Agent[Any],
    input: str | list[TResponseInputItem] | RunState[Any, Any],
    session: Session | str | None = None,
    stream: bool = False,
    *,
    run_id: str | None = None,
    store: RunStateStore | None = None,
    run_config: RunConfig | None = None,
    max_turns: int = DEFAULT_MAX_TURNS,
    context: Any = None,
    **runner_kwargs: Any,
) -> RunResult | RunResultStreaming:
    """Run ``agent`` on ``input`` (text, input items, or a RunState to resume).

    Models are routed by :class:`~timestep.MultiModelProvider` unless ``run_config`` names another
    provider. ``session`` is an SDK session or a session id stored in the default database.
    With ``run_id`` the run is durable: it executes as DBOS workflow segments whose model and tool
    calls are checkpointed steps, and its state is saved to ``store`` (default store when None)
    whenever it pauses or ends. A streamed result must be drained (``consume_result``).
    Raises :class:`~timestep.RunFinishedError` for a state whose run already finished.
    """
    if isinstance(input, RunState) and is_finished(input):
        origin = origin_of(input)
        where = f" (run {origin.run_id!r}, version {origin.version})" if origin else ""
        raise RunFinishedError(
            f"this state's run already finished{where}; start a new run with new input instead"
        )
    config = with_default_provider(run_config)
    if isinstance(session, str):
        session = open_session(session)
    if run_id is not None:
        from .durable import run_durable  # DBOS is imported only by durable runs

        return await run_durable(
            agent,
            input,
            run_id=run_id,
            store=store,
            stream=stream,
            session=session,
            run_config=config,
            max_turns=max_turns,
            context=context,
            **runner_kwargs,
        )
    result: RunResult | RunResultStreaming
    if stream:
        result = Runner.run_streamed(
            agent,
            input,
            session=session,
            run_config=config,
            max_turns=max_turns,
            context=context,
            **runner_kwargs,
        )
    else:
        result = await Runner.run(
            agent,
            input,
            session=session,
            run_config=config,
            max_turns=max_turns,
            context=context,
            **runner_kwargs,
        )
    origin = origin_of(input)
    if origin is not None:
        remember(result, origin)
    return result


async def consume_result(
    result: RunResult | RunResultStreaming,
) -> RunResult | RunResultStreaming:
    """Drain a streamed result so ``final_output``, ``interruptions`` and ``to_state()`` are set.

    A non-streamed result is returned unchanged. Errors raised by the run are re-raised here.
    """
    if isinstance(result, RunResultStreaming):
        async for _event in result.stream_events():
            pass
    return result
