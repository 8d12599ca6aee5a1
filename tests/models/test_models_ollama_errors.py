"""Ollama failures become typed errors naming the host, the model and the cause."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from agents import ModelSettings
from agents.models.interface import ModelTracing

from harness.fake_ollama import FakeOllama, Reply, call_model, stream_model
from harness.http_server import free_port
from timestep._errors import ModelNotFoundError, ModelProviderError, ModelServerUnavailableError
from timestep.models import OllamaModel, OllamaModelProvider

Call = Callable[[OllamaModel, str], Awaitable[Any]]
MODES: list[Call] = [call_model, stream_model]


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(models=["qwen2.5"]) as server:
        yield server


@pytest.mark.parametrize("send", MODES, ids=["get_response", "stream_response"])
async def test_missing_model_says_how_to_pull_it(fake: FakeOllama, send: Call) -> None:
    model = OllamaModelProvider(host=fake.url).get_model("llama9")
    with pytest.raises(ModelNotFoundError) as caught:
        await send(model, "hi")
    message = str(caught.value)
    assert f"model 'llama9' not found on {fake.url}" in message
    assert "ollama pull llama9" in message


@pytest.mark.parametrize("send", MODES, ids=["get_response", "stream_response"])
async def test_server_error_names_status_and_cause(fake: FakeOllama, send: Call) -> None:
    fake.add_error(500, "llama runner process has terminated")
    model = OllamaModelProvider(host=fake.url).get_model("qwen2.5")
    with pytest.raises(ModelProviderError) as caught:
        await send(model, "hi")
    assert not isinstance(caught.value, ModelNotFoundError | ModelServerUnavailableError)
    message = str(caught.value)
    assert fake.url in message and "'qwen2.5'" in message
    assert "llama runner process has terminated (HTTP 500)" in message


@pytest.mark.parametrize("send", MODES, ids=["get_response", "stream_response"])
async def test_no_server_listening(send: Call) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    model = OllamaModelProvider(host=host).get_model("qwen2.5")
    with pytest.raises(ModelServerUnavailableError) as caught:
        await send(model, "hi")
    assert f"no Ollama server at {host}" in str(caught.value)
    assert "OLLAMA_HOST" in str(caught.value)


async def test_error_in_the_middle_of_a_stream(fake: FakeOllama) -> None:
    fake.add(Reply(text="partial answer", stream_error="out of memory"))
    model = OllamaModelProvider(host=fake.url).get_model("qwen2.5")
    with pytest.raises(
        ModelProviderError, match=re.escape("mid-stream for 'qwen2.5': out of memory")
    ):
        await stream_model(model, "hi")


async def test_cloud_rejects_a_bad_key() -> None:
    with FakeOllama(models=["gpt-oss:120b"], api_key="right") as cloud:
        provider = OllamaModelProvider(cloud_host=cloud.url, api_key="wrong", cloud=True)
        with pytest.raises(ModelProviderError, match=r"HTTP 401.*OLLAMA_API_KEY"):
            await call_model(provider.get_model("gpt-oss:120b"), "hi")
        assert cloud.chat_requests()[0].headers["authorization"] == "Bearer wrong"


async def test_missing_cloud_model_does_not_suggest_pull() -> None:
    with FakeOllama(models=["gpt-oss:120b"], api_key="k") as cloud:
        provider = OllamaModelProvider(cloud_host=cloud.url, api_key="k", cloud=True)
        with pytest.raises(ModelNotFoundError) as caught:
            await call_model(provider.get_model("nope:1b"), "hi")
        assert "ollama pull" not in str(caught.value)
        assert f"model 'nope:1b' not found on {cloud.url}" in str(caught.value)


async def test_a_failed_stream_emits_nothing_before_the_error(fake: FakeOllama) -> None:
    fake.add_error(503, "busy")
    model = OllamaModelProvider(host=fake.url).get_model("qwen2.5")
    stream = model.stream_response(
        None,
        "hi",
        ModelSettings(),
        [],
        None,
        [],
        ModelTracing.DISABLED,
        previous_response_id=None,
        conversation_id=None,
        prompt=None,
    )
    seen = []
    with pytest.raises(ModelProviderError, match=r"busy \(HTTP 503\)"):
        async for event in stream:
            seen.append(event)
    assert seen == []
