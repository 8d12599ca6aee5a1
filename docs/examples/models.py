"""One model name for any provider: OpenAI, Ollama (local or cloud), the local model, your own.

``python models.py`` runs a durable agent on ``ollama/qwen2.5`` from the Ollama server at
``$OLLAMA_HOST`` (default ``http://localhost:11434``).
"""

from __future__ import annotations

import argparse
import asyncio

from agents import Agent, ModelSettings, function_tool

from timestep import (
    MultiModelProvider,
    MultiModelProviderMap,
    OllamaModelProvider,
    RunStateStore,
    run_agent,
)


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"{city}: sunny, 21 C"


def routes() -> None:
    """Model names are routed by their prefix; no request is made to build a model."""
    provider = MultiModelProvider(ollama_host="http://gpu-box:11434", ollama_api_key="sk-demo")
    for name in ["ollama/qwen2.5", "ollama/gpt-oss:120b-cloud", "ollama-cloud/glm-4.6"]:
        model = provider.get_model(name)
        print(f"{name} -> {type(model).__name__} at {model.host}")  # type: ignore[attr-defined]


def custom_prefix() -> MultiModelProvider:
    """A prefix of your own: ``lab/<model>`` goes to the Ollama server of the lab."""
    lab = MultiModelProviderMap()
    lab.add_provider("lab", OllamaModelProvider(host="http://lab-server:11434"))
    provider = MultiModelProvider(provider_map=lab)
    print("known prefixes:", ", ".join(provider.known_prefixes))
    return provider


async def main(model: str = "ollama/qwen2.5", db: str = "sqlite:///timestep.db") -> None:
    routes()
    custom_prefix()
    agent = Agent(
        name="weather",
        instructions="Answer with the get_weather tool.",
        model=model,  # a plain string: run_agent routes it with MultiModelProvider
        model_settings=ModelSettings(temperature=0),
        tools=[get_weather],
    )
    result = await run_agent(
        agent, "What is the weather in Paris?", run_id="weather-1", store=RunStateStore(db)
    )
    print("answer:", result.final_output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="ollama/qwen2.5", help="model name")
    args = parser.parse_args()
    asyncio.run(main(args.model))
