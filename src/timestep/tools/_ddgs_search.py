"""A keyless backend: the ``ddgs`` metasearch package (DuckDuckGo, Bing, Brave, ... result pages).

``ddgs`` is synchronous, so the search runs in a worker thread; the tool stops waiting after the
timeout even if the thread is still busy. Its text results are dicts with ``title``, ``href`` and
``body``. ``allowed_domains`` becomes ``site:`` operators in the query.

Limitation: ddgs treats an engine's non-200 answer (a block page, a 5xx) like an empty page, so for
this backend "no results" can also mean that every engine refused; connection errors and timeouts
are reported as failures.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import WebSearchError
from ._results import SearchResult, site_query


@dataclass(frozen=True)
class DdgsSearch:
    """Keyless web search through ``ddgs``.

    ``engines`` is ddgs's ``backend`` argument: ``"auto"`` or a comma-separated list such as
    ``"duckduckgo,brave"``. ``region`` and ``safesearch`` are passed through.
    """

    engines: str = "auto"
    region: str = "us-en"
    safesearch: str = "moderate"
    name: str = "ddgs"

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: Sequence[str] | None,
        timeout: float,
    ) -> list[SearchResult]:
        from ddgs import DDGS
        from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

        def run() -> list[dict[str, Any]]:
            client = DDGS(timeout=max(1, math.ceil(timeout)))
            return client.text(
                site_query(query, allowed_domains),
                region=self.region,
                safesearch=self.safesearch,
                max_results=max_results,
                backend=self.engines,
            )

        try:
            raw = await asyncio.to_thread(run)
        except TimeoutException as err:
            raise WebSearchError(f"ddgs search timed out after {timeout:g}s: {err}") from err
        except RatelimitException as err:
            raise WebSearchError(f"ddgs search was rate limited, try again later: {err}") from err
        except DDGSException as err:
            if str(err) == "No results found.":
                return []
            raise WebSearchError(f"ddgs search failed: {err}") from err
        return results_from_ddgs(raw)


def results_from_ddgs(items: Sequence[Mapping[str, Any]]) -> list[SearchResult]:
    """Normalise ddgs text results (``title``/``href``/``body`` dicts) into ``SearchResult``s."""
    results: list[SearchResult] = []
    for item in items:
        url = item.get("href") or item.get("url")
        if not isinstance(url, str) or not url:
            continue
        title = item.get("title")
        body = item.get("body")
        results.append(
            SearchResult(
                title=title if isinstance(title, str) else "",
                url=url,
                snippet=body if isinstance(body, str) else "",
            )
        )
    return results
