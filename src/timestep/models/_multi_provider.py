"""``MultiModelProvider``: the SDK's ``MultiProvider`` plus Ollama, Ollama Cloud and local."""

from __future__ import annotations

import importlib
from typing import Any

from agents.models.interface import Model, ModelProvider
from agents.models.multi_provider import MultiProvider, MultiProviderMap
from openai import AsyncOpenAI

from .._errors import LocalModelError, UnknownModelPrefixError
from ._ollama_provider import OllamaModelProvider

__all__ = ["MultiModelProvider", "MultiModelProviderMap"]

# Routes the SDK's MultiProvider serves itself.
_SDK_PREFIXES = ("openai", "litellm", "any-llm")


class MultiModelProviderMap(MultiProviderMap):
    """Maps model name prefixes to providers: ``map.add_provider("acme", AcmeProvider())`` makes
    ``"acme/model-x"`` go to ``AcmeProvider().get_model("model-x")``. Entries win over the
    built-in routes (so a map can also replace ``ollama`` or ``openai``)."""

    def __init__(self) -> None:  # typed, so strict callers may call it (the SDK's is not)
        super().__init__()  # type: ignore[no-untyped-call]

    def remove_provider(self, prefix: str) -> None:
        """Remove the provider for ``prefix`` (no error if there is none)."""
        self.set_mapping({k: v for k, v in self.get_mapping().items() if k != prefix})


class _Routes(MultiProviderMap):
    """The built-in routes with the user's map on top, read live (later additions count)."""

    def __init__(self, builtin: dict[str, ModelProvider], user: MultiProviderMap | None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.set_mapping(builtin)
        self.user = user

    def get_mapping(self) -> dict[str, ModelProvider]:
        user = self.user.get_mapping() if self.user is not None else {}
        return {**super().get_mapping(), **user}

    def has_prefix(self, prefix: str) -> bool:
        return prefix in self.get_mapping()

    def get_provider(self, prefix: str) -> ModelProvider | None:
        return self.get_mapping().get(prefix)


class _LocalModelRoute(ModelProvider):
    """The ``local/`` route: imports ``timestep.models.local`` only when a local model is used."""

    def __init__(self) -> None:
        self._provider: ModelProvider | None = None

    def get_model(self, model_name: str | None) -> Model:
        if self._provider is None:
            try:
                module = importlib.import_module("timestep.models.local")
                provider_class = module.LocalModelProvider
            except (ImportError, AttributeError) as error:
                raise LocalModelError(
                    f"the local model {model_name!r} is unavailable ({error}); set it up with "
                    "`python -m timestep.models.local setup`"
                ) from error
            self._provider = provider_class()
        return self._provider.get_model(model_name)

    async def aclose(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()


class MultiModelProvider(MultiProvider):
    """Finds the provider for a model name by its prefix (the text before the first ``/``).

    - no prefix or ``openai/`` -> OpenAI (``gpt-4.1``, ``openai/gpt-4.1``), configured by the
      arguments, else ``$OPENAI_API_KEY`` / ``$OPENAI_BASE_URL``;
    - ``ollama/`` -> ``OllamaModelProvider`` (``ollama/qwen2.5``; cloud tags such as
      ``ollama/gpt-oss:120b-cloud`` go to Ollama Cloud when ``$OLLAMA_API_KEY`` is set);
    - ``ollama-cloud/`` -> always Ollama Cloud (``ollama-cloud/gpt-oss:120b``);
    - ``local/`` -> timestep's offline local model server (``local/qwen2.5-0.5b``);
    - ``litellm/`` and ``any-llm/`` -> the SDK's own providers (their extras must be installed);
    - any prefix added to ``provider_map`` -> that provider (map entries win over the above).

    Any other prefix raises ``UnknownModelPrefixError`` naming the known ones.
    """

    def __init__(
        self,
        provider_map: MultiProviderMap | None = None,
        *,
        openai_api_key: str | None = None,
        openai_base_url: str | None = None,
        openai_client: AsyncOpenAI | None = None,
        openai_use_responses: bool | None = None,
        ollama_host: str | None = None,
        ollama_api_key: str | None = None,
        ollama_cloud_host: str | None = None,
        ollama_timeout: float | None = None,
        **openai_options: Any,
    ) -> None:
        """Args are those of the SDK's ``MultiProvider`` (``openai_*``, passed through) plus
        the Ollama settings (see ``OllamaModelProvider``). Unset OpenAI settings come from
        ``$OPENAI_API_KEY`` / ``$OPENAI_BASE_URL`` (read by the ``openai`` client)."""
        self.ollama_provider = OllamaModelProvider(
            host=ollama_host,
            api_key=ollama_api_key,
            cloud_host=ollama_cloud_host,
            timeout=ollama_timeout,
        )
        self.ollama_cloud_provider = OllamaModelProvider(
            host=ollama_host,
            api_key=ollama_api_key,
            cloud_host=ollama_cloud_host,
            timeout=ollama_timeout,
            cloud=True,
        )
        self.user_map = provider_map
        self._pass_unknown = openai_options.get("unknown_prefix_mode") == "model_id"
        builtin: dict[str, ModelProvider] = {
            "ollama": self.ollama_provider,
            "ollama-cloud": self.ollama_cloud_provider,
            "local": _LocalModelRoute(),
        }
        super().__init__(
            provider_map=_Routes(builtin, provider_map),
            openai_api_key=openai_api_key,
            openai_base_url=openai_base_url,
            openai_client=openai_client,
            openai_use_responses=openai_use_responses,
            **openai_options,
        )

    @property
    def known_prefixes(self) -> list[str]:
        """Every prefix this provider routes, sorted."""
        mapped = self.provider_map.get_mapping() if self.provider_map is not None else {}
        return sorted({*mapped, *_SDK_PREFIXES})

    def get_model(self, model_name: str | None) -> Model:
        """The model for ``model_name``, from the provider its prefix names."""
        if model_name and "/" in model_name:
            prefix = model_name.split("/", 1)[0]
            if prefix not in self.known_prefixes and not self._pass_unknown:
                known = ", ".join(f"{p}/" for p in self.known_prefixes)
                raise UnknownModelPrefixError(
                    f"unknown model prefix {prefix!r} in {model_name!r}; known prefixes: {known} "
                    "(or none, for OpenAI). Add your own with MultiModelProviderMap."
                )
        return super().get_model(model_name)
