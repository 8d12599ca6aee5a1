"""A resume whose state cannot be loaded records ``failed`` with the cause and stays resumable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import test_durable_app
from agents import Agent, function_tool
from agents.testing import ModelStep, ScriptedModel
from agents.tool_context import ToolContext
from test_durable_app import make_agent, respond

from timestep._errors import RunNotWaitingError, StateMismatchError, TimestepError
from timestep.durable import approve, resume, run_durable, shutdown
from timestep.state import RunStateStore, RunSummary


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    shutdown()
    yield f"sqlite:///{tmp_path_factory.mktemp('resume') / 'runs.db'}"
    shutdown()


@function_tool(name_override="refund_v2", needs_approval=True)
async def refund_renamed(ctx: ToolContext[Any], order: int) -> str:
    """Refund an order (the tool renamed since the run paused)."""
    return f"refunded {order}"


def renamed_agent() -> Agent[Any]:
    model = ScriptedModel([ModelStep.respond(respond) for _ in range(20)])
    return Agent(name="payer", model=model, tools=[refund_renamed])


async def _summary(store: RunStateStore, run_id: str) -> RunSummary:
    (summary,) = [r for r in await store.list_runs() if r.run_id == run_id]
    return summary


async def _paused(store: RunStateStore, run_id: str) -> int:
    result = await run_durable(make_agent(), "refund", run_id=run_id, store=store)
    assert result.interruptions
    decision = await approve(run_id, store=store)
    return decision.state_version


async def test_a_resume_that_cannot_load_fails_with_the_cause_and_can_be_retried(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(test_durable_app, "SCENARIO", "approval")
    store = RunStateStore(store_url)
    version = await _paused(store, "load-renamed")

    with pytest.raises(StateMismatchError) as failure:
        await resume("load-renamed", store=store, agent=renamed_agent())
    summary = await _summary(store, "load-renamed")
    assert summary.status == "failed"  # not left "running" with no error
    assert summary.metadata["error"].startswith(f"cannot load version {version}: ")
    assert str(failure.value)[:40] in summary.metadata["error"]
    assert summary.metadata["resumable_from"] == version

    # still failing with the same broken agent: recorded again, still resumable
    with pytest.raises(StateMismatchError):
        await resume("load-renamed", store=store, agent=renamed_agent())
    assert (await _summary(store, "load-renamed")).status == "failed"

    # the agent is fixed: the same segment runs, with the recorded approval
    result = await resume("load-renamed", store=store, agent=make_agent())
    assert result is not None and result.final_output == "refund handled"
    summary = await _summary(store, "load-renamed")
    assert summary.status == "done"
    assert summary.metadata.get("error") is None
    assert summary.metadata.get("resumable_from") is None
    with pytest.raises(RunNotWaitingError):
        await resume("load-renamed", store=store, agent=make_agent())


async def test_a_corrupt_stored_state_fails_the_resume_with_a_typed_cause(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(test_durable_app, "SCENARIO", "approval")
    store = RunStateStore(store_url)
    version = await _paused(store, "load-corrupt")
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE timestep_run_states SET state_json = :body "
                "WHERE run_id = :r AND version = :v"
            ),
            {
                "body": '{"$schemaVersion": "1.21", "current_turn": "x"',
                "r": "load-corrupt",
                "v": version,
            },
        )
    engine.dispose()
    with pytest.raises(TimestepError):
        await resume("load-corrupt", store=store, agent=make_agent())
    summary = await _summary(store, "load-corrupt")
    assert summary.status == "failed"
    assert summary.metadata["error"].startswith(f"cannot load version {version}: ")
    assert summary.metadata["resumable_from"] == version
