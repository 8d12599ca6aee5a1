"""The ``web_search`` function tool: runs a backend, turns every outcome into text for the model."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from agents import FunctionTool, RunContextWrapper

from .._errors import ConfigurationError, WebSearchError
from ._backend import SearchBackend
from ._results import (
    RESULT_COUNTS,
    SNIPPET_CHARS,
    ContextSize,
    check_context_size,
    format_results,
    normalize_domains,
    select_results,
)
from ._select import backend_from_name, select_backend

logger = logging.getLogger("timestep.tools.web_search")

DEFAULT_TIMEOUT = 20.0
"""Seconds a search may take before the model is told it timed out."""

_GRACE = 1.0
"""Extra seconds before the tool stops waiting for a backend that ignores its timeout."""

TOOL_NAME = "web_search"

_DESCRIPTION = (
    "Search the web. Returns the top results, each with its title, URL and a snippet. "
    "Use it for current events or facts you are unsure of, and cite the URLs you use."
)

_PARAMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "description": "What to search for, as a search-engine query."}
    },
    "required": ["query"],
    "additionalProperties": False,
}


class _WebSearch:
    """The configured search behind one tool instance (callable as ``on_invoke_tool``)."""

    def __init__(
        self,
        backend: SearchBackend | None,
        *,
        context_size: ContextSize,
        allowed_domains: tuple[str, ...] | None,
        timeout: float,
    ) -> None:
        self.backend = backend
        self.context_size = context_size
        self.allowed_domains = allowed_domains
        self.timeout = timeout

    async def __call__(self, ctx: RunContextWrapper[Any], arguments: str) -> str:
        try:
            query = _query_from(arguments)
        except WebSearchError as err:
            return f"web_search failed: {err}"
        return await self.run(query)

    async def run(self, query: str) -> str:
        """Search for ``query`` and return the model-facing text, never raising."""
        backend_name = self.backend.name if self.backend is not None else "auto"
        try:
            backend = self.backend if self.backend is not None else select_backend()
            backend_name = backend.name
            limit = RESULT_COUNTS[self.context_size]
            # The backend enforces ``timeout`` itself; this bound catches one that does not.
            async with asyncio.timeout(self.timeout + _GRACE):
                found = await backend.search(
                    query,
                    max_results=limit,
                    allowed_domains=self.allowed_domains,
                    timeout=self.timeout,
                )
        except WebSearchError as err:
            return f"web_search failed ({backend_name}): {err}"
        except TimeoutError:
            return f"web_search failed ({backend_name}): timed out after {self.timeout:g}s"
        except Exception as err:
            # A backend bug must not end the agent's run; the model gets the cause instead.
            logger.exception("web_search backend %s raised", backend_name)
            return f"web_search failed ({backend_name}): {type(err).__name__}: {err}"
        results = select_results(found, limit=limit, domains=self.allowed_domains)
        return format_results(
            query,
            results,
            backend=backend_name,
            snippet_chars=SNIPPET_CHARS[self.context_size],
            domains=self.allowed_domains,
        )


def _query_from(arguments: str) -> str:
    try:
        parsed = json.loads(arguments) if arguments else {}
    except json.JSONDecodeError as err:
        msg = f"the arguments are not JSON ({err}); send {{'query': '...'}}"
        raise WebSearchError(msg) from err
    query = parsed.get("query") if isinstance(parsed, dict) else None
    if not isinstance(query, str) or not query.strip():
        raise WebSearchError("the query is empty; send {'query': 'what to search for'}")
    return query.strip()


def search_function_tool(
    backend: str | SearchBackend | None = None,
    *,
    search_context_size: str = "medium",
    allowed_domains: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    name: str = TOOL_NAME,
    description: str | None = None,
) -> FunctionTool:
    """A ``FunctionTool`` searching with ``backend`` (a name, an object, or None for auto)."""
    if not timeout > 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, not {timeout!r}")
    chosen = backend_from_name(backend) if isinstance(backend, str) else backend
    if chosen is not None and not isinstance(chosen, SearchBackend):
        raise ConfigurationError(
            f"backend must be a name or a SearchBackend object, not {type(chosen).__name__}"
        )
    domains = normalize_domains(allowed_domains)
    search = _WebSearch(
        chosen,
        context_size=check_context_size(search_context_size),
        allowed_domains=domains,
        timeout=float(timeout),
    )
    text = description or _DESCRIPTION
    if domains and description is None:
        text += " Only results from these domains are returned: " + ", ".join(domains) + "."
    return FunctionTool(
        name=name,
        description=text,
        params_json_schema=_PARAMS_SCHEMA,
        on_invoke_tool=search,
        strict_json_schema=True,
    )
