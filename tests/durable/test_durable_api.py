"""Public API details: approve(reason=...), cancel_run on a run that never ran durably,
RunStateStore.target."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import test_durable_app
from agents import Agent, Runner
from agents.testing import ScriptedModel, assistant_message
from test_durable_app import make_agent

from timestep._errors import RunNotFoundError
from timestep.durable import approve, cancel_run, run_durable, shutdown, system_database_url
from timestep.state import RunStateStore


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    shutdown()
    yield f"sqlite:///{tmp_path_factory.mktemp('api') / 'runs.db'}"
    shutdown()


def test_store_target_is_the_full_unmasked_target() -> None:
    store = RunStateStore("postgresql://ann:s3cret@db.example/runs")
    assert store.target == "postgresql://ann:s3cret@db.example/runs"
    assert "s3cret" not in store.url


async def test_approve_records_its_reason(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(test_durable_app, "SCENARIO", "approval")
    store = RunStateStore(store_url)
    result = await run_durable(make_agent(), "refund", run_id="api-reason", store=store)
    assert result.interruptions
    decision = await approve("api-reason", reason="order verified", by="ann", store=store)
    assert decision.decision == "approve" and decision.call_id == "call_refund"
    with sa.create_engine(store.target).connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT decision, reason, decided_by FROM timestep_approvals WHERE run_id = :r"
            ),
            {"r": "api-reason"},
        ).one()
    assert tuple(row) == ("approve", "order verified", "ann")


async def test_cancel_a_run_that_never_ran_durably(tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'plain.db'}"
    store = RunStateStore(store_url)
    agent = Agent(name="plain", model=ScriptedModel([[assistant_message("hi")]]))
    result = await Runner.run(agent, "hi")
    await store.save(result, run_id="plain-1", status="running")
    assert await cancel_run("plain-1", store=store) is False  # no durable segment was stopped
    assert {r.run_id: r.status for r in await store.list_runs()} == {"plain-1": "cancelled"}
    system_db = sa.make_url(system_database_url(store_url)).database or ""
    assert not os.path.exists(system_db)  # cancelling created no DBOS database
    with pytest.raises(RunNotFoundError):
        await cancel_run("no-such-run", store=store)
