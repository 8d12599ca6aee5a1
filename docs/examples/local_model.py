"""An agent on the bundled offline model ``local/qwen2.5-0.5b``.

Set the model up once (``python -m timestep.models.local setup``: builds llama-server from the
PyPI sources of llama-cpp-python and fetches the weights), then run ``python local_model.py``.
"""

from __future__ import annotations

import asyncio

from agents import Agent, Model, ModelSettings, function_tool

from timestep import RunStateStore, run_agent

DB = "sqlite:///timestep.db"


@function_tool
def get_price(item: str) -> str:
    """The price of an item in the shop."""
    return f"{item}: $12"


async def main(model: str | Model = "local/qwen2.5-0.5b", db: str = DB) -> None:
    agent = Agent(
        name="shop",
        instructions="Use the get_price tool to answer questions about prices.",
        model=model,
        # A 0.5B model: be deterministic and keep it short.
        model_settings=ModelSettings(temperature=0, max_tokens=200),
        tools=[get_price],
    )
    result = await run_agent(
        agent,
        "What is the price of the blue mug? Use the get_price tool.",
        run_id="price-1",
        store=RunStateStore(db),
        max_turns=4,
    )
    print("answer:", result.final_output)


if __name__ == "__main__":
    asyncio.run(main())
