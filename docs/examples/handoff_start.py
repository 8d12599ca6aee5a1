"""Python half of a hand-off: start a durable run that pauses; TypeScript finishes it.

``python handoff_start.py start`` runs until the refund needs approval and prints the run id;
then ``node handoff_resume.js RUN_ID`` (TypeScript, compiled with tsc) approves and resumes it
from the same database, and ``python handoff_start.py show RUN_ID`` prints the stored history.
Each ``start`` is a new run (``--run-id`` names it); ``--model`` defaults to the bundled local
model.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from typing import Any

from agents import Agent, Model, function_tool

from timestep import RunStateStore, run_agent


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund ``amount`` dollars on an order."""
    return f"refunded ${amount} on order {order_id}"


def build_agent(model: str | Model) -> Agent[Any]:
    # The TypeScript side declares an agent with the same name and a tool with the same name.
    return Agent(name="support", instructions="Refund damaged orders.", model=model, tools=[refund])


async def start(model: str | Model, db: str, run_id: str | None = None) -> str:
    run_id = run_id or f"ticket-7-{uuid.uuid4().hex[:6]}"  # a run id is used once
    store = RunStateStore(db)
    await run_agent(build_agent(model), "Refund $5 on order 7.", run_id=run_id, store=store)
    stored = await store.get(run_id)
    print(f"{run_id}: {stored.status}, pending {[p.tool_name for p in stored.pending_approvals]}")
    return run_id


async def show(db: str, run_id: str) -> None:
    for version in await RunStateStore(db).versions(run_id):
        print(
            f"v{version.version}: {version.status:8} written by {version.language} "
            f"(SDK {version.sdk_version}, state schema {version.schema_version})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=["start", "show"])
    parser.add_argument("run_id", nargs="?", help="show: the run id that start printed")
    parser.add_argument("--model", default="local/qwen2.5-0.5b", help="model name")
    parser.add_argument("--db", default="sqlite:///timestep.db", help="store URL")
    args = parser.parse_args()
    if args.step == "start":
        asyncio.run(start(args.model, args.db, args.run_id))
    elif args.run_id is None:
        parser.error("show needs the RUN_ID that 'start' printed")
    else:
        asyncio.run(show(args.db, args.run_id))
