"""Run configuration of segments that run without the caller's in-process extras (recovered or
dequeued by a worker): the worker's RunConfig or timestep's provider, the run's max_turns."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agents import Agent, Model, ModelProvider, ModelSettings, RunConfig, RunContextWrapper
from agents.testing import ScriptedModel, assistant_message
from openai.types.shared import Reasoning
from test_durable_app import make_agent

from timestep import ConfigurationError
from timestep.durable import _segment, enqueue_run, shutdown, worker
from timestep.durable._runtime import RUNTIME
from timestep.durable._spec import SegmentSpec
from timestep.models import MultiModelProvider
from timestep.state import RunStateStore


class ScriptedProvider(ModelProvider):
    """Answers every model name with a scripted model (records the names and the models)."""

    def __init__(self) -> None:
        self.names: list[str | None] = []
        self.models: list[ScriptedModel] = []

    def get_model(self, model_name: str | None) -> Model:
        self.names.append(model_name)
        model = ScriptedModel([[assistant_message("from the worker's provider")]])
        self.models.append(model)
        return model


provider = ScriptedProvider()


def _instructions(ctx: RunContextWrapper[Any], agent: Agent[Any]) -> str:
    return f"You serve tenant {ctx.context['tenant']}."


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    shutdown()
    yield f"sqlite:///{tmp_path_factory.mktemp('config') / 'runs.db'}"
    shutdown()
    RUNTIME.worker_run_config = None


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[RunStateStore]:
    store = RunStateStore(store_url)
    await asyncio.to_thread(store.open)  # migrate once, before the worker thread and the test
    agents = [
        make_agent(),
        Agent(name="by-name", model="scripted/answer"),
        Agent(name="by-context", instructions=_instructions),
    ]
    task = asyncio.create_task(
        worker(
            agents,
            store=store,
            poll_interval=0.2,
            run_config=RunConfig(model_provider=provider),
        )
    )
    for _ in range(300):  # the worker launches DBOS (creating its tables) in a thread
        if RUNTIME.launched_on(store_url):
            break
        await asyncio.sleep(0.1)
    yield store
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _final_status(store: RunStateStore, run_id: str) -> str:
    for _ in range(600):
        found = {r.run_id: r.status for r in await store.list_runs()}
        if found.get(run_id) in ("done", "failed", "waiting"):
            return found[run_id]
        await asyncio.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish")


def test_persisted_run_config_survives_json_and_is_laid_over_the_workers() -> None:
    run_config = RunConfig(
        model="gpt-x",
        model_settings=ModelSettings(temperature=0.2, reasoning=Reasoning(effort="low")),
        workflow_name="refunds",
        group_id="ticket-42",
        trace_metadata={"team": "billing"},
        input_guardrails=[],  # an object field: stays in the starting process
    )
    spec = json.loads(json.dumps(_segment.config_spec(run_config, {"tenant": "acme"})))
    assert spec["context"] == {"tenant": "acme"}
    assert set(spec["run_config"]) == {
        "model_settings",
        "workflow_name",
        "group_id",
        "trace_metadata",
    }
    RUNTIME.worker_run_config = RunConfig(model_settings=ModelSettings(top_p=0.5, temperature=1))
    try:
        config = _segment.segment_config(None, SegmentSpec(agent="a", store="s", **spec))
    finally:
        RUNTIME.worker_run_config = None
    assert config.model == "gpt-x"
    assert config.model_settings is not None
    assert (config.model_settings.temperature, config.model_settings.top_p) == (0.2, 0.5)
    assert config.model_settings.reasoning == Reasoning(effort="low")
    assert (config.workflow_name, config.group_id) == ("refunds", "ticket-42")
    assert config.trace_metadata == {"team": "billing"}
    # a context that is not a JSON object is not persisted
    assert "context" not in _segment.config_spec(None, object())


async def test_enqueued_run_gets_its_model_settings_and_context(store: RunStateStore) -> None:
    await enqueue_run(
        "by-context",
        "hi",
        run_id="cfg-context",
        store=store,
        run_config=RunConfig(model_settings=ModelSettings(temperature=0.1, extra_args={"seed": 7})),
        context={"tenant": "acme"},
    )
    assert await _final_status(store, "cfg-context") == "done"
    [call] = [
        c for m in provider.models for c in m.calls if "acme" in (c.system_instructions or "")
    ]
    assert call.system_instructions == "You serve tenant acme."
    assert call.model_settings.temperature == 0.1
    assert call.model_settings.extra_args == {"seed": 7}
    with pytest.raises(ConfigurationError, match="JSON object"):
        await enqueue_run("by-context", "hi", run_id="cfg-bad", store=store, context=object())  # type: ignore[arg-type]


def test_recovered_segments_default_to_timesteps_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RUNTIME, "worker_run_config", None)
    config = _segment.segment_config(None, SegmentSpec(agent="a", store="s", model="ollama/llama3"))
    assert isinstance(config.model_provider, MultiModelProvider)
    assert config.model == "ollama/llama3"
    assert _segment.config_spec(RunConfig(model="gpt-x")) == {"model": "gpt-x"}
    assert _segment.config_spec(None) == {}


async def test_dequeued_segment_uses_the_workers_run_config(store: RunStateStore) -> None:
    await enqueue_run("by-name", "hi", run_id="cfg-provider", store=store)
    assert await _final_status(store, "cfg-provider") == "done"
    assert "scripted/answer" in provider.names


async def test_dequeued_segment_keeps_the_runs_max_turns(store: RunStateStore) -> None:
    # the payer agent needs 4 model turns; the run allows 2
    await enqueue_run("payer", "pay", run_id="cfg-turns", store=store, max_turns=2)
    client = RUNTIME.client(store.target)
    for _ in range(600):
        [segment] = await asyncio.to_thread(client.list_workflows, workflow_id_prefix="cfg-turns@")
        if segment.status not in ("ENQUEUED", "PENDING"):
            break
        await asyncio.sleep(0.1)
    assert segment.status == "ERROR"
    assert "Max turns (2) exceeded" in str(segment.error)
