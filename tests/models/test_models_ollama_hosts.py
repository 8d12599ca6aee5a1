"""Local Ollama or Ollama Cloud, chosen per model name; the API key goes to the cloud only."""

from __future__ import annotations

from collections.abc import Iterator

import ollama
import pytest

from harness.fake_ollama import FakeOllama, call_model, stream_model
from timestep._errors import ConfigurationError
from timestep.models import OllamaModel, OllamaModelProvider
from timestep.models._ollama_provider import cloud_api_name, is_cloud_model

KEY = "sk-ollama-test"


@pytest.fixture
def local() -> Iterator[FakeOllama]:
    with FakeOllama(models=["qwen2.5", "gpt-oss:120b-cloud"], default=None) as server:
        yield server


@pytest.fixture
def cloud() -> Iterator[FakeOllama]:
    with FakeOllama(models=["gpt-oss:120b", "glm-4.6"], api_key=KEY) as server:
        yield server


@pytest.mark.parametrize(
    ("name", "is_cloud", "api_name"),
    [
        ("gpt-oss:120b-cloud", True, "gpt-oss:120b"),
        ("glm-4.6:cloud", True, "glm-4.6"),
        ("library/qwen3-coder:480b-cloud", True, "library/qwen3-coder:480b"),
        ("qwen2.5", False, "qwen2.5"),
        ("qwen2.5:7b", False, "qwen2.5:7b"),
        ("cloud-model", False, "cloud-model"),
        ("hf.co/org/cloud:Q4_K_M", False, "hf.co/org/cloud:Q4_K_M"),
    ],
)
def test_naming_rule(name: str, is_cloud: bool, api_name: str) -> None:
    assert is_cloud_model(name) is is_cloud
    assert cloud_api_name(name) == api_name


async def test_each_model_goes_to_its_own_host(
    local: FakeOllama, cloud: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", KEY)
    provider = OllamaModelProvider(host=local.url, cloud_host=cloud.url)
    cloud.add_text("from the cloud").add_text("cloud again")
    local.add_text("from local")
    # Cloud first: the host must not stick to the first model used.
    first = await call_model(provider.get_model("gpt-oss:120b-cloud"), "hi")
    second = await stream_model(provider.get_model("qwen2.5"), "hi")
    third = await call_model(provider.get_model("glm-4.6:cloud"), "hi")
    assert first.output and second and third.output
    assert [b["model"] for b in cloud.chat_bodies()] == ["gpt-oss:120b", "glm-4.6"]
    assert [b["model"] for b in local.chat_bodies()] == ["qwen2.5"]
    assert {r.headers.get("authorization") for r in cloud.chat_requests()} == {f"Bearer {KEY}"}
    # $OLLAMA_API_KEY is set, yet the local server never sees it.
    assert "authorization" not in local.chat_requests()[0].headers
    await provider.aclose()


async def test_api_key_argument_wins_over_environment(
    local: FakeOllama, cloud: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "wrong-key")
    provider = OllamaModelProvider(host=local.url, cloud_host=cloud.url, api_key=KEY)
    cloud.add_text("ok")
    await call_model(provider.get_model("gpt-oss:120b-cloud"), "hi")
    assert cloud.chat_requests()[0].headers["authorization"] == f"Bearer {KEY}"


async def test_without_a_key_cloud_tags_go_through_the_local_server(
    local: FakeOllama, cloud: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    provider = OllamaModelProvider(host=local.url, cloud_host=cloud.url)
    local.add_text("forwarded by a signed-in local Ollama")
    await call_model(provider.get_model("gpt-oss:120b-cloud"), "hi")
    assert [b["model"] for b in local.chat_bodies()] == ["gpt-oss:120b-cloud"]
    assert cloud.chat_requests() == []


async def test_cloud_provider_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OLLAMA_API_KEY"):
        OllamaModelProvider(cloud=True).get_model("gpt-oss:120b")


async def test_cloud_provider_sends_every_model_to_the_cloud(
    local: FakeOllama, cloud: FakeOllama
) -> None:
    provider = OllamaModelProvider(host=local.url, cloud_host=cloud.url, api_key=KEY, cloud=True)
    cloud.add_text("ok")
    await call_model(provider.get_model("gpt-oss:120b"), "hi")
    assert [b["model"] for b in cloud.chat_bodies()] == ["gpt-oss:120b"]
    assert local.chat_requests() == []


async def test_ollama_host_is_read_when_the_model_is_made(
    local: FakeOllama, cloud: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = OllamaModelProvider()
    monkeypatch.setenv("OLLAMA_HOST", local.url)
    model = provider.get_model("qwen2.5")
    assert model.host == local.url
    local.add_text("ok")
    await call_model(model, "hi")
    assert len(local.chat_requests()) == 1
    # A standalone OllamaModel follows $OLLAMA_HOST too.
    assert OllamaModel("qwen2.5").host == local.url
    monkeypatch.delenv("OLLAMA_HOST")
    assert OllamaModel("qwen2.5").host == "http://localhost:11434"


async def test_one_client_per_host(local: FakeOllama, cloud: FakeOllama) -> None:
    provider = OllamaModelProvider(host=local.url, cloud_host=cloud.url, api_key=KEY)
    a, b = provider.get_model("qwen2.5"), provider.get_model("llama3.2")
    c = provider.get_model("gpt-oss:120b-cloud")
    assert a.client is b.client
    assert c.client is not a.client
    await provider.aclose()


async def test_a_model_can_use_a_given_client(local: FakeOllama) -> None:
    client = ollama.AsyncClient(local.url, headers={"X-Team": "blue"})
    model = OllamaModel("qwen2.5", client=client, host=local.url)
    local.add_text("ok")
    await call_model(model, "hi")
    assert local.chat_requests()[0].headers["x-team"] == "blue"
    assert model.client is client


async def test_aclose_forgets_the_clients(local: FakeOllama) -> None:
    provider = OllamaModelProvider(host=local.url)
    first = provider.get_model("qwen2.5").client
    await provider.aclose()
    assert provider.get_model("qwen2.5").client is not first


async def test_seed_call_shapes(local: FakeOllama, cloud: FakeOllama) -> None:
    # OllamaModelProvider(api_key, base_url) and OllamaModelProvider(ollama_client=...).
    by_url = OllamaModelProvider(KEY, local.url, cloud_host=cloud.url)
    assert by_url.get_model("qwen2.5").host == local.url
    client = ollama.AsyncClient(local.url)
    shared = OllamaModelProvider(ollama_client=client)
    model = shared.get_model("gpt-oss:120b-cloud")
    assert model.client is client
    local.add_text("ok")
    await call_model(model, "hi")
    assert [b["model"] for b in local.chat_bodies()] == ["gpt-oss:120b-cloud"]
    with pytest.raises(ConfigurationError, match="ollama_client"):
        OllamaModelProvider("key", ollama_client=client)
    with pytest.raises(ConfigurationError, match="not both"):
        OllamaModelProvider(base_url="http://a:1", host="http://b:2")
