"""Run control across languages, side by side: Python's cancel_run / fork_run / recorded_steps and
TypeScript's cancelRun / forkRun / recordedSteps / enqueueRun / prepareSystemDatabase, on SQLite
(each language its own system database) and on a throwaway Postgres (one shared system database).

The Node half is ``ts/test/control-driver.ts``; the in-process TypeScript cases are in
``ts/test/control.test.ts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, function_tool
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call

from harness.node import built_node
from harness.ts_durable import ts_env
from timestep._errors import ConfigurationError, RunCancelledError
from timestep.durable import (
    cancel_run,
    fork_run,
    recorded_steps,
    run_durable,
    system_database_url,
    worker,
)
from timestep.state import RunStateStore, display_url
from vectors.scenarios import refund_call, support_agent

pytestmark = pytest.mark.slow

TS = Path(__file__).resolve().parents[2] / "ts"
DRIVER = TS / "dist-test" / "test" / "control-driver.js"


@pytest.fixture(scope="module")
def node() -> str:
    return built_node(DRIVER)


class Driver:
    def __init__(self, node: str, store_url: str, pglite_dir: Path) -> None:
        self.node, self.store_url = node, store_url
        self.env = ts_env(store_url, pglite_dir)

    def args(self, action: str, run_id: str, *extra: str) -> list[str]:
        return [self.node, str(DRIVER), action, self.store_url, run_id, *extra]

    def run(self, action: str, run_id: str, *extra: str) -> dict[str, Any]:
        done = subprocess.run(
            self.args(action, run_id, *extra),
            cwd=TS,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def start(self, action: str, run_id: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.args(action, run_id), cwd=TS, env=self.env, stdout=subprocess.PIPE, text=True
        )


@pytest.fixture
def driver(node: str, store_url: str, pglite_dir: Path) -> Driver:
    return Driver(node, store_url, pglite_dir)


def _refund(call: ModelCall) -> Any:
    items = call.input if isinstance(call.input, list) else []
    if any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items):
        return [assistant_message("refunded")]
    return [refund_call("call_1")]


# thread events: each parametrized test runs on its own event loop, which an asyncio.Event binds to
tool_started = threading.Event()
# set by the test once it cancelled the run: the tool returns early and the cancelled segment
# stops at its next step, as it would after the full wait
tool_released = threading.Event()


@function_tool
async def slow_py(seconds: float) -> str:
    """Wait ``seconds``, or until the test releases the tool."""
    tool_started.set()
    for _ in range(int(seconds * 10)):
        if tool_released.is_set():
            break
        await asyncio.sleep(0.1)
    return "waited"


def _slow(call: ModelCall) -> Any:
    items = call.input if isinstance(call.input, list) else []
    if any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items):
        return [assistant_message("done")]
    return [function_call("slow_py", {"seconds": 60}, call_id="s1")]


def _agent(name: str, respond: Any, tools: list[Any]) -> Agent[Any]:
    model = ScriptedModel([ModelStep.respond(respond) for _ in range(6)])
    return Agent(name=name, model=model, tools=tools)


# every real call of the Python `charger` agent, as the Node driver logs its own
python_calls: list[str] = []


@function_tool
def charge() -> str:
    """Charge."""
    python_calls.append("tool charge")
    return "charged"


def _charge(call: ModelCall) -> Any:
    items = call.input if isinstance(call.input, list) else []
    results = sum(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items)
    python_calls.append(f"model {results}")
    if results:
        return [assistant_message("done after 1")]
    return [function_call("charge", {}, call_id="call_1")]


async def test_waiting_runs_are_cancelled_alike_from_either_language(
    driver: Driver, store_url: str
) -> None:
    store = RunStateStore(store_url)
    # two Python runs paused for approval: one cancelled by Python, one by TypeScript
    for run_id in ("w-py", "w-ts"):
        agent = support_agent(ScriptedModel([ModelStep.respond(_refund) for _ in range(4)]))
        result = await run_durable(agent, "Refund order 42", run_id=run_id, store=store)
        assert result.interruptions
    assert await cancel_run("w-py", store=store, by="ops") is False
    assert driver.run("cancel", "w-ts", "ops") == {"stopped": False}
    rows = {r: (await store.run(r)) for r in ("w-py", "w-ts")}
    for run_id, row in rows.items():
        assert row.status == "cancelled"
        assert row.metadata["error"] == f"run '{run_id}' was cancelled by ops"
        assert row.metadata["cancelled_by"] == "ops"
    assert sorted(rows["w-py"].metadata) == sorted(rows["w-ts"].metadata)
    # an unknown run: the same typed error in both languages
    assert driver.run("cancel", "nobody")["error"] == "RunNotFoundError"


async def test_cancelling_a_run_running_in_typescript(
    driver: Driver, store_url: str, tmp_path: Path
) -> None:
    store = RunStateStore(store_url)
    release = tmp_path / "release"  # the driver's tool waits until it exists (or 60 s)
    driver.env["TIMESTEP_TEST_RELEASE"] = str(release)
    proc = driver.start("slow", "r-ts")
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline()) == {"tool": "slow"}
        if store_url.startswith("sqlite"):
            # Python cannot reach TypeScript's PGlite: a typed error naming TypeScript's API
            with pytest.raises(ConfigurationError, match=r"running in TypeScript.*cancelRun"):
                await cancel_run("r-ts", store=store, by="ops")
            assert (await store.run("r-ts")).status == "running"
            return
        assert await cancel_run("r-ts", store=store, by="ops") is True
        release.touch()
        out, _ = proc.communicate(timeout=120)
        outcome = json.loads(out.strip().splitlines()[-1])
        assert outcome["error"] == "RunCancelledError"
        assert outcome["message"] == "run 'r-ts' was cancelled"
        row = await store.run("r-ts")
        assert (row.status, row.metadata["error"]) == (
            "cancelled",
            "run 'r-ts' was cancelled by ops",
        )
    finally:
        proc.kill()
        proc.wait(timeout=30)


async def test_cancelling_a_run_running_in_python(driver: Driver, store_url: str) -> None:
    store = RunStateStore(store_url)
    tool_started.clear()
    tool_released.clear()
    agent = _agent("sleeper-py", _slow, [slow_py])
    task = asyncio.create_task(run_durable(agent, "wait", run_id="r-py", store=store))
    assert await asyncio.to_thread(tool_started.wait, 120), "the tool did not start"
    outcome = await asyncio.to_thread(driver.run, "cancel", "r-py", "ops")
    if store_url.startswith("sqlite"):
        assert outcome["error"] == "ConfigurationError"
        assert "running in Python" in outcome["message"]
        assert "Python's cancel_run" in outcome["message"]
        assert (await store.run("r-py")).status == "running"
        assert await cancel_run("r-py", store=store) is True
    else:
        assert outcome == {"stopped": True}
    tool_released.set()
    with pytest.raises(RunCancelledError):
        await task
    row = await store.run("r-py")
    assert row.status == "cancelled"
    if store_url.startswith("postgres"):
        assert row.metadata["error"] == "run 'r-py' was cancelled by ops"


async def test_fork_refuses_the_other_languages_run_and_steps_read_alike(
    driver: Driver, store_url: str
) -> None:
    store = RunStateStore(store_url)
    assert driver.run("charge", "f-ts") == {"finalOutput": "done after 1"}
    result = await run_durable(
        _agent("charger", _charge, [charge]), "go", run_id="f-py", store=store
    )
    assert result.final_output == "done after 1"

    with pytest.raises(ConfigurationError, match=r"ran in TypeScript.*forkRun"):
        await fork_run("f-ts", "f-ts-2", from_step=1, store=store)
    refused = driver.run("fork", "f-py", "f-py-2", "1")
    assert refused["error"] == "ConfigurationError"
    assert "ran in Python" in refused["message"] and "Python's fork_run" in refused["message"]
    for new in ("f-ts-2", "f-py-2"):
        assert new not in {r.run_id for r in await store.list_runs()}

    names = [
        "timestep.model.get_response",
        "timestep.tool:charge",
        "timestep.model.get_response",
    ]
    # both languages number a segment's steps from 1, whichever engine recorded it (DBOS
    # TypeScript's own ids start at 0, Python DBOS's at 1)
    ts_steps = driver.run("steps", "f-ts")["steps"]
    assert [(s["segment"], s["stepId"], s["name"]) for s in ts_steps] == [
        ("f-ts@0", i + 1, name) for i, name in enumerate(names)
    ]
    assert all(s["error"] is None and s["durationMs"] >= 0 for s in ts_steps)
    py_steps = await recorded_steps("f-py", store=store)
    assert [(s.segment, s.step_id, s.name) for s in py_steps] == [
        ("f-py@0", i + 1, name) for i, name in enumerate(names)
    ]
    if store_url.startswith("postgres"):  # one system database: each reads the other's steps
        assert [
            (s.segment, s.step_id, s.name) for s in await recorded_steps("f-ts", store=store)
        ] == [(s["segment"], s["stepId"], s["name"]) for s in ts_steps]
        from_ts = driver.run("steps", "f-py")["steps"]
        assert [(s["segment"], s["stepId"], s["name"]) for s in from_ts] == [
            (s.segment, s.step_id, s.name) for s in py_steps
        ]
    else:  # each language's own system database
        assert await recorded_steps("f-ts", store=store) == []
        assert driver.run("steps", "f-py") == {"steps": []}


async def test_typescript_enqueue_fork_and_prepare(driver: Driver, store_url: str) -> None:
    store = RunStateStore(store_url)
    queued = driver.run("enqueue", "q-ts")
    if store_url.startswith("postgres"):
        plain = system_database_url(store_url).replace("+psycopg", "")
        assert queued["url"] == plain
        assert queued["prepared"] == display_url(plain)  # password hidden, as Python's
    else:
        assert queued["prepared"] == queued["url"] == driver.env["TIMESTEP_TS_DBOS_URL"]
    assert driver.run("worker", "q-ts") == {"status": "done"}
    row = await store.run("q-ts")
    assert (row.agent_name, row.metadata["durable_language"]) == ("charger", "typescript")

    # from the second model call: step 3 (1 model, 2 tool, 3 model, 4 save), as in Python
    forked = driver.run("fork", "q-ts", "q-ts-2", "3")
    assert forked == {"workflowId": "q-ts-2@0"}
    lineage = {"run_id": "q-ts", "segment": "q-ts@0", "step": 3}
    assert (await store.run("q-ts-2")).metadata["forked_from"] == lineage
    assert driver.run("worker", "q-ts-2") == {"status": "done"}
    assert (await store.get("q-ts-2")).version == 2


async def test_fork_at_step_n_runs_the_same_calls_again_in_both_languages(
    driver: Driver, store_url: str, tmp_path: Path
) -> None:
    """The same run recorded by each language's engine, forked at the same step number from each
    language: both forks replay the steps before it and run the same calls again, and both
    languages list the forks' steps with the same numbers (from 1)."""
    log = tmp_path / "ts-calls.log"
    driver.env["TIMESTEP_TEST_LOG"] = str(log)
    store = RunStateStore(store_url)
    ready = asyncio.Event()  # Python's worker (it runs the Python fork) launches first
    task = asyncio.create_task(
        worker(
            [_agent("charger", _charge, [charge])],
            store=store,
            poll_interval=0.2,
            on_ready=ready.set,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 120)
        python_calls.clear()
        result = await run_durable(
            _agent("charger", _charge, [charge]), "go", run_id="n-py", store=store
        )
        assert result.final_output == "done after 1"
        assert python_calls == ["model 0", "tool charge", "model 1"]
        assert driver.run("charge", "n-ts") == {"finalOutput": "done after 1"}
        assert log.read_text().splitlines() == ["n-ts model 0", "n-ts tool charge", "n-ts model 1"]

        # step 2 is the tool call in both: 1 model, 2 tool charge, 3 model (4: the fork's base)
        python_calls.clear()
        assert await fork_run("n-py", "n-py-2", from_step=2, store=store) == "n-py-2@0"
        for _ in range(600):
            if (await store.run("n-py-2")).status == "done":
                break
            await asyncio.sleep(0.1)
        assert driver.run("fork", "n-ts", "n-ts-2", "2") == {"workflowId": "n-ts-2@0"}
        assert driver.run("worker", "n-ts-2") == {"status": "done"}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    ts_calls = [
        line.split(" ", 1)[1] for line in log.read_text().splitlines() if line.startswith("n-ts-2 ")
    ]
    assert python_calls == ts_calls == ["tool charge", "model 1"]
    for run_id in ("n-py-2", "n-ts-2"):
        row = await store.run(run_id)
        assert (row.status, row.metadata["forked_from"]["step"]) == ("done", 2)
    names = [
        (1, "timestep.model.get_response"),
        (2, "timestep.tool:charge"),
        (3, "timestep.model.get_response"),
        (4, "timestep.fork.base"),
    ]
    assert [(s.step_id, s.name) for s in await recorded_steps("n-py-2", store=store)] == names
    ts_steps = driver.run("steps", "n-ts-2")["steps"]
    assert [(s["stepId"], s["name"]) for s in ts_steps] == names
