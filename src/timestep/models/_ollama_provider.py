"""``OllamaModelProvider``: Ollama models, local or on Ollama Cloud, chosen per model name."""

from __future__ import annotations

import os

import ollama
from agents.models.interface import ModelProvider

from .._errors import ConfigurationError
from ._ollama_client import ClientPool
from ._ollama_model import DEFAULT_OLLAMA_HOST, OllamaModel

__all__ = ["OLLAMA_CLOUD_HOST", "OllamaModelProvider", "cloud_api_name", "is_cloud_model"]

OLLAMA_CLOUD_HOST = "https://ollama.com"


def _split_tag(name: str) -> tuple[str, str | None]:
    head, slash, last = name.rpartition("/")
    base, colon, tag = last.partition(":")
    return head + slash + base, (tag if colon else None)


def is_cloud_model(name: str) -> bool:
    """True for Ollama's cloud model tags: ``gpt-oss:120b-cloud``, ``glm-4.6:cloud``."""
    _, tag = _split_tag(name)
    return tag is not None and (tag == "cloud" or tag.endswith("-cloud"))


def cloud_api_name(name: str) -> str:
    """The name Ollama Cloud's own API uses: ``gpt-oss:120b-cloud`` -> ``gpt-oss:120b``."""
    base, tag = _split_tag(name)
    if tag == "cloud":
        return base
    if tag is not None and tag.endswith("-cloud"):
        return f"{base}:{tag.removesuffix('-cloud')}"
    return name


class OllamaModelProvider(ModelProvider):
    """Ollama models, each sent to the local server or to Ollama Cloud by its name.

    Naming rule (the host is chosen for every model, never fixed by the first one used):

    - A plain name (``qwen2.5``, ``llama3.2:3b``) goes to the local server: ``host``, else
      ``$OLLAMA_HOST``, else ``http://localhost:11434``. No API key is ever sent there.
    - A cloud tag, i.e. a tag that is ``cloud`` or ends in ``-cloud`` (``gpt-oss:120b-cloud``,
      ``glm-4.6:cloud``), goes to Ollama Cloud (``cloud_host``, default ``https://ollama.com``)
      under the cloud API's name (``gpt-oss:120b``, ``glm-4.6``) with
      ``Authorization: Bearer <api_key or $OLLAMA_API_KEY>``. Without a key it goes to the
      local server under its full name: a local Ollama signed in with ``ollama signin``
      forwards cloud models itself.
    - With ``cloud=True`` (the ``ollama-cloud/`` prefix of ``MultiModelProvider``) every name
      goes to Ollama Cloud as given, and a key is required.

    Clients are created on first use, one per host (and event loop), and shared by the models.
    ``base_url`` is the older name of ``host``; ``ollama_client`` sends every model through
    that one client instead (so it cannot be combined with a host or a key).
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        ollama_client: ollama.AsyncClient | None = None,
        *,
        host: str | None = None,
        cloud_host: str | None = None,
        timeout: float | None = None,
        cloud: bool = False,
    ) -> None:
        if base_url and host and base_url != host:
            raise ConfigurationError("give the Ollama server as `host` or `base_url`, not both")
        if ollama_client is not None and (api_key or base_url or host or cloud_host):
            raise ConfigurationError(
                "`ollama_client` already fixes the server and its headers: "
                "do not also give api_key, base_url, host or cloud_host"
            )
        self._host = host or base_url
        self._cloud_host = cloud_host
        self._api_key = api_key
        self._client = ollama_client
        self.cloud = cloud
        self._pool = ClientPool(timeout)

    @property
    def host(self) -> str:
        """The local server: the ``host`` argument, else ``$OLLAMA_HOST``, else the default."""
        return self._host or os.environ.get("OLLAMA_HOST") or DEFAULT_OLLAMA_HOST

    @property
    def cloud_host(self) -> str:
        """Ollama Cloud's address (the ``cloud_host`` argument, else ``https://ollama.com``)."""
        return self._cloud_host or OLLAMA_CLOUD_HOST

    @property
    def api_key(self) -> str | None:
        """The Ollama Cloud key: the ``api_key`` argument, else ``$OLLAMA_API_KEY``."""
        return self._api_key or os.environ.get("OLLAMA_API_KEY") or None

    def get_model(self, model_name: str | None) -> OllamaModel:
        """The model for ``model_name`` on the host the naming rule picks."""
        if not model_name:
            raise ConfigurationError(
                "an Ollama model needs a name, e.g. 'ollama/qwen2.5' or 'ollama/gpt-oss:120b-cloud'"
            )
        if self._client is not None:
            return OllamaModel(model_name, self._client, host=self.host, _pool=self._pool)
        key = self.api_key
        if self.cloud and not key:
            raise ConfigurationError(
                f"Ollama Cloud model {model_name!r} needs an API key: set OLLAMA_API_KEY "
                "(create one at https://ollama.com/settings/keys)"
            )
        if self.cloud or (key and is_cloud_model(model_name)):
            return self._model(cloud_api_name(model_name), self.cloud_host, key, cloud=True)
        return self._model(model_name, self.host, None, cloud=False)

    def _model(self, name: str, host: str, key: str | None, *, cloud: bool) -> OllamaModel:
        # A key goes to the cloud host only (or to a "local" host that is the cloud itself).
        send_key = key if host.rstrip("/") == self.cloud_host.rstrip("/") else None
        return OllamaModel(name, host=host, api_key=send_key, _pool=self._pool, _cloud=cloud)

    async def aclose(self) -> None:
        """Close the cached clients."""
        await self._pool.aclose()
