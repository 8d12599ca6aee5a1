"""Every search backend against a fake of its service on 127.0.0.1: requests, errors, timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ddgs.engines.duckduckgo as ddg_engine
import pytest

from harness.fake_search import FakeSearch, Hit, fake_search_server
from harness.http_server import LiveServer, free_port
from timestep.tools import (
    DdgsSearch,
    FirecrawlSearch,
    OllamaSearch,
    SearchResult,
    web_search_tool,
)
from timestep.tools._ddgs_search import results_from_ddgs

HITS = [
    Hit("Python", "https://www.python.org/", "The official home of the Python language."),
    Hit("Python docs", "https://docs.python.org/3/", "Documentation for Python 3."),
    Hit("Python on Wikipedia", "https://en.wikipedia.org/wiki/Python", "A programming language."),
    Hit("Real Python", "https://realpython.com/", "Tutorials."),
    Hit("PyPI", "https://pypi.org/", "The Python Package Index."),
    Hit("Python forum", "https://discuss.python.org/", "Discussions."),
]


@pytest.fixture
def search() -> Iterator[tuple[LiveServer, FakeSearch]]:
    with fake_search_server(FakeSearch(hits=list(HITS))) as pair:
        yield pair


async def ask(tool_backend: Any, query: str = "python", **options: Any) -> str:
    tool = web_search_tool(tool_backend, **options)
    output = await tool.on_invoke_tool(None, f'{{"query": "{query}"}}')
    assert isinstance(output, str)
    return output


# --- Ollama ------------------------------------------------------------------------------------


def ollama(server: LiveServer, key: str = "test-key") -> OllamaSearch:
    return OllamaSearch(api_key=key, host=server.url)


async def test_ollama_sends_bearer_key_query_and_result_count(
    search: tuple[LiveServer, FakeSearch],
) -> None:
    server, _ = search
    text = await ask(ollama(server), "python language", search_context_size="low")
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/api/web_search")
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.json == {"query": "python language", "max_results": 3}
    assert text.startswith('Web search results for "python language" (3 results, backend: ollama)')
    assert "1. Python\n   URL: https://www.python.org/\n   The official home" in text
    assert "3. Python on Wikipedia" in text
    assert "Real Python" not in text


@pytest.mark.parametrize(("size", "count"), [("low", 3), ("medium", 5), ("high", 10)])
async def test_ollama_context_size_sets_max_results(
    search: tuple[LiveServer, FakeSearch], size: str, count: int
) -> None:
    server, _ = search
    await ask(ollama(server), search_context_size=size)
    assert server.requests[0].json["max_results"] == count


async def test_ollama_allowed_domains_fetches_most_and_filters(
    search: tuple[LiveServer, FakeSearch],
) -> None:
    server, _ = search
    text = await ask(ollama(server), allowed_domains=["python.org"], search_context_size="low")
    assert server.requests[0].json == {"query": "python", "max_results": 10}
    assert "www.python.org" in text and "docs.python.org" in text
    assert "discuss.python.org" in text  # subdomains count; the first three in-domain hits
    assert "wikipedia" not in text and "realpython" not in text and "pypi" not in text
    assert "within python.org (3 results" in text


async def test_ollama_bad_key_is_a_tool_error(search: tuple[LiveServer, FakeSearch]) -> None:
    server, _ = search
    text = await ask(ollama(server, key="wrong"))
    assert text == (
        "web_search failed (ollama): Ollama web search returned 401 (unauthorized) "
        "— check OLLAMA_API_KEY"
    )


async def test_ollama_server_error_is_a_tool_error(search: tuple[LiveServer, FakeSearch]) -> None:
    server, fake = search
    fake.status, fake.error = 503, "search is down"
    text = await ask(ollama(server))
    assert text == "web_search failed (ollama): Ollama web search returned 503 (search is down)"


async def test_ollama_timeout_is_a_tool_error(search: tuple[LiveServer, FakeSearch]) -> None:
    server, fake = search
    fake.delay = 5.0
    text = await ask(ollama(server), timeout=0.3)
    assert text == "web_search failed (ollama): Ollama web search timed out after 0.3s"


async def test_ollama_empty_results_say_so(search: tuple[LiveServer, FakeSearch]) -> None:
    server, fake = search
    fake.hits = []
    text = await ask(ollama(server), "zzqx")
    assert text == 'web_search: no results for "zzqx" (backend: ollama).'


async def test_ollama_without_key_sends_nothing(
    search: tuple[LiveServer, FakeSearch], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = search
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    text = await ask(OllamaSearch(host=server.url))
    assert text == (
        "web_search failed (ollama): Ollama web search needs an API key — set OLLAMA_API_KEY"
    )
    assert server.requests == []


async def test_ollama_unreachable_host_is_a_tool_error() -> None:
    host = f"http://127.0.0.1:{free_port()}"
    text = await ask(OllamaSearch(api_key="k", host=host))
    assert text.startswith(
        f"web_search failed (ollama): could not reach Ollama web search at {host}"
    )


# --- Firecrawl ---------------------------------------------------------------------------------


def firecrawl(server: LiveServer, key: str | None = "test-key") -> FirecrawlSearch:
    return FirecrawlSearch(api_key=key, api_url=server.url)


async def test_firecrawl_sends_key_query_limit_domains_and_timeout(
    search: tuple[LiveServer, FakeSearch],
) -> None:
    server, _ = search
    text = await ask(
        firecrawl(server),
        "python docs",
        search_context_size="high",
        allowed_domains=["https://Python.org/about", "pypi.org"],
        timeout=7,
    )
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v2/search")
    assert request.headers["authorization"] == "Bearer test-key"
    body = request.json
    assert body["query"] == "python docs"
    assert body["limit"] == 10
    assert body["includeDomains"] == ["python.org", "pypi.org"]
    assert body["timeout"] == 7000
    # The fake ignores includeDomains: the tool filters again on its side.
    assert "within python.org, pypi.org (4 results, backend: firecrawl)" in text
    assert "wikipedia" not in text and "realpython" not in text
    assert "   The Python Package Index." in text


async def test_firecrawl_default_size_asks_for_five(search: tuple[LiveServer, FakeSearch]) -> None:
    server, _ = search
    text = await ask(firecrawl(server))
    body = server.requests[0].json
    assert body["limit"] == 5 and "includeDomains" not in body
    assert "(5 results, backend: firecrawl)" in text


async def test_firecrawl_bad_key_names_the_variable(search: tuple[LiveServer, FakeSearch]) -> None:
    server, _ = search
    text = await ask(firecrawl(server, key="wrong"))
    assert text.startswith(
        "web_search failed (firecrawl): Firecrawl returned 401 Unauthorized "
        "— check FIRECRAWL_API_KEY:"
    )
    assert "Invalid token" in text


async def test_firecrawl_payment_required(search: tuple[LiveServer, FakeSearch]) -> None:
    server, fake = search
    fake.status, fake.error = 402, "Insufficient credits"
    text = await ask(firecrawl(server))
    assert text.startswith(
        "web_search failed (firecrawl): Firecrawl returned 402 Payment Required "
        "— the Firecrawl account is out of credits:"
    )
    assert "Insufficient credits" in text


async def test_firecrawl_timeout_is_a_tool_error(search: tuple[LiveServer, FakeSearch]) -> None:
    server, fake = search
    fake.delay = 5.0
    text = await ask(firecrawl(server), timeout=0.3)
    assert text == "web_search failed (firecrawl): Firecrawl timed out after 0.3s"
    assert len(server.requests) == 1  # one attempt: the client's retries are off by default


async def test_firecrawl_empty_results_say_so(search: tuple[LiveServer, FakeSearch]) -> None:
    server, fake = search
    fake.hits = []
    text = await ask(firecrawl(server), "zzqx", allowed_domains=["example.com"])
    assert text == 'web_search: no results for "zzqx" within example.com (backend: firecrawl).'


async def test_firecrawl_scraped_documents_are_read(search: tuple[LiveServer, FakeSearch]) -> None:
    server, fake = search
    fake.scraped = True
    text = await ask(firecrawl(server), search_context_size="low")
    assert "1. Python\n   URL: https://www.python.org/\n   The official home" in text
    assert "(3 results, backend: firecrawl)" in text


async def test_firecrawl_without_key_is_refused_with_a_hint(
    search: tuple[LiveServer, FakeSearch], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = search
    monkeypatch.delenv("FIRECRAWL_API_KEY", raising=False)
    text = await ask(firecrawl(server, key=None))
    assert "authorization" not in server.requests[0].headers
    assert "Firecrawl returned 401 Unauthorized — check FIRECRAWL_API_KEY" in text


async def test_firecrawl_self_hosted_needs_no_key(search: tuple[LiveServer, FakeSearch]) -> None:
    server, fake = search
    fake.api_key = None
    text = await ask(firecrawl(server, key=None))
    assert "authorization" not in server.requests[0].headers
    assert "(5 results, backend: firecrawl)" in text


# --- ddgs (keyless) ----------------------------------------------------------------------------


@pytest.fixture
def duckduckgo(
    search: tuple[LiveServer, FakeSearch], monkeypatch: pytest.MonkeyPatch
) -> tuple[LiveServer, FakeSearch]:
    """Point ddgs's ``duckduckgo`` engine (its HTML endpoint) at the fake server."""
    server, _ = search
    monkeypatch.setattr(ddg_engine.Duckduckgo, "search_url", f"{server.url}/html/")
    return search


