"""Public constructors: ``web_search_tool`` and ``web_search_tool_for`` (hosted tool included)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

import openai
from agents import Agent, FunctionTool, Model, OpenAIResponsesModel, RunConfig, WebSearchTool
from agents.exceptions import UserError
from agents.models import _openai_shared
from agents.models.multi_provider import MultiProvider

from .._errors import ConfigurationError
from ._backend import SearchBackend
from ._results import check_context_size, normalize_domains
from ._tool import DEFAULT_TIMEOUT, search_function_tool

ContextSizeArg = Literal["low", "medium", "high"]


@overload
def web_search_tool(
    backend: Literal["openai"],
    *,
    search_context_size: ContextSizeArg = "medium",
    allowed_domains: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    name: str = "web_search",
    description: str | None = None,
) -> WebSearchTool: ...


@overload
def web_search_tool(
    backend: Literal["ollama", "firecrawl", "ddgs"] | SearchBackend | None = None,
    *,
    search_context_size: ContextSizeArg = "medium",
    allowed_domains: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    name: str = "web_search",
    description: str | None = None,
) -> FunctionTool: ...


def web_search_tool(
    backend: str | SearchBackend | None = None,
    *,
    search_context_size: ContextSizeArg = "medium",
    allowed_domains: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    name: str = "web_search",
    description: str | None = None,
) -> FunctionTool | WebSearchTool:
    """A web search tool for any model.

    ``backend``: ``"ollama"``, ``"firecrawl"``, ``"ddgs"``, a ``SearchBackend`` object, or None
    to choose at each call from the credentials present (``OLLAMA_API_KEY``, then
    ``FIRECRAWL_API_KEY``, then keyless ``ddgs``). ``"openai"`` returns the SDK's hosted
    ``WebSearchTool`` instead, which only OpenAI Responses models can use (see
    ``web_search_tool_for``); ``timeout``, ``name`` and ``description`` do not apply to it.

    ``search_context_size``: ``low``/``medium``/``high`` = 3/5/10 results with snippets of at most
    300/600/1200 characters. ``allowed_domains``: keep only results from these domains or their
    subdomains (also sent to backends that filter server-side). ``timeout``: seconds per search.
    Failures reach the model as a ``web_search failed ...`` text, never as an exception.
    """
    if backend == "openai":
        return hosted_web_search_tool(
            search_context_size=search_context_size, allowed_domains=allowed_domains
        )
    return search_function_tool(
        backend,
        search_context_size=search_context_size,
        allowed_domains=allowed_domains,
        timeout=timeout,
        name=name,
        description=description,
    )


def hosted_web_search_tool(
    *, search_context_size: str = "medium", allowed_domains: Sequence[str] | None = None
) -> WebSearchTool:
    """The SDK's hosted ``WebSearchTool`` with the same settings (OpenAI Responses models only)."""
    size = check_context_size(search_context_size)
    domains = normalize_domains(allowed_domains)
    filters: dict[str, Any] | None = {"allowed_domains": list(domains)} if domains else None
    return WebSearchTool(filters=filters, search_context_size=size)


def web_search_tool_for(
    agent: Agent[Any],
    backend: str | SearchBackend | None = None,
    *,
    run_config: RunConfig | None = None,
    search_context_size: ContextSizeArg = "medium",
    allowed_domains: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> FunctionTool | WebSearchTool:
    """``web_search_tool(...)`` checked against the model ``agent`` will run with.

    With ``backend="openai"`` the hosted tool is returned only if the agent's model (as
    ``run_config`` would resolve it) is an OpenAI Responses model; otherwise this raises
    ``ConfigurationError`` naming the model, instead of the run failing later inside the SDK.
    Any other backend works with every model and is returned as a function tool.
    """
    if backend != "openai":
        return search_function_tool(
            backend,
            search_context_size=search_context_size,
            allowed_domains=allowed_domains,
            timeout=timeout,
        )
    model = _resolved_model(agent, run_config)
    if not is_openai_responses_model(model, run_config):
        shown = model if isinstance(model, str) or model is None else type(model).__name__
        raise ConfigurationError(
            f"agent {agent.name!r}: the hosted OpenAI web search needs an OpenAI Responses model, "
            f"but its model is {shown!r}; use web_search_tool() (Ollama, Firecrawl or ddgs), "
            "which works with any model"
        )
    return hosted_web_search_tool(
        search_context_size=search_context_size, allowed_domains=allowed_domains
    )


def _resolved_model(agent: Agent[Any], run_config: RunConfig | None) -> str | Model | None:
    if run_config is not None and run_config.model is not None:
        return run_config.model
    return agent.model


def is_openai_responses_model(
    model: str | Model | None, run_config: RunConfig | None = None
) -> bool:
    """True if ``model`` (a name resolved by ``run_config``'s provider, or a model object) talks
    to OpenAI's Responses API, where the SDK's hosted tools work."""
    if isinstance(model, Model):
        return isinstance(model, OpenAIResponsesModel)
    provider = run_config.model_provider if run_config is not None else MultiProvider()
    try:
        return isinstance(provider.get_model(model), OpenAIResponsesModel)
    except (openai.OpenAIError, UserError, ImportError):
        # No OpenAI key to build a client with, a prefix this provider does not know, or one
        # whose optional package is missing:
        # judge by the name as the SDK's MultiProvider would.
        prefix = model.split("/", 1)[0] if model and "/" in model else "openai"
        return prefix == "openai" and _openai_shared.get_use_responses_by_default()
