"""MultiModelProvider routes model names by prefix to OpenAI, Ollama, local and user providers."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator

import pytest
from agents.models.interface import Model, ModelProvider

from harness.fake_ollama import FakeOllama, call_model
from harness.fake_openai import FakeOpenAI
from timestep._errors import LocalModelError, UnknownModelPrefixError
from timestep.models import (
    MultiModelProvider,
    MultiModelProviderMap,
    OllamaModel,
    OllamaModelProvider,
)


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    # The SDK shares one HTTP client per process; its connections belong to the event loop of
    # an earlier test, so give this test's loop a fresh one.
    monkeypatch.setattr("agents.models.openai_provider._http_client", None)
    with FakeOpenAI(models=["gpt-fake", "acme/x"]) as server:
        yield server


@pytest.fixture
def ollama_server() -> Iterator[FakeOllama]:
    with FakeOllama(models=["qwen2.5", "gpt-oss:120b"], api_key=None) as server:
        yield server


class RecordingProvider(ModelProvider):
    """Hands out models of another provider and records the names it was asked for."""

    def __init__(self, inner: ModelProvider) -> None:
        self.inner = inner
        self.names: list[str | None] = []

    def get_model(self, model_name: str | None) -> Model:
        self.names.append(model_name)
        return self.inner.get_model(model_name)


@pytest.mark.parametrize("name", ["gpt-fake", "openai/gpt-fake"])
async def test_openai_route_from_arguments(openai_server: FakeOpenAI, name: str) -> None:
    openai_server.add_text("hello from openai")
    provider = MultiModelProvider(openai_base_url=openai_server.base_url, openai_api_key="arg-key")
    response = await call_model(provider.get_model(name), "hi")
    assert response.output[0].model_dump()["content"][0]["text"] == "hello from openai"
    request = openai_server.model_requests()[0]
    assert request.json["model"] == "gpt-fake"
    assert request.headers["authorization"] == "Bearer arg-key"


async def test_openai_route_from_environment(
    openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    openai_server.add_text("hello")
    await call_model(MultiModelProvider().get_model("gpt-fake"), "hi")
    request = openai_server.model_requests()[0]
    assert request.headers["authorization"] == "Bearer env-key"
    assert request.json["model"] == "gpt-fake"


async def test_ollama_route(ollama_server: FakeOllama) -> None:
    provider = MultiModelProvider(ollama_host=ollama_server.url)
    model = provider.get_model("ollama/qwen2.5")
    assert isinstance(model, OllamaModel)
    ollama_server.add_text("hello from ollama")
    response = await call_model(model, "hi")
    assert response.output[0].model_dump()["content"][0]["text"] == "hello from ollama"
    assert ollama_server.chat_bodies()[0]["model"] == "qwen2.5"
    await provider.aclose()


async def test_ollama_cloud_route(ollama_server: FakeOllama) -> None:
    provider = MultiModelProvider(ollama_cloud_host=ollama_server.url, ollama_api_key="k")
    ollama_server.add_text("from the cloud")
    await call_model(provider.get_model("ollama-cloud/gpt-oss:120b"), "hi")
    request = ollama_server.chat_requests()[0]
    assert request.json["model"] == "gpt-oss:120b"
    assert request.headers["authorization"] == "Bearer k"


async def test_user_prefix_from_a_map(ollama_server: FakeOllama) -> None:
    acme = RecordingProvider(OllamaModelProvider(host=ollama_server.url))
    routes = MultiModelProviderMap()
    routes.add_provider("acme", acme)
    provider = MultiModelProvider(provider_map=routes)
    ollama_server.add_text("acme says hi")
    await call_model(provider.get_model("acme/qwen2.5"), "hi")
    assert acme.names == ["qwen2.5"]
    assert ollama_server.chat_bodies()[0]["model"] == "qwen2.5"
    # A prefix added to the map later is routed too.
    routes.add_provider("later", acme)
    provider.get_model("later/qwen2.5")
    assert acme.names == ["qwen2.5", "qwen2.5"]


def test_a_map_entry_overrides_a_built_in_route(ollama_server: FakeOllama) -> None:
    mine = RecordingProvider(OllamaModelProvider(host=ollama_server.url))
    routes = MultiModelProviderMap()
    routes.add_provider("ollama", mine)
    model = MultiModelProvider(provider_map=routes).get_model("ollama/llama3.2")
    assert mine.names == ["llama3.2"]
    assert isinstance(model, OllamaModel) and model.host == ollama_server.url


def test_unknown_prefix_lists_the_known_ones() -> None:
    routes = MultiModelProviderMap()
    routes.add_provider("acme", OllamaModelProvider())
    with pytest.raises(UnknownModelPrefixError) as caught:
        MultiModelProvider(provider_map=routes).get_model("nope/model")
    message = str(caught.value)
    assert "'nope'" in message
    for prefix in ("acme/", "any-llm/", "litellm/", "local/", "ollama/", "ollama-cloud/"):
        assert prefix in message


async def test_unknown_prefix_can_pass_through_to_openai(openai_server: FakeOpenAI) -> None:
    provider = MultiModelProvider(
        openai_base_url=openai_server.base_url,
        openai_api_key="k",
        unknown_prefix_mode="model_id",
    )
    openai_server.add_text("ok")
    await call_model(provider.get_model("acme/x"), "hi")
    assert openai_server.model_requests()[0].json["model"] == "acme/x"


@pytest.mark.parametrize(("prefix", "package"), [("litellm", "litellm"), ("any-llm", "any_llm")])
def test_sdk_routes_still_work(prefix: str, package: str) -> None:
    provider = MultiModelProvider(openai_api_key="k")
    if importlib.util.find_spec(package) is None:
        # The SDK's own route was reached: it asks for its optional dependency.
        with pytest.raises(ImportError, match=f"openai-agents\\[{prefix}\\]"):
            provider.get_model(f"{prefix}/openai/gpt-4.1")
    else:
        model = provider.get_model(f"{prefix}/openai/gpt-4.1")
        assert not isinstance(model, OllamaModel)


def test_local_route_uses_the_local_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    local = RecordingProvider(OllamaModelProvider(host="http://127.0.0.1:1"))
    module = types.ModuleType("timestep.models.local")
    module.LocalModelProvider = lambda: local  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "timestep.models.local", module)
    MultiModelProvider().get_model("local/qwen2.5-0.5b")
    assert local.names == ["qwen2.5-0.5b"]


def test_local_route_explains_how_to_set_it_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "timestep.models.local", None)
    with pytest.raises(LocalModelError, match=r"python -m timestep\.models\.local setup"):
        MultiModelProvider().get_model("local/qwen2.5-0.5b")


def test_seed_call_shapes(ollama_server: FakeOllama) -> None:
    routes = MultiModelProviderMap()
    routes.add_provider("acme", OllamaModelProvider(host=ollama_server.url))
    routes.remove_provider("acme")
    routes.remove_provider("never-added")
    assert routes.get_mapping() == {}
    routes.add_provider("acme", OllamaModelProvider(host=ollama_server.url))
    provider = MultiModelProvider(routes, openai_api_key="k", openai_organization="org")
    model = provider.get_model("acme/qwen2.5")
    assert isinstance(model, OllamaModel) and model.host == ollama_server.url
