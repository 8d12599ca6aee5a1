"""Ollama clients (one per host, API key and event loop) and the ``/api/chat`` call itself.

The call goes through the official ``ollama.AsyncClient`` (its transport, NDJSON parsing and error
types) but posts our own JSON body: ``AsyncClient.chat`` re-validates tools through a model that
drops ``anyOf``, nested ``properties`` and ``additionalProperties`` from tool schemas, so optional
and nested tool parameters would reach the model mangled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import httpx
import ollama
from ollama import ChatResponse

from .._errors import ModelNotFoundError, ModelProviderError, ModelServerUnavailableError

__all__ = ["ClientPool", "chat", "chat_stream", "provider_error"]


async def _drop_authorization(request: httpx.Request) -> None:
    """Request hook of local clients: never send a key (the ollama library adds $OLLAMA_API_KEY)."""
    request.headers.pop("authorization", None)


def new_client(host: str, api_key: str | None, timeout: float | None) -> ollama.AsyncClient:
    """A client for ``host`` that sends ``Authorization: Bearer api_key`` only if a key is given."""
    if api_key:
        return ollama.AsyncClient(
            host, timeout=timeout, headers={"Authorization": f"Bearer {api_key}"}
        )
    return ollama.AsyncClient(host, timeout=timeout, event_hooks={"request": [_drop_authorization]})


class ClientPool:
    """Caches one ``ollama.AsyncClient`` per (host, API key) and event loop.

    A client's connections belong to the loop that opened them, so a pool used from a new loop
    (e.g. a second ``asyncio.run``) gets a new client instead of a broken one.
    """

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout
        self._clients: dict[tuple[str, str | None], tuple[object, ollama.AsyncClient]] = {}

    def get(self, host: str, api_key: str | None) -> ollama.AsyncClient:
        """The client for ``host`` (created on first use in the running loop)."""
        loop = _running_loop()
        cached = self._clients.get((host, api_key))
        if cached is not None and cached[0] is loop:
            return cached[1]
        client = new_client(host, api_key, self.timeout)
        self._clients[(host, api_key)] = (loop, client)
        return client

    def __len__(self) -> int:
        return len(self._clients)

    async def aclose(self) -> None:
        """Close the clients created in the running loop and forget all of them."""
        loop = _running_loop()
        clients, self._clients = list(self._clients.values()), {}
        for owner, client in clients:
            if owner is loop:
                await client.close()  # type: ignore[no-untyped-call]


def _running_loop() -> object:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _http_options(
    headers: Mapping[str, str] | None, query: Mapping[str, Any] | None, timeout: float | None
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if headers:
        options["headers"] = dict(headers)
    if query:
        options["params"] = dict(query)
    if timeout is not None:
        options["timeout"] = timeout
    return options


async def chat(
    client: ollama.AsyncClient,
    body: dict[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> ChatResponse:
    """``POST /api/chat`` without streaming."""
    options = _http_options(headers, query, timeout)
    return await client._request(
        ChatResponse, "POST", "/api/chat", json=body, stream=False, **options
    )


async def chat_stream(
    client: ollama.AsyncClient,
    body: dict[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> AsyncGenerator[ChatResponse, None]:
    """``POST /api/chat`` with streaming: one ``ChatResponse`` per NDJSON chunk."""
    options = _http_options(headers, query, timeout)
    parts = await client._request(
        ChatResponse, "POST", "/api/chat", json=body, stream=True, **options
    )
    try:
        async for part in parts:
            yield part
    finally:
        close = getattr(parts, "aclose", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()


def provider_error(
    error: BaseException, *, host: str, model: str, cloud: bool
) -> ModelProviderError | None:
    """The typed error for a failed call (``None`` if ``error`` is not a server/transport one)."""
    if isinstance(error, ollama.ResponseError):
        status, cause = error.status_code, error.error
        if status == 404 and "not found" in cause.lower():
            hint = (
                "check the model name on https://ollama.com/search"
                if cloud
                else f"run `ollama pull {model}`"
            )
            return ModelNotFoundError(f"model {model!r} not found on {host}: {hint}")
        if status in (401, 403):
            return ModelProviderError(
                f"{host} refused model {model!r} (HTTP {status}: {cause}): "
                "check the API key in OLLAMA_API_KEY"
            )
        if status < 0:
            return ModelProviderError(f"Ollama at {host} failed mid-stream for {model!r}: {cause}")
        return ModelProviderError(
            f"Ollama at {host} failed for model {model!r}: {cause} (HTTP {status})"
        )
    if isinstance(error, ConnectionError | httpx.ConnectError):
        return ModelServerUnavailableError(
            f"no Ollama server at {host} (model {model!r}): start one with `ollama serve` "
            "or set OLLAMA_HOST to where it runs"
        )
    if isinstance(error, httpx.TimeoutException):
        return ModelProviderError(f"Ollama at {host} timed out for model {model!r}")
    if isinstance(error, httpx.TransportError):
        return ModelProviderError(
            f"connection to Ollama at {host} failed for model {model!r}: "
            f"{type(error).__name__}: {error}"
        )
    return None
