"""The interface every web search backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ._results import SearchResult


@runtime_checkable
class SearchBackend(Protocol):
    """A web search service. ``search`` raises ``WebSearchError`` with a message for the model."""

    @property
    def name(self) -> str:
        """Short name shown to the model, e.g. ``"firecrawl"``."""
        ...

    async def search(
        self,
        query: str,
        *,
        max_results: int,
        allowed_domains: Sequence[str] | None,
        timeout: float,
    ) -> list[SearchResult]:
        """Up to ``max_results`` hits for ``query``; may return hits outside ``allowed_domains``
        (the caller filters again) and must give up after about ``timeout`` seconds."""
        ...
