"""Run configuration of segments that run without the caller's in-process extras (recovered or
dequeued by a worker): the worker's RunConfig or timestep's provider, the run's max_turns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from agents import Agent, Model, ModelProvider, RunConfig
from agents.testing import ScriptedModel, assistant_message

from test_durable_app import make_agent
from timestep.durable import _config, _segment, enqueue_run, shutdown, worker
from timestep.models import MultiModelProvider
from timestep.state import RunStateStore


class ScriptedProvider(ModelProvider):
    """Answers every model name with a scripted model (records the names asked for)."""

    def __init__(self) -> None:
        self.names: list[str | None] = []

    def get_model(self, model_name: str | None) -> Model:
        self.names.append(model_name)
        return ScriptedModel([[assistant_message("from the worker's provider")]])


provider = ScriptedProvider()


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    shutdown()
    yield f"sqlite:///{tmp_path_factory.mktemp('config') / 'runs.db'}"
    shutdown()
    _segment.worker_run_config = None


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[RunStateStore]:
    store = RunStateStore(store_url)
    await asyncio.to_thread(store.engine)  # migrate once, before the worker thread and the test
    agents = [make_agent(), Agent(name="by-name", model="scripted/answer")]
    task = asyncio.create_task(
        worker(
            agents,
            store=store,
            poll_interval=0.2,
            run_config=RunConfig(model_provider=provider),
        )
    )
    for _ in range(300):  # the worker launches DBOS (creating its tables) in a thread
        if _config.launched_on(store_url):
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


def test_recovered_segments_default_to_timesteps_provider() -> None:
    config = _segment.segment_config(None, {"model": "ollama/llama3"})
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
    client = _config.client(store.target)
    for _ in range(600):
        [segment] = await asyncio.to_thread(client.list_workflows, workflow_id_prefix="cfg-turns@")
        if segment.status not in ("ENQUEUED", "PENDING"):
            break
        await asyncio.sleep(0.1)
    assert segment.status == "ERROR"
    assert "Max turns (2) exceeded" in str(segment.error)
