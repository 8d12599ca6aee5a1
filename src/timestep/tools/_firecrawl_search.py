"""Firecrawl's search API (``POST {api_url}/v2/search``) through ``firecrawl-py`` 4.55.

The client's v2 search returns ``SearchData`` whose ``web`` list holds ``SearchResultWeb`` items,
or ``Document`` items when the server scraped the pages; both are handled explicitly below, and
anything else is reported as an unreadable response instead of being guessed at.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pydantic

from .._errors import WebSearchError
from ._results import SearchResult

FIRECRAWL_API_URL = "https://api.firecrawl.dev"
MAX_RESULTS = 100
"""The largest ``limit`` Firecrawl's search accepts."""


@dataclass(frozen=True)
class FirecrawlSearch:
    """Firecrawl's web search.

    ``api_key`` defaults to ``$FIRECRAWL_API_KEY``; ``api_url`` to ``$FIRECRAWL_API_URL`` or
    ``https://api.firecrawl.dev``. Without a key the request is sent without one.
    ``allowed_domains`` is sent as Firecrawl's ``includeDomains``. ``retries`` is the client's
    attempt count.
    """

    api_key: str | None = None
    api_url: str | None = None
    retries: int = 1
    name: str = "firecrawl"

    def _api_url(self) -> str:
        return (self.api_url or os.environ.get("FIRECRAWL_API_URL") or FIRECRAWL_API_URL).rstrip(
            "/"
        )

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: Sequence[str] | None,
        timeout: float,
    ) -> list[SearchResult]:
        from firecrawl.v2.methods.aio.search import (  # type: ignore[import-untyped]
            search as firecrawl_search,
        )
        from firecrawl.v2.types import SearchRequest  # type: ignore[import-untyped]
        from firecrawl.v2.utils.error_handler import (  # type: ignore[import-untyped]
            FirecrawlError,
        )
        from firecrawl.v2.utils.http_client_async import (  # type: ignore[import-untyped]
            AsyncHttpClient,
        )

        api_url = self._api_url()
        # No key: sent without one (self-hosted servers and Firecrawl's rate-limited keyless
        # access); a server that wants one answers 401, reported as "check FIRECRAWL_API_KEY".
        key = self.api_key or os.environ.get("FIRECRAWL_API_KEY") or None
        request = SearchRequest(
            query=query,
            limit=min(max_results, MAX_RESULTS),
            include_domains=list(allowed_domains) if allowed_domains else None,
            timeout=max(1, min(int(timeout * 1000), 300_000)),
        )
        http = AsyncHttpClient(key, api_url, timeout=timeout, max_retries=max(1, self.retries))
        try:
            data = await firecrawl_search(http, request)
        except FirecrawlError as err:
            raise WebSearchError(_error_message(err)) from err
        except httpx.TimeoutException as err:
            raise WebSearchError(f"Firecrawl timed out after {timeout:g}s") from err
        except httpx.HTTPError as err:
            raise WebSearchError(f"could not reach Firecrawl at {api_url}: {err!r}") from err
        except (pydantic.ValidationError, ValueError) as err:
            raise WebSearchError(f"Firecrawl sent a response it could not read: {err}") from err
        finally:
            await http.close()
        return [_to_result(item) for item in (data.web or [])]


def _error_message(err: Any) -> str:
    status: int | None = getattr(err, "status_code", None)
    reason = httpx.codes.get_reason_phrase(status) if status else ""
    head = f"Firecrawl returned {status} {reason}".rstrip() if status else "Firecrawl failed"
    hint = ""
    if status in (401, 403):
        hint = " — check FIRECRAWL_API_KEY"
    elif status == 402:
        hint = " — the Firecrawl account is out of credits"
    elif status == 429:
        hint = " — rate limited, try again later"
    detail = str(err).replace(" - No additional error details provided.", "")
    return f"{head}{hint}: {detail}"


def _to_result(item: Any) -> SearchResult:
    from firecrawl.v2.types import Document, SearchResultWeb

    if isinstance(item, SearchResultWeb):
        return SearchResult(
            title=_text(item.title), url=_text(item.url), snippet=_text(item.description)
        )
    if isinstance(item, Document):
        meta = item.metadata
        url = _text(getattr(meta, "url", None) or getattr(meta, "source_url", None))
        snippet = _text(getattr(meta, "description", None)) or _text(item.summary)
        return SearchResult(
            title=_text(getattr(meta, "title", None)),
            url=url,
            snippet=snippet or _text(item.markdown),
        )
    raise WebSearchError(f"Firecrawl returned a result of unexpected type {type(item).__name__}")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
