"""A run's recorded durable steps, and their timings laid onto its timeline."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ._timeline import TimelineStep

if TYPE_CHECKING:
    from ..durable import DurableStep
    from ..state import RunStateStore, RunSummary

_MODEL_STEPS = ("timestep.model.get_response", "timestep.model.stream_response")
_CALL_PREFIXES = {"tool": "timestep.tool:", "handoff": "timestep.handoff:"}


async def durable_steps(store: RunStateStore, run: RunSummary) -> list[DurableStep]:
    """Recorded steps of a run that ran durably, oldest first ([] for runs saved directly)."""
    if "durable_agent" not in run.metadata:
        return []
    from ..durable import recorded_steps

    return await recorded_steps(run.run_id, store=store)


def with_durations(timeline: list[TimelineStep], steps: list[DurableStep]) -> list[TimelineStep]:
    """Timeline steps with ``duration_ms`` taken from the matching recorded durable steps.

    Model calls match in order; tool calls and handoffs match by name, in order.
    """
    models = [s for s in steps if s.name in _MODEL_STEPS]
    calls: dict[tuple[str, str], list[DurableStep]] = {}
    for step in steps:
        for kind, prefix in _CALL_PREFIXES.items():
            if step.name.startswith(prefix):
                calls.setdefault((kind, step.name[len(prefix) :]), []).append(step)
    result: list[TimelineStep] = []
    for item in timeline:
        queue = models if item.kind == "model" else calls.get((item.kind, item.name), [])
        if queue and (item.kind == "model" or item.status == "done"):
            result.append(replace(item, duration_ms=queue.pop(0).duration_ms))
        else:
            result.append(item)
    return result
