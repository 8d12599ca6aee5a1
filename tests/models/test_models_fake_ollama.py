"""The fake Ollama server speaks the protocol the official ``ollama`` client expects."""

from __future__ import annotations

from collections.abc import Iterator

import ollama
import pytest

from harness.fake_ollama import FakeOllama, Reply, ToolCall


@pytest.fixture
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(models=["qwen2.5", "llama3.2:3b"]) as server:
        yield server


async def test_chat_without_streaming(fake: FakeOllama) -> None:
    fake.add(Reply(text="hi", thinking="hmm", tool_calls=(ToolCall("f", {"a": 1}),)))
    reply = await ollama.AsyncClient(fake.url).chat(
        "qwen2.5", [{"role": "user", "content": "x"}], stream=False
    )
    assert (reply.message.content, reply.message.thinking) == ("hi", "hmm")
    assert [(c.function.name, c.function.arguments) for c in reply.message.tool_calls or []] == [
        ("f", {"a": 1})
    ]
    assert (reply.done, reply.prompt_eval_count, reply.eval_count) == (True, 11, 7)
    assert fake.chat_bodies()[0]["messages"] == [{"role": "user", "content": "x"}]


async def test_chat_streaming_in_ndjson_chunks(fake: FakeOllama) -> None:
    calls = (ToolCall("f", {"a": 1}), ToolCall("g"))
    fake.add(Reply(text="one two", tool_calls=calls))
    parts = [
        part
        async for part in await ollama.AsyncClient(fake.url).chat(
            "qwen2.5", [{"role": "user", "content": "x"}], stream=True
        )
    ]
    assert [p.message.content for p in parts] == ["one ", "two", "", "", ""]
    assert [len(p.message.tool_calls or []) for p in parts] == [0, 0, 1, 1, 0]
    assert [p.done for p in parts] == [False, False, False, False, True]
    assert parts[-1].done_reason == "stop"


async def test_missing_model_and_scripted_errors(fake: FakeOllama) -> None:
    client = ollama.AsyncClient(fake.url)
    with pytest.raises(ollama.ResponseError) as missing:
        await client.chat("nope", [{"role": "user", "content": "x"}])
    assert missing.value.status_code == 404
    assert "not found" in missing.value.error
    fake.add_error(500, "boom")
    with pytest.raises(ollama.ResponseError) as failed:
        await client.chat("qwen2.5", [{"role": "user", "content": "x"}])
    assert (failed.value.status_code, failed.value.error) == (500, "boom")
    # An empty script is a loud 500, not a silent default.
    with pytest.raises(ollama.ResponseError, match="no scripted reply"):
        await client.chat("qwen2.5", [{"role": "user", "content": "x"}])


async def test_tags_and_show(fake: FakeOllama) -> None:
    client = ollama.AsyncClient(fake.url)
    listed = await client.list()
    assert [m.model for m in listed.models] == ["qwen2.5:latest", "llama3.2:3b"]
    shown = await client.show("llama3.2:3b")
    assert "tools" in (shown.capabilities or [])
    with pytest.raises(ollama.ResponseError):
        await client.show("nope")


async def test_api_key_is_required_when_set() -> None:
    with FakeOllama(api_key="secret") as cloud:
        cloud.add_text("ok")
        with pytest.raises(ollama.ResponseError) as denied:
            await ollama.AsyncClient(cloud.url).chat("qwen2.5", [])
        assert denied.value.status_code == 401
        client = ollama.AsyncClient(cloud.url, headers={"Authorization": "Bearer secret"})
        reply = await client.chat("qwen2.5", [], stream=False)
        assert reply.message.content == "ok"
