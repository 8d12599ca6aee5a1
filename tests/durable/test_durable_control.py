"""Run control: list runs by status, cancel, time out, fork from step N into a new run id."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import test_durable_app
from agents import Agent, function_tool
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call
from test_durable_app import make_agent, read_log

from timestep._errors import (
    ConfigurationError,
    RunCancelledError,
    RunNotFoundError,
    RunNotWaitingError,
)
from timestep.cli import main
from timestep.durable import (
    approve,
    cancel_run,
    fork_run,
    list_runs,
    resume,
    run_durable,
    shutdown,
    worker,
)
from timestep.durable._runtime import RUNTIME
from timestep.runs import run_detail
from timestep.state import RunStateStore


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield f"sqlite:///{tmp_path_factory.mktemp('control') / 'runs.db'}"
    shutdown()


@pytest.fixture
async def store(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunStateStore]:
    monkeypatch.setenv("TIMESTEP_TEST_LOG", str(tmp_path / "events.jsonl"))
    store = RunStateStore(store_url)
    # migrate before two threads (worker and test) first touch the database at once
    await asyncio.to_thread(store.open)
    task = asyncio.create_task(worker([make_agent()], store=store, poll_interval=0.2))
    for _ in range(300):  # this process runs durable work as a worker: launch it first
        if RUNTIME.launched_on(store_url):
            break
        await asyncio.sleep(0.1)
    yield store
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def _log(tmp_path: Path) -> list[dict[str, Any]]:
    return read_log(str(tmp_path / "events.jsonl"))


model_calls: list[int] = []


@function_tool
async def slow(seconds: float) -> str:
    """Wait a while."""
    await asyncio.sleep(seconds)
    return "waited"


def _slow_respond(call: ModelCall) -> Any:
    model_calls.append(1)
    return [function_call("slow", {"seconds": 1.5}, call_id=f"s{len(model_calls)}")]


async def test_timeout_cancels_the_segment(store: RunStateStore) -> None:
    model_calls.clear()
    model = ScriptedModel([ModelStep.respond(_slow_respond) for _ in range(5)])
    agent = Agent(name="sleeper", model=model, tools=[slow])
    with pytest.raises(RunCancelledError):
        await run_durable(agent, "wait", run_id="ctl-timeout", store=store, timeout=0.5)
    assert model_calls == [1]  # stopped at the first step boundary after the deadline
    summary = {r.run_id: r for r in await list_runs(store=store)}["ctl-timeout"]
    assert summary.status == "cancelled"  # recorded, though it never reached a save
    assert "exceeded its timeout (0.5 s)" in summary.metadata["error"]
    assert (await store.load("ctl-timeout", agent))._original_input == "wait"


async def test_cancelling_a_running_first_segment_records_the_run(store: RunStateStore) -> None:
    model_calls.clear()
    model = ScriptedModel([ModelStep.respond(_slow_respond) for _ in range(5)])
    agent = Agent(name="sleeper", model=model, tools=[slow])
    task = asyncio.create_task(run_durable(agent, "wait", run_id="ctl-cancel", store=store))
    while not model_calls:  # the first model step ran; the slow tool is in flight
        await asyncio.sleep(0.05)
    running = {r.run_id: r for r in await list_runs(store=store)}["ctl-cancel"]
    assert (running.status, running.latest_version, running.agent_name) == (
        "running",
        0,
        "sleeper",
    )
    assert await cancel_run("ctl-cancel", store=store, by="ops") is True
    with pytest.raises(RunCancelledError, match=r"'ctl-cancel' was cancelled$"):
        await task
    summary = {r.run_id: r for r in await list_runs(store=store)}["ctl-cancel"]
    assert (summary.status, summary.latest_version) == ("cancelled", 0)
    assert summary.metadata["error"] == "run 'ctl-cancel' was cancelled by ops"
    assert summary.metadata["cancelled_by"] == "ops"
    assert summary.metadata["cancelled_at"] >= running.created_at
    assert (await store.load("ctl-cancel", agent))._original_input == "wait"
    assert model_calls == [1]


async def test_list_and_cancel_a_waiting_run(
    store: RunStateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMESTEP_TEST_SCENARIO", "approval")
    import test_durable_app

    monkeypatch.setattr(test_durable_app, "SCENARIO", "approval")
    result = await run_durable(make_agent(), "refund", run_id="ctl-wait", store=store)
    assert result.interruptions
    waiting = [r.run_id for r in await list_runs(store=store, status="waiting")]
    assert "ctl-wait" in waiting
    await cancel_run("ctl-wait", store=store)
    statuses = {r.run_id: r.status for r in await list_runs(store=store)}
    assert statuses["ctl-wait"] == "cancelled"
    with pytest.raises(RunNotWaitingError):
        await approve("ctl-wait", store=store)


async def test_fork_from_step_replays_earlier_steps(
    store: RunStateStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = await run_durable(make_agent(), "pay", run_id="ctl-src", store=store)
    assert result.final_output == "charged 3 times"
    # steps: 1 model, 2 tool call_0, 3 model, 4 tool call_1, 5 model, 6 tool call_2, 7 model
    new_id = await fork_run("ctl-src", "ctl-fork", from_step=5, store=store)
    assert new_id == "ctl-fork@0"
    for _ in range(300):
        if any(r.run_id == "ctl-fork" and r.status == "done" for r in await list_runs(store=store)):
            break
        await asyncio.sleep(0.1)
    stored = await store.get("ctl-fork")
    # version 1: the fork stored at once (a copy of where it starts), version 2: its end
    assert stored.status == "done" and stored.version == 2
    lineage = {"run_id": "ctl-src", "segment": "ctl-src@0", "step": 5}
    assert (await store.run("ctl-fork")).metadata["forked_from"] == lineage
    assert (await run_detail(store, "ctl-fork"))["forked_from"] == lineage
    code = await asyncio.to_thread(main, ["runs", "show", "ctl-fork", "--db", store.target])
    assert code == 0
    assert "forked from: ctl-src at step 5 (ctl-src@0)" in " ".join(capsys.readouterr().out.split())
    events = _log(tmp_path)
    fork_models = Counter(
        e["turn"] for e in events if e["kind"] == "model" and e["run"] == "ctl-fork"
    )
    fork_tools = [e["call_id"] for e in events if e["kind"] == "tool" and e["run"] == "ctl-fork"]
    assert fork_models == Counter({2: 1, 3: 1})  # steps before 5 came from the checkpoint
    assert fork_tools == ["call_2"]
    src_keys = {e["key"] for e in events if e["kind"] == "tool" and e["run"] == "ctl-src"}
    fork_keys = {e["key"] for e in events if e["kind"] == "tool" and e["run"] == "ctl-fork"}
    assert not src_keys & fork_keys  # a fork is a new run: new idempotency keys


class QuotaError(RuntimeError):
    """A provider's out-of-quota error."""


