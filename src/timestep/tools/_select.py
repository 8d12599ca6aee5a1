"""Choosing a web search backend: by name, else by the credentials in the environment."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from typing import Literal, get_args

from .._errors import ConfigurationError, WebSearchError
from ._backend import SearchBackend
from ._ddgs_search import DdgsSearch
from ._firecrawl_search import FirecrawlSearch
from ._ollama_search import OllamaSearch

BackendName = Literal["ollama", "firecrawl", "ddgs"]
"""Function-tool backends by name (``"openai"``, the hosted tool, is handled by the factory)."""

BACKEND_NAMES: tuple[str, ...] = get_args(BackendName)


def backend_from_name(name: str) -> SearchBackend:
    """A backend with default settings for ``name``; ``ConfigurationError`` for an unknown name."""
    if name == "ollama":
        return OllamaSearch()
    if name == "firecrawl":
        return FirecrawlSearch()
    if name == "ddgs":
        return DdgsSearch()
    raise ConfigurationError(
        f"unknown web search backend {name!r}; use one of "
        + ", ".join(repr(n) for n in (*BACKEND_NAMES, "openai"))
        + " or a SearchBackend object"
    )


def select_backend(environ: Mapping[str, str] | None = None) -> SearchBackend:
    """The backend the credentials allow, in this order:

    1. ``OLLAMA_API_KEY`` set -> Ollama web search;
    2. ``FIRECRAWL_API_KEY`` (or ``FIRECRAWL_API_URL``, a self-hosted server) set -> Firecrawl;
    3. otherwise the keyless ``ddgs`` backend, if the package is installed.

    Raises ``WebSearchError`` when none is available.
    """
    env = os.environ if environ is None else environ
    if env.get("OLLAMA_API_KEY"):
        return OllamaSearch(api_key=env["OLLAMA_API_KEY"])
    if env.get("FIRECRAWL_API_KEY") or env.get("FIRECRAWL_API_URL"):
        return FirecrawlSearch(
            api_key=env.get("FIRECRAWL_API_KEY") or None, api_url=env.get("FIRECRAWL_API_URL")
        )
    if importlib.util.find_spec("ddgs") is not None:
        return DdgsSearch()
    raise WebSearchError(
        "no web search backend is available — set OLLAMA_API_KEY or FIRECRAWL_API_KEY, "
        "or install the keyless 'ddgs' package"
    )
