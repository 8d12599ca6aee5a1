"""The seed's usage in Python: pause for approval, save to a file, load it, approve, resume.

Its TypeScript twin is ``seed.ts``, line for line (see "Python and TypeScript side by side").
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents import Agent, Model, function_tool

from timestep import RunStateStore, consume_result, open_session, run_agent


@function_tool(needs_approval=True)
def refund(order_id: str, amount: int) -> str:
    """Refund ``amount`` dollars on an order. A human must approve each call."""
    return f"refunded ${amount} on order {order_id}"


def build_agent(model: str | Model) -> Agent[Any]:
    return Agent(name="support", instructions="Refund damaged orders.", model=model, tools=[refund])


async def main(
    model: str | Model = "gpt-4.1", path: str = "state.json", db: str = "sqlite:///timestep.db"
) -> None:
    agent = build_agent(model)
    session = open_session("ticket-42", db)
    state_store = RunStateStore(path, agent)

    result = await run_agent(agent, "Refund $5 on order 42", session, True)
    result = await consume_result(result)
    await state_store.save(result)
    print("paused:", ", ".join(item.name or "" for item in result.interruptions))

    saved_state = await state_store.load()
    for interruption in saved_state.get_interruptions():
        saved_state.approve(interruption)
    result = await run_agent(agent, saved_state, session, False)
    result = await consume_result(result)
    await state_store.save(result)
    print("answer:", result.final_output)


if __name__ == "__main__":
    asyncio.run(main())
