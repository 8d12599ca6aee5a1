"""`LocalModelProvider`: the Agents SDK's chat-completions model over the local llama-server."""

from __future__ import annotations

from agents.models.interface import Model, ModelProvider
from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from openai import AsyncOpenAI

from timestep._errors import UnknownLocalModelError
from timestep.models.local._paths import DEFAULT_MODEL
from timestep.models.local._server import LocalModelServer, shared_server
from timestep.models.local._setup import ensure_local_model

AVAILABLE_MODELS = (DEFAULT_MODEL,)
"""Names accepted after the `local/` prefix."""

PREFIX = "local/"


def resolve_model_name(model_name: str | None) -> str:
    """`None` and `local/qwen2.5-0.5b` -> `qwen2.5-0.5b`; unknown names raise."""
    name = model_name or DEFAULT_MODEL
    name = name.removeprefix(PREFIX)
    if name not in AVAILABLE_MODELS:
        raise UnknownLocalModelError(
            f"unknown local model {model_name!r}; available: "
            + ", ".join(PREFIX + m for m in AVAILABLE_MODELS)
        )
    return name


class LocalModelProvider(ModelProvider):
    """Serves `local/qwen2.5-0.5b` from a llama-server started on first use.

    Without `server`, the process-wide shared server is used (stopped at interpreter exit).
    A missing cache raises `LocalModelError` naming the setup command; with `auto_setup=True`
    it is built first instead (many minutes, with progress).
    """

    def __init__(self, server: LocalModelServer | None = None, *, auto_setup: bool = False) -> None:
        self._server = server
        self._auto_setup = auto_setup
        self._client: AsyncOpenAI | None = None
        self._client_base: str | None = None

    @property
    def server(self) -> LocalModelServer:
        """The server this provider talks to."""
        return self._server if self._server is not None else shared_server()

    def get_model(self, model_name: str | None) -> Model:
        """An `OpenAIChatCompletionsModel` for the named local model; starts the server."""
        name = resolve_model_name(model_name)
        if self._auto_setup:
            ensure_local_model(progress=True)
        base = self.server.start() + "/v1"
        if self._client is None or self._client_base != base:
            self._client = AsyncOpenAI(base_url=base, api_key="local")
            self._client_base = base
        return OpenAIChatCompletionsModel(model=name, openai_client=self._client)

    async def aclose(self) -> None:
        """Close the HTTP client; a server passed in by the caller is left to the caller."""
        if self._client is not None:
            await self._client.close()
            self._client = None
