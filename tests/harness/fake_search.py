"""Fake web search services on 127.0.0.1, each speaking its real service's HTTP shape.

- Ollama: ``POST /api/web_search`` ``{"query", "max_results"}`` -> ``{"results": [{title, url,
  content}]}``; errors as ``{"error": "..."}`` with the HTTP status.
- Firecrawl v2: ``POST /v2/search`` ``{"query", "limit", "includeDomains", "timeout", ...}`` ->
  ``{"success": true, "data": {"web": [{url, title, description, position}]}, "creditsUsed"}``;
  errors as ``{"success": false, "error": "..."}``.
- DuckDuckGo's HTML endpoint (what ``ddgs``'s ``duckduckgo`` engine scrapes): ``POST /html/`` with
  form fields ``q``, ``b``, ``l`` -> an HTML page of ``result__body`` blocks.

``FakeSearch`` holds the behaviour (results, an error status, a delay, a required key), which a
test can change between calls; ``server.requests`` (from ``LiveServer``) holds what was sent.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from harness.http_server import LiveServer


@dataclass(frozen=True)
class Hit:
    """One search hit the fake returns."""

    title: str
    url: str
    snippet: str


@dataclass
class FakeSearch:
    """Behaviour shared by the fakes; mutate it between calls."""

    hits: list[Hit] = field(default_factory=list)
    api_key: str | None = "test-key"
    """Bearer token the fake accepts (None: no auth check)."""
    status: int = 200
    error: str = "internal error"
    delay: float = 0.0
    """Seconds to wait before answering (to trigger client timeouts)."""
    scraped: bool = False
    """Firecrawl only: answer with scraped documents (``markdown`` + ``metadata``) as it does
    when ``scrapeOptions`` ask for page content."""

    async def _wait(self, request: Request) -> None:
        """Sleep ``delay`` seconds, stopping early once the client has hung up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.delay
        while loop.time() < deadline and not await request.is_disconnected():
            await asyncio.sleep(0.05)

    def _denied(self, request: Request) -> bool:
        return self.api_key is not None and (
            request.headers.get("authorization") != f"Bearer {self.api_key}"
        )

    async def ollama(self, request: Request) -> Response:
        await self._wait(request)
        if self._denied(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if self.status != 200:
            return JSONResponse({"error": self.error}, status_code=self.status)
        body = await request.json()
        limit = int(body.get("max_results") or 5)
        results = [{"title": h.title, "url": h.url, "content": h.snippet} for h in self.hits]
        return JSONResponse({"results": results[:limit]})

    async def firecrawl(self, request: Request) -> Response:
        await self._wait(request)
        if self._denied(request):
            return JSONResponse(
                {"success": False, "error": "Unauthorized: Invalid token"}, status_code=401
            )
        if self.status != 200:
            return JSONResponse({"success": False, "error": self.error}, status_code=self.status)
        body = await request.json()
        limit = int(body.get("limit") or 5)
        web: list[dict[str, object]] = [
            {"url": h.url, "title": h.title, "description": h.snippet, "position": n}
            for n, h in enumerate(self.hits[:limit], start=1)
        ]
        if self.scraped:
            web = [
                {
                    "url": h.url,
                    "title": h.title,
                    "description": h.snippet,
                    "markdown": f"# {h.title}\n\n{h.snippet}",
                    "metadata": {
                        "title": h.title,
                        "description": h.snippet,
                        "sourceURL": h.url,
                        "url": h.url,
                        "statusCode": 200,
                    },
                }
                for h in self.hits[:limit]
            ]
        return JSONResponse(
            {"success": True, "data": {"web": web}, "creditsUsed": 2, "id": "search-1"}
        )

    async def duckduckgo(self, request: Request) -> Response:
        await self._wait(request)
        if self.status != 200:
            return HTMLResponse("<html><body>error</body></html>", status_code=self.status)
        blocks = "".join(
            '<div class="result results_links web-result"><div class="links_main result__body">'
            f'<h2 class="result__title"><a class="result__a" href="{html.escape(h.url)}">'
            f"{html.escape(h.title)}</a></h2>"
            f'<a class="result__snippet" href="{html.escape(h.url)}">{html.escape(h.snippet)}</a>'
            "</div></div>"
            for h in self.hits
        )
        if not blocks:
            blocks = '<div class="no-results">No results.</div>'
        return HTMLResponse(f"<html><body><div id='links'>{blocks}</div></body></html>")


def search_app(fake: FakeSearch) -> Starlette:
    """One ASGI app serving all three fake services."""
    return Starlette(
        routes=[
            Route("/api/web_search", fake.ollama, methods=["POST"]),
            Route("/v2/search", fake.firecrawl, methods=["POST"]),
            Route("/html/", fake.duckduckgo, methods=["POST"]),
        ]
    )


@contextmanager
def fake_search_server(fake: FakeSearch | None = None) -> Iterator[tuple[LiveServer, FakeSearch]]:
    """Start the fake services on 127.0.0.1; yields the server and its mutable behaviour."""
    behaviour = fake if fake is not None else FakeSearch()
    with LiveServer(search_app(behaviour)) as server:
        yield server, behaviour
