"""A first durable run: the model call and the tool call are checkpointed steps.

Run it with a model you have (``python first_run.py``); the docs' tests inject a scripted model.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents import Agent, Model, function_tool

from timestep import RunStateStore, run_agent


@function_tool
def order_status(order_id: str) -> str:
    """Look up where an order is."""
    return f"order {order_id}: shipped on Monday, arriving Thursday"


def build_agent(model: str | Model) -> Agent[Any]:
    return Agent(
        name="support",
        instructions="Answer questions about orders. Use order_status to look orders up.",
        model=model,
        tools=[order_status],
    )


async def main(model: str | Model = "gpt-4.1", db: str = "sqlite:///timestep.db") -> None:
    agent = build_agent(model)
    store = RunStateStore(db)  # creates (or migrates) timestep's tables
    result = await run_agent(agent, "Where is order 42?", run_id="order-42", store=store)
    print("answer:", result.final_output)

    stored = await store.get("order-42")  # the latest saved version of the run
    print(f"run {stored.run_id}: {stored.status}, version {stored.version}")


if __name__ == "__main__":
    asyncio.run(main())
