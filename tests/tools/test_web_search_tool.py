"""The web_search tool: backend selection, options, error text, agent runs, the hosted variant."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from agents import (
    Agent,
    FunctionTool,
    OpenAIProvider,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    WebSearchTool,
)
from agents.testing import ScriptedModel, assistant_message, function_call
from openai import AsyncOpenAI

import timestep
from harness.fake_search import FakeSearch, Hit, fake_search_server
from harness.http_server import LiveServer
from timestep._errors import ConfigurationError
from timestep.tools import (
    DdgsSearch,
    FirecrawlSearch,
    OllamaSearch,
    SearchResult,
    select_backend,
    web_search,
    web_search_tool,
    web_search_tool_for,
)

HITS = [
    Hit("Python", "https://www.python.org/", "The official home of the Python language."),
    Hit("Example", "https://example.com/page", "An example page."),
]

NO_TRACING = RunConfig(tracing_disabled=True)


@pytest.fixture
def search() -> Iterator[tuple[LiveServer, FakeSearch]]:
    with fake_search_server(FakeSearch(hits=list(HITS))) as pair:
        yield pair


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "OLLAMA_API_KEY",
        "FIRECRAWL_API_KEY",
        "FIRECRAWL_API_URL",
        "TIMESTEP_OLLAMA_SEARCH_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


async def invoke(tool: FunctionTool, arguments: str) -> str:
    output = await tool.on_invoke_tool(None, arguments)  # type: ignore[arg-type]
    assert isinstance(output, str)
    return output


# --- selection ---------------------------------------------------------------------------------


def test_selection_prefers_ollama_then_firecrawl_then_keyless() -> None:
    both = select_backend({"OLLAMA_API_KEY": "o", "FIRECRAWL_API_KEY": "f"})
    assert both == OllamaSearch(api_key="o")
    assert select_backend({"FIRECRAWL_API_KEY": "f"}) == FirecrawlSearch(api_key="f")
    assert select_backend({"FIRECRAWL_API_URL": "http://fc.local"}) == FirecrawlSearch(
        api_url="http://fc.local"
    )
    assert select_backend({"OLLAMA_API_KEY": ""}) == DdgsSearch()


def test_selection_without_any_backend_raises_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ddgs", None)  # as if the package were not installed
    from timestep._errors import WebSearchError

    with pytest.raises(WebSearchError, match="set OLLAMA_API_KEY or FIRECRAWL_API_KEY"):
        select_backend({})


async def test_default_tool_chooses_backend_at_call_time(
    search: tuple[LiveServer, FakeSearch], clean_env: pytest.MonkeyPatch
) -> None:
    server, _ = search
    clean_env.setenv("FIRECRAWL_API_KEY", "test-key")
    clean_env.setenv("FIRECRAWL_API_URL", server.url)
    first = await invoke(web_search, '{"query": "python"}')
    assert "backend: firecrawl" in first

    clean_env.setenv("OLLAMA_API_KEY", "test-key")
    clean_env.setenv("TIMESTEP_OLLAMA_SEARCH_HOST", server.url)
    second = await invoke(web_search, '{"query": "python"}')
    assert "backend: ollama" in second
    assert [r.path for r in server.requests] == ["/v2/search", "/api/web_search"]


async def test_nothing_available_reaches_the_model_as_text(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setitem(sys.modules, "ddgs", None)
    text = await invoke(web_search, '{"query": "python"}')
    assert text.startswith("web_search failed (auto): no web search backend is available")


# --- options and error text --------------------------------------------------------------------


def test_bad_options_fail_when_the_tool_is_built() -> None:
    with pytest.raises(ConfigurationError, match="unknown web search backend 'bing'"):
        web_search_tool("bing")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="search_context_size"):
        web_search_tool(search_context_size="huge")  # type: ignore[call-overload]
    with pytest.raises(ConfigurationError, match="timeout"):
        web_search_tool(timeout=0)
    with pytest.raises(ConfigurationError, match="names no domain"):
        web_search_tool(allowed_domains=["https://"])


class StaticBackend:
    """A backend returning fixed results, recording what it was asked."""

    name = "static"

    def __init__(self, results: list[SearchResult]) -> None:
        self.results = results
        self.calls: list[dict[str, Any]] = []

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: Sequence[str] | None,
        timeout: float,
    ) -> list[SearchResult]:
        self.calls.append(
            {"query": query, "max": max_results, "domains": allowed_domains, "timeout": timeout}
        )
        return self.results


async def test_domains_include_subdomains_and_exclude_lookalikes() -> None:
    backend = StaticBackend(
        [
            SearchResult("a", "https://example.com/1", "x"),
            SearchResult("b", "https://docs.Example.com/2", "x"),
            SearchResult("c", "https://notexample.com/3", "x"),
            SearchResult("d", "https://example.com.evil.net/4", "x"),
            SearchResult("e", "https://example.com/1", "duplicate"),
            SearchResult("f", "", "no url"),
        ]
    )
    tool = web_search_tool(backend, allowed_domains=["*.EXAMPLE.com"], timeout=4)
    text = await invoke(tool, '{"query": "q"}')
    assert backend.calls == [{"query": "q", "max": 5, "domains": ("example.com",), "timeout": 4.0}]
    assert "https://example.com/1" in text and "https://docs.Example.com/2" in text
    assert "notexample" not in text and "evil" not in text and "duplicate" not in text
    assert "(2 results, backend: static)" in text
    assert "Only results from these domains are returned: example.com." in tool.description


async def test_snippets_are_clipped_by_context_size() -> None:
    backend = StaticBackend([SearchResult("t", "https://a.example/", "word " * 500)])
    low = await invoke(web_search_tool(backend, search_context_size="low"), '{"query": "q"}')
    high = await invoke(web_search_tool(backend, search_context_size="high"), '{"query": "q"}')
    low_snippet = low.splitlines()[-1].strip()
    high_snippet = high.splitlines()[-1].strip()
    assert len(low_snippet) == 300 and low_snippet.endswith("…")
    assert len(high_snippet) == 1200 and high_snippet.endswith("…")


class BrokenBackend:
    name = "broken"

    async def search(self, query: str, **_: Any) -> list[SearchResult]:
        raise RuntimeError("parser exploded")


class HangingBackend:
    name = "hanging"

    async def search(self, query: str, **_: Any) -> list[SearchResult]:
        await asyncio.Event().wait()  # ignores its timeout
        return []


async def test_backend_bug_and_hang_become_tool_errors() -> None:
    broken = await invoke(web_search_tool(BrokenBackend()), '{"query": "q"}')
    assert broken == "web_search failed (broken): RuntimeError: parser exploded"
    hung = await invoke(web_search_tool(HangingBackend(), timeout=0.1), '{"query": "q"}')
    assert hung == "web_search failed (hanging): timed out after 0.1s"


@pytest.mark.parametrize("arguments", ["not json", '{"query": "  "}', '{"q": "x"}', "[]"])
async def test_bad_arguments_become_tool_errors(arguments: str) -> None:
    backend = StaticBackend([])
    text = await invoke(web_search_tool(backend), arguments)
    assert text.startswith("web_search failed:")
    assert backend.calls == []


# --- agent runs with a scripted model ----------------------------------------------------------


async def test_agent_run_sees_search_results(search: tuple[LiveServer, FakeSearch]) -> None:
    server, _ = search
    model = ScriptedModel(
        [
            [function_call("web_search", {"query": "python home"}, call_id="call-1")],
            [assistant_message("Python lives at https://www.python.org/")],
        ]
    )
    tool = web_search_tool(FirecrawlSearch(api_key="test-key", api_url=server.url))
    agent = Agent(name="researcher", model=model, tools=[tool])
    result = await Runner.run(agent, "Where does Python live?", run_config=NO_TRACING)

    assert result.final_output == "Python lives at https://www.python.org/"
    assert server.requests[0].json["query"] == "python home"
    second_input = model.calls[1].input
    outputs = [i for i in second_input if i.get("type") == "function_call_output"]
    assert [o["call_id"] for o in outputs] == ["call-1"]
    assert outputs[0]["output"].startswith('Web search results for "python home"')
    assert "URL: https://www.python.org/" in outputs[0]["output"]
    assert [t.name for t in model.calls[0].tools] == ["web_search"]


async def test_agent_run_survives_a_failing_backend(search: tuple[LiveServer, FakeSearch]) -> None:
    server, _ = search
    model = ScriptedModel(
        [
            [function_call("web_search", {"query": "python"}, call_id="call-1")],
            [assistant_message("Search is unavailable.")],
        ]
    )
    tool = web_search_tool(OllamaSearch(api_key="wrong-key", host=server.url))
    agent = Agent(name="researcher", model=model, tools=[tool])
    result = await Runner.run(agent, "Search python", run_config=NO_TRACING)

    assert result.final_output == "Search is unavailable."
    outputs = [i for i in model.calls[1].input if i.get("type") == "function_call_output"]
    assert outputs[0]["output"] == (
        "web_search failed (ollama): Ollama web search returned 401 (unauthorized) "
        "— check OLLAMA_API_KEY"
    )


async def test_streamed_run_agent_with_default_web_search(
    search: tuple[LiveServer, FakeSearch], clean_env: pytest.MonkeyPatch
) -> None:
    server, _ = search
    clean_env.setenv("OLLAMA_API_KEY", "test-key")
    clean_env.setenv("TIMESTEP_OLLAMA_SEARCH_HOST", server.url)
    model = ScriptedModel(
        [
            [function_call("web_search", {"query": "example page"}, call_id="call-9")],
            [assistant_message("Found it.")],
        ]
    )
    agent = Agent(name="researcher", model=model, tools=[timestep.web_search])
    result = await timestep.consume_result(
        await timestep.run_agent(agent, "Find the example page", stream=True, run_config=NO_TRACING)
    )

    assert result.final_output == "Found it."
    (request,) = server.requests
    assert request.json == {"query": "example page", "max_results": 5}
    outputs = [i for i in model.calls[1].input if i.get("type") == "function_call_output"]
    assert (
        "2. Example\n   URL: https://example.com/page\n   An example page." in outputs[0]["output"]
    )


# --- the hosted OpenAI tool --------------------------------------------------------------------


def test_openai_backend_returns_hosted_tool_with_settings() -> None:
    tool = web_search_tool("openai", search_context_size="high", allowed_domains=["Example.com"])
    assert isinstance(tool, WebSearchTool)
    assert tool.search_context_size == "high"
    assert tool.filters is not None
    assert list(tool.filters.allowed_domains or []) == ["example.com"]


def responses_model() -> OpenAIResponsesModel:
    client = AsyncOpenAI(api_key="unused", base_url="http://127.0.0.1:9/v1")
    return OpenAIResponsesModel(model="gpt-4.1", openai_client=client)


def test_tool_for_openai_responses_model_is_hosted(clean_env: pytest.MonkeyPatch) -> None:
    assert isinstance(
        web_search_tool_for(Agent(name="a", model=responses_model()), "openai"), WebSearchTool
    )
    clean_env.delenv("OPENAI_API_KEY", raising=False)
    # A bare name resolves to OpenAI's Responses API with the SDK's default provider.
    assert isinstance(
        web_search_tool_for(Agent(name="a", model="gpt-4.1"), "openai"), WebSearchTool
    )


@pytest.mark.parametrize(
    ("model", "run_config"),
    [
        (ScriptedModel(), None),
        ("litellm/ollama/qwen2.5", None),
        ("ollama/qwen2.5", None),
        ("gpt-4.1", RunConfig(model_provider=OpenAIProvider(api_key="x", use_responses=False))),
    ],
    ids=["other-model-object", "litellm-prefix", "unknown-prefix", "chat-completions-provider"],
)
def test_tool_for_other_models_refuses_hosted(model: Any, run_config: RunConfig | None) -> None:
    agent = Agent(name="local", model=model)
    with pytest.raises(ConfigurationError, match="needs an OpenAI Responses model") as info:
        web_search_tool_for(agent, "openai", run_config=run_config)
    assert "agent 'local'" in str(info.value)


def test_tool_for_other_backends_is_a_function_tool() -> None:
    tool = web_search_tool_for(Agent(name="local", model=ScriptedModel()))
    assert isinstance(tool, FunctionTool) and tool.name == "web_search"