async def test_fork_retries_a_failed_run_from_its_failing_step(store: RunStateStore) -> None:
    pings: list[str] = []
    failures = ["quota exceeded"]

    @function_tool
    async def ping() -> str:
        """Ping (a side effect that must not repeat)."""
        pings.append("ping")
        return "pong"

    def flaky(call: ModelCall) -> Any:
        items = call.input if isinstance(call.input, list) else []
        if not any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items):
            return [function_call("ping", {}, call_id="p1")]
        if failures:
            raise QuotaError(failures.pop())
        return [assistant_message("pong received")]

    model = ScriptedModel([ModelStep.respond(flaky) for _ in range(4)])
    agent = Agent(name="flaky", model=model, tools=[ping])
    with pytest.raises(QuotaError):
        await run_durable(agent, "ping once", run_id="ctl-flaky", store=store)
    failed = {r.run_id: r for r in await list_runs(store=store)}["ctl-flaky"]
    assert (failed.status, failed.metadata["error"]) == ("failed", "QuotaError: quota exceeded")
    # steps: 1 model, 2 tool p1, 3 model (failed): retry from step 3 under a new run id
    await fork_run("ctl-flaky", "ctl-flaky-retry", from_step=3, store=store)
    for _ in range(300):
        runs = {r.run_id: r.status for r in await list_runs(store=store)}
        if runs.get("ctl-flaky-retry") == "done":
            break
        await asyncio.sleep(0.1)
    stored = await store.get("ctl-flaky-retry")
    assert stored.status == "done"
    assert pings == ["ping"]  # the tool's recorded output was replayed, not run again
    assert "pong received" in json.dumps(stored.state_json)


async def test_fork_beyond_the_runs_steps_is_a_typed_error(store: RunStateStore) -> None:
    result = await run_durable(make_agent(), "pay", run_id="ctl-short", store=store)
    assert result.final_output == "charged 3 times"
    with pytest.raises(ConfigurationError, match="no step 9 to fork at"):
        await fork_run("ctl-short", "ctl-short-fork", from_step=9, store=store)
    with pytest.raises(RunNotFoundError):
        await store.run("ctl-short-fork")  # nothing was created
    assert not RUNTIME.client(store.target).list_workflows(workflow_id_prefix="ctl-short-fork@")


async def test_forking_before_an_approved_call_needs_an_explicit_choice(
    store: RunStateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(test_durable_app, "SCENARIO", "approval")
    paused = await run_durable(make_agent(), "refund", run_id="ctl-appr", store=store)
    assert paused.interruptions
    await approve("ctl-appr", store=store)
    done = await resume("ctl-appr", store=store, agent=make_agent())
    assert done is not None and done.final_output == "refund handled"
    steps = RUNTIME.client(store.target).list_workflow_steps("ctl-appr@1")
    (tool_step,) = [s["function_id"] for s in steps if s["function_name"] == "timestep.tool:refund"]
    with pytest.raises(ConfigurationError, match="approved tool calls again"):
        await fork_run("ctl-appr", "ctl-appr-fork", from_step=tool_step, store=store)
    with pytest.raises(RunNotFoundError):
        await store.run("ctl-appr-fork")
    # after the approved call: nothing approved runs again, no choice needed
    await fork_run("ctl-appr", "ctl-appr-late", from_step=tool_step + 1, store=store)
    # the explicit choice: the approved refund runs again under the new run
    await fork_run(
        "ctl-appr", "ctl-appr-again", from_step=tool_step, store=store, rerun_approved=True
    )
    for _ in range(300):
        runs = {r.run_id: r.status for r in await list_runs(store=store)}
        if runs.get("ctl-appr-again") == "done" and runs.get("ctl-appr-late") == "done":
            break
        await asyncio.sleep(0.1)
    assert runs.get("ctl-appr-again") == "done" and runs.get("ctl-appr-late") == "done"
    refunds = [e["run"] for e in _log(tmp_path) if e["kind"] == "tool"]
    assert refunds == ["ctl-appr", "ctl-appr-again"]
