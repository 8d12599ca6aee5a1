"""``web_search`` on a model without hosted tools (here Ollama), restricted to one site.

``python web_search_agent.py`` uses Firecrawl (``$FIRECRAWL_API_KEY``); ``web_search`` without
arguments picks a backend from the environment at each call.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from agents import Agent, Model

from timestep import run_agent, web_search, web_search_tool

docs_only = web_search_tool(
    "firecrawl",  # or "ollama", "ddgs", a SearchBackend object, or None (auto)
    search_context_size="low",  # low / medium / high = 3 / 5 / 10 results
    allowed_domains=["python.org"],  # subdomains included (docs.python.org)
    timeout=10,  # seconds per search
)


def build_agent(model: str | Model, *, anywhere: bool = False) -> Agent[Any]:
    return Agent(
        name="researcher",
        instructions="Search the web before answering; cite the URLs you used.",
        model=model,
        tools=[web_search if anywhere else docs_only],
    )


async def main(model: str | Model = "ollama/qwen2.5") -> None:
    result = await run_agent(build_agent(model), "What is new in Python 3.13?")
    print(result.final_output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="ollama/qwen2.5", help="model name")
    args = parser.parse_args()
    asyncio.run(main(args.model))
