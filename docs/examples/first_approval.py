"""A first approval: the run pauses before a refund, a human approves, a new process resumes.

``python first_approval.py start`` runs until the refund needs approval and exits;
``python first_approval.py approve`` records the decision; ``python first_approval.py finish``
(in any process, any time later) runs the rest.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from agents import Agent, Model, function_tool

from timestep import RunStateStore, run_agent
from timestep.durable import approve, resume

RUN_ID = "ticket-42"
DB = "sqlite:///timestep.db"


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund ``amount`` dollars on an order. A human must approve each call."""
    return f"refunded ${amount} on order {order_id}"


def build_agent(model: str | Model = "gpt-4.1") -> Agent[Any]:
    return Agent(
        name="support",
        instructions="Refund damaged orders with the refund tool, then confirm to the user.",
        model=model,
        tools=[refund],
    )


async def start(model: str | Model, db: str) -> None:
    store = RunStateStore(db)
    result = await run_agent(
        build_agent(model), "Refund $25 on order 42, it arrived broken.", run_id=RUN_ID, store=store
    )
    for item in result.interruptions:  # the tool calls waiting for a human
        print("needs approval:", item.name, item.arguments)
    stored = await store.get(RUN_ID)
    print(f"run {RUN_ID} is {stored.status}")  # "waiting": saved, nothing is left in memory


async def decide(db: str) -> None:
    store = RunStateStore(db)
    decision = await approve(RUN_ID, by="alice", store=store)  # the only pending call
    print(f"approved {decision.call_id}; every call decided: {decision.all_decided}")


async def finish(model: str | Model, db: str) -> None:
    store = RunStateStore(db)
    result = await resume(RUN_ID, agent=build_agent(model), store=store)
    assert result is not None  # with agent=..., the next segment runs in this process
    print("answer:", result.final_output)
    print(f"run {RUN_ID} is {(await store.get(RUN_ID)).status}")


async def main(step: str, model: str | Model = "gpt-4.1", db: str = DB) -> None:
    if step == "start":
        await start(model, db)
    elif step == "approve":
        await decide(db)
    else:
        await finish(model, db)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
