"""A first approval: the run pauses before a refund, a human approves, a new process resumes.

``python first_approval.py start`` runs until the refund needs approval and exits, printing the
new run's id; ``python first_approval.py approve RUN_ID`` records the decision;
``python first_approval.py finish RUN_ID`` (in any process, any time later) runs the rest. Each
``start`` makes a new run, so the example can be run again. ``--model`` picks the model (default:
the bundled local model ``local/qwen2.5-0.5b``).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
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


def build_agent(model: str | Model = "local/qwen2.5-0.5b") -> Agent[Any]:
    return Agent(
        name="support",
        instructions="Refund damaged orders with the refund tool, then confirm to the user.",
        model=model,
        tools=[refund],
    )


async def start(model: str | Model, db: str, run_id: str) -> None:
    store = RunStateStore(db)
    result = await run_agent(
        build_agent(model), "Refund $25 on order 42, it arrived broken.", run_id=run_id, store=store
    )
    for item in result.interruptions:  # the tool calls waiting for a human
        print("needs approval:", item.name, item.arguments)
    stored = await store.get(run_id)
    print(f"run {run_id} is {stored.status}")  # "waiting": saved, nothing is left in memory


async def decide(db: str, run_id: str) -> None:
    store = RunStateStore(db)
    decision = await approve(run_id, by="alice", store=store)  # the only pending call
    print(f"approved {decision.call_id}; every call decided: {decision.all_decided}")


async def finish(model: str | Model, db: str, run_id: str) -> None:
    store = RunStateStore(db)
    result = await resume(run_id, agent=build_agent(model), store=store)
    assert result is not None  # with agent=..., the next segment runs in this process
    print("answer:", result.final_output)
    print(f"run {run_id} is {(await store.get(run_id)).status}")


async def main(
    step: str, model: str | Model = "local/qwen2.5-0.5b", db: str = DB, run_id: str = RUN_ID
) -> None:
    if step == "start":
        await start(model, db, run_id)
    elif step == "approve":
        await decide(db, run_id)
    else:
        await finish(model, db, run_id)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A first approval, in three processes.")
    parser.add_argument("step", choices=["start", "approve", "finish"])
    parser.add_argument("run_id", nargs="?", help="the run 'start' printed (start: a new one)")
    parser.add_argument("--model", default="local/qwen2.5-0.5b", help="model name")
    parser.add_argument("--db", default=DB, help="store URL")
    args = parser.parse_args()
    if args.step != "start" and not args.run_id:
        parser.error(f"'{args.step}' needs the RUN_ID that 'start' printed")
    run_id = args.run_id or f"{RUN_ID}-{uuid.uuid4().hex[:6]}"
    asyncio.run(main(args.step, args.model, args.db, run_id))
