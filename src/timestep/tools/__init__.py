"""Tools for agents on any model: ``web_search`` and its backends.

``web_search`` is ready to use (``Agent(tools=[web_search])``); ``web_search_tool(...)`` configures
one (backend, ``search_context_size``, ``allowed_domains``, ``timeout``).
"""

from __future__ import annotations

from ._backend import SearchBackend
from ._ddgs_search import DdgsSearch
from ._factory import (
    hosted_web_search_tool,
    is_openai_responses_model,
    web_search_tool,
    web_search_tool_for,
)
from ._firecrawl_search import FirecrawlSearch
from ._ollama_search import OllamaSearch
from ._results import RESULT_COUNTS, SearchResult
from ._select import select_backend

web_search = web_search_tool()
"""A ready ``web_search`` function tool: default settings, backend chosen at each call."""

__all__ = [
    "RESULT_COUNTS",
    "DdgsSearch",
    "FirecrawlSearch",
    "OllamaSearch",
    "SearchBackend",
    "SearchResult",
    "hosted_web_search_tool",
    "is_openai_responses_model",
    "select_backend",
    "web_search",
    "web_search_tool",
    "web_search_tool_for",
]
