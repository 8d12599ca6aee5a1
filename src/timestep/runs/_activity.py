"""What is happening now: running runs, queued segments and the processes that run them.

The read model behind ``timestep workers`` and the inbox's activity section (``/api/activity``):
the store's ``running`` runs, each with the segment and executor that hold it; the segments waiting
on the Python (``timestep``) and TypeScript (``timestep-ts``) DBOS queues; and the executors with
their last heartbeat and whether they are alive.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._errors import RunNotFoundError
from ._detail import summary_dict

if TYPE_CHECKING:
    from ..state import RunStateStore


async def activity(store: RunStateStore) -> dict[str, Any]:
    """Running runs, queued segments and executors (the API's ``Activity`` schema)."""
    from ..durable import list_activity

    executors, segments = await list_activity(store=store)
    alive = {e.executor_id: e.alive for e in executors}
    held = {s.run_id: s for s in segments if s.status == "running"}
    runs = {run.run_id: run for run in await store.list_runs(status="running")}
    running = []
    for run in sorted(runs.values(), key=lambda r: r.updated_at, reverse=True):
        segment = held.get(run.run_id)
        executor = segment.executor_id if segment is not None else None
        running.append(
            {
                **summary_dict(run),
                "segment": segment.segment if segment is not None else None,
                "executor_id": executor,
                # None: no heartbeat row (e.g. a process started before timestep recorded them)
                "executor_alive": alive.get(executor) if executor is not None else None,
            }
        )
    queued = []
    for segment in segments:
        if segment.status != "queued":
            continue
        if segment.agent_name is None:  # the spec was unreadable: ask the store
            with contextlib.suppress(RunNotFoundError):  # a new run has no row yet
                segment = replace(segment, agent_name=(await store.run(segment.run_id)).agent_name)
        queued.append(segment.to_dict())
    return {
        "running": running,
        "queued": queued,
        "workers": [e.to_dict() for e in executors],
    }
