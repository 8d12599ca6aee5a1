"""The checkpointed steps DBOS recorded for a durable run, with their timings."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ._timeline import TimelineStep

if TYPE_CHECKING:
    from ..state.records import RunSummary
    from ..state.store import RunStateStore

_MODEL_STEPS = ("timestep.model.get_response", "timestep.model.stream_response")
_CALL_PREFIXES = {"tool": "timestep.tool:", "handoff": "timestep.handoff:"}


@dataclass(frozen=True)
class DurableStep:
    """One recorded step of one segment (DBOS workflow) of a run."""

    segment: str
    step_id: int
    name: str
    started_at_ms: int | None
    duration_ms: int | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the API's ``DurableStep`` schema)."""
        return asdict(self)


def _read(store: RunStateStore, run_id: str) -> list[DurableStep]:
    from ..durable._runtime import RUNTIME

    client = RUNTIME.client(store.target)
    segments = client.list_workflows(workflow_id_prefix=f"{run_id}@")
    segments.sort(key=lambda w: int(w.workflow_id.rsplit("@", 1)[1]))
    steps: list[DurableStep] = []
    for segment in segments:
        for info in client.list_workflow_steps(segment.workflow_id):
            started, completed = info["started_at_epoch_ms"], info["completed_at_epoch_ms"]
            steps.append(
                DurableStep(
                    segment=segment.workflow_id,
                    step_id=info["function_id"],
                    name=info["function_name"],
                    started_at_ms=started,
                    duration_ms=None
                    if started is None or completed is None
                    else completed - started,
                    error=None if info["error"] is None else str(info["error"]),
                )
            )
    return steps


async def durable_steps(store: RunStateStore, run: RunSummary) -> list[DurableStep]:
    """Recorded steps of a run that ran durably, oldest first ([] for runs saved directly)."""
    if "durable_agent" not in run.metadata:
        return []
    return await asyncio.to_thread(_read, store, run.run_id)


def with_durations(timeline: list[TimelineStep], steps: list[DurableStep]) -> list[TimelineStep]:
    """Timeline steps with ``duration_ms`` taken from the matching recorded durable steps.

    Model calls match in order; tool calls and handoffs match by name, in order.
    """
    from dataclasses import replace

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
