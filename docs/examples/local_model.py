"""An agent on the bundled offline model ``local/qwen2.5-0.5b``.

Set the model up once (``python -m timestep.models.local setup``: builds llama-server from the
PyPI sources of llama-cpp-python and fetches the weights), then run ``python local_model.py``.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from agents import Agent, Model, ModelSettings, RunConfig, Runner, function_tool

from timestep import RunStateStore, run_agent
from timestep.models.local import LocalModelProvider

DB = "sqlite:///timestep.db"
PROMPT = "What is the price of the blue mug? Use the get_price tool."


@function_tool
def get_price(item: str) -> str:
    """The price of an item in the shop."""
    return f"{item}: $12"


def build_agent(model: str | Model = "local/qwen2.5-0.5b") -> Agent[Any]:
    return Agent(
        name="shop",
        instructions="Use the get_price tool to answer questions about prices.",
        model=model,
        # A 0.5B model: be deterministic and keep it short.
        model_settings=ModelSettings(temperature=0, max_tokens=200),
        tools=[get_price],
    )


async def main(model: str | Model = "local/qwen2.5-0.5b", db: str = DB) -> None:
    # run_agent routes "local/..." itself; the run is durable like any other.
    store = RunStateStore(db)
    result = await run_agent(build_agent(model), PROMPT, run_id="price-1", store=store, max_turns=4)
    print("answer:", result.final_output)


async def with_the_stock_runner(model: str | Model = "local/qwen2.5-0.5b") -> None:
    # The SDK's own Runner needs to be told who serves "local/...": LocalModelProvider starts
    # llama-server on 127.0.0.1 on first use and stops it when the process exits.
    config = RunConfig(model_provider=LocalModelProvider())
    result = await Runner.run(build_agent(model), PROMPT, max_turns=4, run_config=config)
    print("answer:", result.final_output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="local/qwen2.5-0.5b", help="model name")
    args = parser.parse_args()
    asyncio.run(main(args.model))
