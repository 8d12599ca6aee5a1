"""The checkpointed steps DBOS recorded for a durable run's segments (read-only)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from . import _names
from ._runtime import RUNTIME

if TYPE_CHECKING:
    from ..state import RunStateStore


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
        """JSON form (the inbox API's ``DurableStep`` schema)."""
        return asdict(self)


def _read(store_target: str, run_id: str) -> list[DurableStep]:
    client = RUNTIME.client(store_target)
    # segments run by either language (TypeScript's on a shared Postgres)
    segments = client.list_workflows(
        workflow_id_prefix=f"{run_id}@", application_name=list(_names.APPLICATION_NAMES)
    )
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


async def recorded_steps(run_id: str, *, store: RunStateStore) -> list[DurableStep]:
    """Every recorded step of ``run_id``'s segments, segment by segment, in step order."""
    return await asyncio.to_thread(_read, store.target, run_id)
