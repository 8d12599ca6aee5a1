"""Python half of a hand-off: start a durable run that pauses; TypeScript finishes it.

``python handoff_start.py start`` runs until the refund needs approval; then
``handoff_resume.ts`` (TypeScript, compiled with tsc) approves and resumes it from the same database, and
``python handoff_start.py show`` prints the stored history.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from agents import Agent, Model, function_tool

from timestep import RunStateStore, run_agent

RUN_ID = "ticket-7"


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund ``amount`` dollars on an order."""
    return f"refunded ${amount} on order {order_id}"


def build_agent(model: str | Model) -> Agent[Any]:
    # The TypeScript side declares an agent with the same name and a tool with the same name.
    return Agent(name="support", instructions="Refund damaged orders.", model=model, tools=[refund])


async def start(model: str | Model, db: str) -> None:
    store = RunStateStore(db)
    await run_agent(build_agent(model), "Refund $5 on order 7.", run_id=RUN_ID, store=store)
    stored = await store.get(RUN_ID)
    print(f"{RUN_ID}: {stored.status}, pending {[p.tool_name for p in stored.pending_approvals]}")


async def show(db: str) -> None:
    for version in await RunStateStore(db).versions(RUN_ID):
        print(
            f"v{version.version}: {version.status:8} written by {version.language} "
            f"(SDK {version.sdk_version}, state schema {version.schema_version})"
        )


if __name__ == "__main__":
    if sys.argv[1] == "start":
        asyncio.run(start("gpt-4.1", "sqlite:///timestep.db"))
    else:
        asyncio.run(show("sqlite:///timestep.db"))
