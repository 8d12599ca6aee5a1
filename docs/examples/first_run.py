"""A first durable run: the model call and the tool call are checkpointed steps.

``python first_run.py`` runs it on the bundled local model (``--model`` picks another, e.g.
``--model gpt-4.1`` with ``OPENAI_API_KEY`` set); each run gets a new run id, so it can be run
again.
The docs' tests inject a scripted model.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
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


async def main(
    model: str | Model = "local/qwen2.5-0.5b",
    db: str = "sqlite:///timestep.db",
    run_id: str | None = None,
) -> None:
    run_id = run_id or f"order-42-{uuid.uuid4().hex[:6]}"  # a run id is used once
    agent = build_agent(model)
    store = RunStateStore(db)  # creates (or migrates) timestep's tables
    result = await run_agent(agent, "Where is order 42?", run_id=run_id, store=store)
    print("answer:", result.final_output)

    stored = await store.get(run_id)  # the latest saved version of the run
    print(f"run {stored.run_id}: {stored.status}, version {stored.version}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A first durable run.")
    parser.add_argument("--model", default="local/qwen2.5-0.5b", help="model name")
    parser.add_argument("--db", default="sqlite:///timestep.db", help="store URL")
    parser.add_argument("--run-id", default=None, help="default: a new one each time")
    args = parser.parse_args()
    asyncio.run(main(args.model, args.db, args.run_id))
