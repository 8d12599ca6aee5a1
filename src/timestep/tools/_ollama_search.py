"""Ollama's web search API (``POST {host}/api/web_search``) through the ``ollama`` client."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import ollama
import pydantic

from .._errors import WebSearchError
from ._results import SearchResult

OLLAMA_SEARCH_HOST = "https://ollama.com"
_CLIENT_HOST = "ollama.com"
"""The host the ``ollama`` client hard-codes for ``web_search``; requests to it are rebased."""

MAX_RESULTS = 10
"""The most results Ollama's web search API returns for one query."""


class _Rebase(httpx.AsyncBaseTransport):
    """Send requests addressed to ollama.com to another origin (a proxy, or a test server)."""

    def __init__(self, origin: httpx.URL) -> None:
        self._origin = origin
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == _CLIENT_HOST:
            prefix = self._origin.path.rstrip("/")
            request.url = request.url.copy_with(
                scheme=self._origin.scheme,
                host=self._origin.host,
                port=self._origin.port,
                path=prefix + request.url.path,
            )
            request.headers["host"] = request.url.netloc.decode("ascii")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True)
class OllamaSearch:
    """Ollama's hosted web search (needs an Ollama account key).

    ``api_key`` defaults to ``$OLLAMA_API_KEY``; ``host`` to ``$TIMESTEP_OLLAMA_SEARCH_HOST`` or
    ``https://ollama.com`` (the ``ollama`` client always addresses ollama.com; another host gets
    those requests re-addressed, bypassing environment proxies). Ollama has no domain filter, so
    with ``allowed_domains`` the backend asks for the maximum (10) results and the tool keeps
    those inside the domains.
    """

    api_key: str | None = None
    host: str | None = None
    name: str = "ollama"

    def _host(self) -> str:
        return self.host or os.environ.get("TIMESTEP_OLLAMA_SEARCH_HOST") or OLLAMA_SEARCH_HOST

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: Sequence[str] | None,
        timeout: float,
    ) -> list[SearchResult]:
        key = self.api_key or os.environ.get("OLLAMA_API_KEY")
        if not key:
            raise WebSearchError("Ollama web search needs an API key — set OLLAMA_API_KEY")
        host = self._host()
        wanted = MAX_RESULTS if allowed_domains else min(max_results, MAX_RESULTS)
        rebase: dict[str, Any] = {}
        if host.rstrip("/") != OLLAMA_SEARCH_HOST:
            # Our transport must see every request, so environment proxies are not mounted.
            rebase = {"transport": _Rebase(httpx.URL(host)), "trust_env": False}
        client = ollama.AsyncClient(
            headers={"Authorization": f"Bearer {key}"}, timeout=timeout, **rebase
        )
        try:
            async with client:
                response = await client.web_search(query, max_results=wanted)
        except ollama.ResponseError as err:
            raise WebSearchError(_status_message(err.status_code, str(err.error))) from err
        except httpx.TimeoutException as err:
            raise WebSearchError(f"Ollama web search timed out after {timeout:g}s") from err
        except (httpx.HTTPError, ConnectionError) as err:
            raise WebSearchError(f"could not reach Ollama web search at {host}: {err}") from err
        except (pydantic.ValidationError, ValueError) as err:
            msg = f"Ollama web search sent a response it could not read: {err}"
            raise WebSearchError(msg) from err
        return [
            SearchResult(title=item.title or "", url=item.url or "", snippet=item.content or "")
            for item in response.results
        ]


def _status_message(status: int, detail: str) -> str:
    if status in (401, 403):
        return f"Ollama web search returned {status} ({detail}) — check OLLAMA_API_KEY"
    if status == 429:
        return f"Ollama web search returned 429 ({detail}) — rate limited, try again later"
    return f"Ollama web search returned {status} ({detail})"
