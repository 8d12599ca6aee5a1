"""The checkpointed steps DBOS recorded for a durable run's segments (read-only)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from . import _names
from ._runtime import RUNTIME

if TYPE_CHECKING:
    from ..state import RunStateStore


def segment_language(status: Any) -> Literal["python", "typescript"]:
    """The language of a DBOS workflow (a segment) by its application version."""
    version = str(getattr(status, "app_version", "") or "")
    return "typescript" if version.startswith("timestep-ts") else "python"


def public_step_id(function_id: int, language: str) -> int:
    """A step's public number (from 1: the segment's first step) from its engine's function id.

    Python DBOS numbers a workflow's steps from 1, DBOS TypeScript from 0; ``recorded_steps``,
    ``fork_run`` and their TypeScript twins number every segment's steps alike.
    """
    return function_id + 1 if language == "typescript" else function_id


@dataclass(frozen=True)
class DurableStep:
    """One recorded step of one segment (DBOS workflow) of a run."""

    segment: str
    step_id: int
    """The step's number in its segment, from 1, whichever language's engine recorded it."""
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
        language = segment_language(segment)
        for info in client.list_workflow_steps(segment.workflow_id):
            started, completed = info["started_at_epoch_ms"], info["completed_at_epoch_ms"]
            steps.append(
                DurableStep(
                    segment=segment.workflow_id,
                    step_id=public_step_id(info["function_id"], language),
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
    """Every recorded step of ``run_id``'s segments, segment by segment, in step order.

    Each segment's steps are numbered from 1 (``step_id``), whichever language's engine recorded
    it (TypeScript's segments are listed too on a shared Postgres); ``fork_run(from_step=N)`` and
    TypeScript's ``forkRun({ fromStep: N })`` take these numbers.
    """
    return await asyncio.to_thread(_read, store.target, run_id)