async def test_ddgs_duckduckgo_engine_query_and_parsing(
    duckduckgo: tuple[LiveServer, FakeSearch],
) -> None:
    server, _ = duckduckgo
    text = await ask(DdgsSearch(engines="duckduckgo"), "python", search_context_size="low")
    (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/html/")
    form = dict(pair.split("=", 1) for pair in request.text.split("&"))
    assert form["q"] == "python" and form["l"] == "us-en"
    assert "(3 results, backend: ddgs)" in text
    assert "URL: https://www.python.org/" in text
    assert "The official home of the Python language." in text


async def test_ddgs_allowed_domains_become_site_operators(
    duckduckgo: tuple[LiveServer, FakeSearch],
) -> None:
    server, _ = duckduckgo
    text = await ask(
        DdgsSearch(engines="duckduckgo"), "python", allowed_domains=["python.org", "pypi.org"]
    )
    form = dict(pair.split("=", 1) for pair in server.requests[0].text.split("&"))
    assert form["q"] == "python+%28site%3Apython.org+OR+site%3Apypi.org%29"
    assert "wikipedia" not in text and "realpython" not in text
    assert "pypi.org" in text and "docs.python.org" in text


async def test_ddgs_empty_page_is_no_results(duckduckgo: tuple[LiveServer, FakeSearch]) -> None:
    _, fake = duckduckgo
    fake.hits = []
    text = await ask(DdgsSearch(engines="duckduckgo"), "zzqx")
    assert text == 'web_search: no results for "zzqx" (backend: ddgs).'


async def test_ddgs_timeout_is_a_tool_error(duckduckgo: tuple[LiveServer, FakeSearch]) -> None:
    _, fake = duckduckgo
    fake.delay = 5.0
    text = await ask(DdgsSearch(engines="duckduckgo"), timeout=0.5)
    assert text.startswith("web_search failed (ddgs):")
    assert "timed out" in text


def test_ddgs_result_dicts_are_normalised() -> None:
    items: list[dict[str, Any]] = [
        {"title": "A", "href": "https://a.example/", "body": "first"},
        {"title": None, "href": "https://b.example/"},
        {"title": "no link", "body": "dropped"},
    ]
    assert results_from_ddgs(items) == [
        SearchResult("A", "https://a.example/", "first"),
        SearchResult("", "https://b.example/", ""),
    ]
