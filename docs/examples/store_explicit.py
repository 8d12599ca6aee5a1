"""The explicit style: save a paused run yourself, load it later, decide, run again.

No durable engine here: ``run_agent`` without ``run_id`` is a plain SDK run, and the store keeps
every saved version of the state in a JSON file (or SQLite, or Postgres).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from agents import Agent, Model, function_tool

from timestep import RunStateStore, run_agent


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund ``amount`` dollars on an order."""
    return f"refunded ${amount} on order {order_id}"


def build_agent(model: str | Model) -> Agent[Any]:
    return Agent(name="support", instructions="Refund damaged orders.", model=model, tools=[refund])


async def main(model: str | Model = "local/qwen2.5-0.5b", path: str = "state.json") -> None:
    agent = build_agent(model)
    store = RunStateStore(path, agent)  # a file store; its run id is the file's stem: "state"
    if Path(path).exists():
        await store.delete()  # running the example again starts the run afresh

    result = await run_agent(agent, "Refund $25 on order 42")
    await store.save(result.to_state())  # version 1, status "waiting"

    state = await store.load()  # ... later, in any process
    state.approve(state.get_interruptions()[0])
    result = await run_agent(agent, state)
    await store.save(result)  # version 2, status "done"
    print("answer:", result.final_output)

    for saved in await store.versions("state"):
        print(f"v{saved.version} {saved.status} pending={len(saved.pending_approvals)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Save, load, decide, run again.")
    parser.add_argument("--model", default="local/qwen2.5-0.5b", help="model name")
    parser.add_argument("--path", default="state.json", help="the JSON file store")
    args = parser.parse_args()
    asyncio.run(main(args.model, args.path))
