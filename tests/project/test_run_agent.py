"""``run_agent`` and ``consume_result``: inputs, streaming, default model routing."""

from __future__ import annotations

import pytest
from agents import Agent, RunConfig, RunResultStreaming
from agents.models.interface import Model
from agents.testing import ScriptedModel, assistant_message

from harness.fake_ollama import FakeOllama
from harness.refund_agent import build_agent, full_model
from timestep import MultiModelProvider, consume_result, run_agent


async def test_text_and_input_item_inputs() -> None:
    model = ScriptedModel([[assistant_message("a")], [assistant_message("b")]])
    agent = Agent(name="echo", model=model)
    assert (await run_agent(agent, "hello")).final_output == "a"
    items = [{"role": "user", "content": "hello as an item"}]
    assert (await run_agent(agent, items)).final_output == "b"  # type: ignore[arg-type]
    assert model.calls[1].input == items


async def test_streamed_run_is_drained_by_consume_result() -> None:
    agent = build_agent(full_model())
    result = await run_agent(agent, "Refund order 42", stream=True)
    assert isinstance(result, RunResultStreaming)
    assert not result.is_complete
    drained = await consume_result(result)
    assert drained is result and result.is_complete
    [interruption] = result.interruptions
    state = result.to_state()
    state.approve(interruption)
    resumed = await consume_result(await run_agent(agent, state, stream=True))
    assert resumed.final_output == "final: refunded $25 on order 42"


async def test_consume_result_is_a_no_op_on_a_finished_result() -> None:
    agent = Agent(name="echo", model=ScriptedModel([[assistant_message("done")]]))
    result = await run_agent(agent, "hi")
    assert await consume_result(result) is result


async def test_consume_result_reraises_the_run_error() -> None:
    agent = Agent(name="boom", model=ScriptedModel([RuntimeError("model exploded")]))
    result = await run_agent(agent, "hi", stream=True)
    with pytest.raises(RuntimeError, match="model exploded"):
        await consume_result(result)


async def test_model_names_route_through_multi_model_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeOllama(models=["llama3.2"]) as fake:
        fake.add_text("hello from ollama")
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        agent = Agent(name="local", model="ollama/llama3.2")
        result = await run_agent(agent, "hi")
        assert result.final_output == "hello from ollama"
        assert fake.chat_bodies()[0]["model"] == "llama3.2"


async def test_an_explicit_provider_is_kept() -> None:
    names: list[str | None] = []

    class Recording(MultiModelProvider):
        def get_model(self, model_name: str | None) -> Model:
            names.append(model_name)
            return ScriptedModel([[assistant_message("mine")]])

    config = RunConfig(model_provider=Recording())
    result = await run_agent(Agent(name="x", model="acme/foo"), "hi", run_config=config)
    assert result.final_output == "mine"
    assert names == ["acme/foo"]
