"""A durable run's first row is stored before any of its steps, however slow the store is.

A slow store must not let a step start before the run is listed, a failing store must not let the
model be called, and a run that fails before its first step still ends ``failed`` with its input
kept. (Guards the order an optimisation that writes the row beside the set-up would have to keep.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    RunContextWrapper,
    input_guardrail,
)
from agents.testing import ScriptedModel, assistant_message

from timestep import StoreUnavailableError
from timestep.durable import run_durable, shutdown
from timestep.state import RunStateStore, _sql_awaited
from timestep.state._sql_backend import SqlBackend


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("first-row") / "runs.db"
    yield f"sqlite:///{path}"
    shutdown()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[RunStateStore]:
    yield RunStateStore(store_url)


def _slow_create(monkeypatch: pytest.MonkeyPatch, delay: float) -> list[str]:
    """Make the store's first-row write take ``delay`` seconds; returns the runs it wrote."""
    original = _sql_awaited.create
    written: list[str] = []

    async def create(backend: SqlBackend, run_id: str, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(delay)
        stored = await original(backend, run_id, *args, **kwargs)
        written.append(run_id)
        return stored

    monkeypatch.setattr(_sql_awaited, "create", create)
    return written


class _Watching(ScriptedModel):
    """A scripted model that records, at each call, what the store says about the run."""

    def __init__(self, store: RunStateStore, run_id: str, steps: list[Any]) -> None:
        super().__init__(steps)
        self.store, self.run_id = store, run_id
        self.seen: list[tuple[str, int]] = []

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        run = await self.store.run(self.run_id)  # RunNotFoundError if no row yet
        self.seen.append((run.status, run.latest_version))
        return await super().get_response(*args, **kwargs)


async def test_the_first_step_starts_only_once_the_run_is_stored(
    store: RunStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = _slow_create(monkeypatch, 0.4)
    model = _Watching(store, "slow-row", [[assistant_message("done")]])
    result = await run_durable(Agent(name="a", model=model), "hi", run_id="slow-row", store=store)
    assert result.final_output == "done"
    assert written == ["slow-row"]
    assert model.seen == [("running", 0)]  # listed, at its start, when the model was called
    run = await store.run("slow-row")
    assert (run.status, run.latest_version) == ("done", 1)


async def test_a_store_that_cannot_write_the_first_row_calls_no_model(
    store: RunStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(backend: SqlBackend, run_id: str, *args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailableError(f"database {backend.url}: disk I/O error (test)")

    monkeypatch.setattr(_sql_awaited, "create", refuse)
    model = ScriptedModel([[assistant_message("never")]])
    with pytest.raises(StoreUnavailableError, match="disk I/O error"):
        await run_durable(Agent(name="a", model=model), "hi", run_id="no-row", store=store)
    assert not model.calls  # the model was never asked


@input_guardrail
async def _refuse_all(
    _ctx: RunContextWrapper[Any], _agent: Agent[Any], _input: Any
) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info="blocked", tripwire_triggered=True)


async def test_a_run_failing_before_its_first_step_is_stored_failed_with_its_input(
    store: RunStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure is recorded after the slow first row lands, not lost beside it."""
    _slow_create(monkeypatch, 0.3)
    agent = Agent(
        name="guarded",
        model=ScriptedModel([[assistant_message("never")]]),
        input_guardrails=[_refuse_all],
    )
    with pytest.raises(InputGuardrailTripwireTriggered):
        await run_durable(agent, "forbidden", run_id="guarded-run", store=store)
    run = await store.run("guarded-run")
    assert (run.status, run.latest_version) == ("failed", 0)
    assert "InputGuardrailTripwireTriggered" in run.metadata["error"]
    state = await store.load("guarded-run", agent)
    assert state._original_input == "forbidden"


@pytest.mark.parametrize("delay", [0.0, 0.001, 0.02])
async def test_any_write_delay_keeps_the_row_before_the_model_call(
    store: RunStateStore, monkeypatch: pytest.MonkeyPatch, delay: float
) -> None:
    _slow_create(monkeypatch, delay)
    run_id = f"delay-{delay}"
    model = _Watching(store, run_id, [[assistant_message("ok")]])
    await run_durable(Agent(name="a", model=model), "hi", run_id=run_id, store=store)
    assert model.seen == [("running", 0)]
