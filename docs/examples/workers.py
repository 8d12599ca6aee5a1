"""Many workers on one Postgres database: queue runs anywhere, any worker runs them.

Start workers (on one machine or many), then queue runs::

    python workers.py worker w1 &
    python workers.py worker w2 &
    python workers.py submit 6

Each queued run is given to exactly one worker; a worker that dies leaves its segment pending,
and a worker started again with the same name recovers it. Every ``submit`` queues new runs
(``job-<batch>-<n>``); ``--model`` defaults to the bundled local model, ``--db`` to
``$TIMESTEP_DB``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from typing import Any

from agents import Agent, Model, function_tool

from timestep import RunStateStore
from timestep.durable import enqueue_run, worker

FINISHED = ("done", "failed", "cancelled")
DB = os.environ.get("TIMESTEP_DB", "postgresql://timestep@localhost/timestep")


@function_tool
def word_count(text: str) -> str:
    """Count the words of a text."""
    return f"{len(text.split())} words"


def build_agent(model: str | Model) -> Agent[Any]:
    # Workers look agents up by name: every worker registers the same agents.
    return Agent(
        name="counter", instructions="Count words with word_count.", model=model, tools=[word_count]
    )


async def serve(name: str, model: str | Model = "local/qwen2.5-0.5b", db: str = DB) -> None:
    """Run a worker until it is stopped; ``name`` is its recovery identity."""
    await worker([build_agent(model)], store=RunStateStore(db), executor_id=name, concurrency=4)


async def submit(count: int, db: str = DB) -> None:
    """Queue ``count`` new runs, then wait until every one has finished."""
    store = RunStateStore(db)
    batch = f"job-{uuid.uuid4().hex[:6]}-"  # run ids are used once: each submit is a new batch
    for n in range(count):
        text = " ".join(["word"] * (n + 1))
        await enqueue_run("counter", f"How many words: {text}", run_id=f"{batch}{n}", store=store)
    while True:
        runs = [run for run in await store.list_runs() if run.run_id.startswith(batch)]
        if len(runs) == count and all(run.status in FINISHED for run in runs):
            break
        await asyncio.sleep(0.5)
    for run in sorted(runs, key=lambda run: int(run.run_id.removeprefix(batch))):
        state = await store.get(run.run_id)
        print(f"{run.run_id}: {run.status} in {state.version} version(s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    serving = steps.add_parser("worker", help="run a worker until stopped")
    serving.add_argument("name", help="the worker's name (its recovery identity)")
    serving.add_argument("--model", default="local/qwen2.5-0.5b", help="model name")
    submitting = steps.add_parser("submit", help="queue runs and wait for them")
    submitting.add_argument("count", type=int)
    parser.add_argument("--db", default=DB, help="store URL (default $TIMESTEP_DB)")
    args = parser.parse_args()
    if args.step == "worker":
        asyncio.run(serve(args.name, args.model, args.db))
    else:
        asyncio.run(submit(args.count, args.db))
