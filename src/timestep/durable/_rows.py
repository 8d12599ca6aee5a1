"""The first row of a durable run: written when its first segment starts, before any step.

A run is stored from the moment it starts, so ``runs list``, ``runs show``, ``cancel``, ``fork``
and the inbox see and control it while its first segment runs, and after its process died there.
Version 0 holds the run's start (its input and starting agent) with status ``running``; the
segment's final save is version 1, so segment ids stay ``<run_id>@<version it starts from>``.

Writing the row is not a checkpointed step (the step sequence, and so ``fork --at`` step numbers,
stay as they were): a segment replayed after a crash finds the row there and writes nothing.
"""

from __future__ import annotations

from typing import Any

from agents import Agent, RunContextWrapper, RunState

from ..state import RunStateStore
from ._spec import SegmentSpec


def start_state(agent: Agent[Any], run_input: Any, spec: SegmentSpec) -> RunState[Any, Any]:
    """A RunState at the start of a run: its input and starting agent, no items yet."""
    if isinstance(run_input, RunState):
        return run_input
    return RunState(
        context=RunContextWrapper(context=None),
        original_input=run_input,
        starting_agent=agent,
        max_turns=spec.max_turns,
    )


async def create_first_row(
    store: RunStateStore,
    run_id: str,
    agent: Agent[Any],
    run_input: Any,
    spec: SegmentSpec,
    metadata: dict[str, Any],
) -> bool:
    """Store version 0 (``running``) of a run that has no row yet; False when it has one."""
    state = start_state(agent, run_input, spec)
    stored = await store.create_run(state, run_id=run_id, metadata=metadata)
    return stored is not None
