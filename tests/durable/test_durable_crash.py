"""Crash recovery with real processes killed by SIGKILL at injected points (SQLite system DB).

Each test runs the durable test agent (tests/durable/test_durable_app.py) in a subprocess that
kills itself at one point, then starts a worker process that recovers the run, and checks from the
log of model calls and tool executions that the run finished, that completed steps did not run
again, and that an in-flight tool ran at most twice with the same idempotency key."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from timestep.durable import answer, approve, fork_run
from timestep.state import RunStateStore

pytestmark = pytest.mark.slow

APP = str(Path(__file__).with_name("test_durable_app.py"))


class Harness:
    """Subprocesses of the test app sharing one store and one log."""

    def __init__(self, tmp: Path, scenario: str = "charges") -> None:
        self.store_url = f"sqlite:///{tmp / 'runs.db'}"
        self.log = str(tmp / "events.jsonl")
        self.scenario = scenario
        self.procs: list[subprocess.Popen[bytes]] = []

    def env(self, crash: str | None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            TIMESTEP_TEST_LOG=self.log,
            TIMESTEP_TEST_SCENARIO=self.scenario,
            TIMESTEP_TEST_TURNS="3",
        )
        env.pop("TIMESTEP_CRASH", None)
        if crash:
            env["TIMESTEP_CRASH"] = crash
        return env

    def run(self, run_id: str, crash: str | None, *extra: str) -> int:
        """Run the agent in a process until it exits; return its exit code."""
        proc = subprocess.run(
            [sys.executable, APP, "run", self.store_url, run_id, *extra],
            env=self.env(crash),
            capture_output=True,
            timeout=120,
        )
        return proc.returncode

    def start_worker(self, crash: str | None = None) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, APP, "worker", self.store_url],
            env=self.env(crash),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def events(self) -> list[dict[str, Any]]:
        from test_durable_app import read_log

        return read_log(self.log)

    async def wait_status(self, run_id: str, status: str, timeout: float = 90) -> None:
        store = RunStateStore(self.store_url)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            runs = {r.run_id: r.status for r in await store.list_runs()}
            last = runs.get(run_id)
            if last == status:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"run {run_id} is {last!r}, expected {status!r}")

    def segment(self, workflow_id: str) -> tuple[str, Any]:
        """A segment's DBOS status and output (read through a DBOS client)."""
        from timestep.durable._runtime import RUNTIME

        [found] = RUNTIME.client(self.store_url).list_workflows(workflow_ids=[workflow_id])
        return str(found.status), found.output

    async def wait_segment(self, workflow_id: str, timeout: float = 90) -> tuple[str, Any]:
        """Wait until a segment is no longer PENDING; its status and output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, output = self.segment(workflow_id)
            if status not in ("PENDING", "ENQUEUED"):
                return status, output
            await asyncio.sleep(0.2)
        raise AssertionError(f"segment {workflow_id} is still PENDING")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.stop()


def _counts(events: list[dict[str, Any]]) -> tuple[Counter[int], Counter[str], dict[str, set[str]]]:
    models: Counter[int] = Counter(e["turn"] for e in events if e["kind"] == "model")
    tools: Counter[str] = Counter(e["call_id"] for e in events if e["kind"] == "tool")
    keys: dict[str, set[str]] = {}
    for e in events:
        if e["kind"] == "tool":
            keys.setdefault(e["call_id"], set()).add(e["key"])
    return models, tools, keys


async def test_kill_before_model_step_commits(harness: Harness) -> None:
    assert harness.run("r-model", "model:1") == -signal.SIGKILL
    harness.start_worker()
    await harness.wait_status("r-model", "done")
    models, tools, _keys = _counts(harness.events())
    assert models == Counter({0: 1, 1: 2, 2: 1, 3: 1})  # only the in-flight model call repeats
    assert tools == Counter({"call_0": 1, "call_1": 1, "call_2": 1})
    assert len({e["pid"] for e in harness.events() if e["kind"] == "model"}) == 2


async def test_kill_after_tool_side_effect_before_checkpoint(harness: Harness) -> None:
    assert harness.run("r-tool", "tool:call_1") == -signal.SIGKILL
    harness.start_worker()
    await harness.wait_status("r-tool", "done")
    models, tools, keys = _counts(harness.events())
    assert models == Counter({0: 1, 1: 1, 2: 1, 3: 1})
    assert tools == Counter({"call_0": 1, "call_1": 2, "call_2": 1})
    assert len(keys["call_1"]) == 1  # both attempts saw the same idempotency key
    assert len(set().union(*keys.values())) == 3


async def test_kill_after_the_final_save_before_the_segment_ended(tmp_path: Path) -> None:
    """SIGKILL after the end-of-segment save committed, before the workflow recorded its end:
    the recovered segment replays, finds its own version and ends with it; no second version."""
    h = Harness(tmp_path, scenario="approval")
    try:
        assert h.run("r-save", "save") == -signal.SIGKILL
        assert h.segment("r-save@0")[0] == "PENDING"
        h.start_worker()
        await h.wait_status("r-save", "waiting")
        store = RunStateStore(h.store_url)
        status, output = await h.wait_segment("r-save@0")
        assert (status, output["version"], output["status"]) == ("SUCCESS", 1, "waiting")
        assert [v.version for v in await store.versions("r-save")] == [0, 1]  # start, waiting
        await approve("r-save", "call_refund", by="alice", store=store)
        await h.wait_status("r-save", "done")
        models, tools, _keys = _counts(h.events())
        assert models == Counter({0: 1, 1: 1})
        assert tools == Counter({"call_refund": 1})
        assert [v.status for v in await store.versions("r-save")] == ["running", "waiting", "done"]
    finally:
        h.stop()


async def test_fork_killed_after_its_final_save_recovers_with_its_own_version(
    tmp_path: Path,
) -> None:
    """A fork's segment killed after its final save committed, before its workflow recorded its
    end: the recovered fork reads the version it extended from its checkpoint, finds its own save
    and writes no second version (it used to read its own save as the base and append again)."""
    h = Harness(tmp_path)
    try:
        assert h.run("r-src", None) == 0
        store = RunStateStore(h.store_url)
        # steps: 1 model, 2 tool call_0, 3 model, 4 tool call_1, 5 model, 6 tool call_2, 7 model
        fork_id = await fork_run("r-src", "r-fork", from_step=5, store=store)
        dying = h.start_worker(crash="save")
        assert await asyncio.to_thread(dying.wait, 90) == -signal.SIGKILL
        assert h.segment(fork_id)[0] == "PENDING"
        saved = await store.versions("r-fork")
        assert [v.status for v in saved][-1] == "done"  # the save committed before the kill
        h.start_worker()  # recovers the dead worker's segment
        status, output = await h.wait_segment(fork_id)
        assert (status, output["status"]) == ("SUCCESS", "done")
        after = await store.versions("r-fork")
        assert [(v.version, v.status) for v in after] == [(v.version, v.status) for v in saved]
        assert output["version"] == after[-1].version
        _models, tools, _keys = _counts([e for e in h.events() if e.get("run") == "r-fork"])
        assert tools == Counter({"call_2": 1})  # the replay ran nothing again
    finally:
        h.stop()


async def test_segment_recovered_after_later_segments_saved_finds_its_own_version(
    tmp_path: Path,
) -> None:
    """Killed after its final save committed; the run was then approved and resumed elsewhere
    (segment @1 saved version 2) before a worker recovered segment @0: the recovered segment
    ends with its own version 1, neither failing on the later version nor writing another."""
    h = Harness(tmp_path, scenario="approval")
    try:
        assert h.run("r-later", "save") == -signal.SIGKILL
        store = RunStateStore(h.store_url)
        await approve("r-later", "call_refund", by="alice", store=store)
        resumed = subprocess.run(
            [sys.executable, APP, "resume", h.store_url, "r-later"],
            env=h.env(None),
            capture_output=True,
            timeout=120,
        )
        assert resumed.returncode == 0, resumed.stderr.decode()
        assert h.segment("r-later@0")[0] == "PENDING"  # its process died; nobody recovered it
        assert (await store.get("r-later")).status == "done"
        h.start_worker()  # recovers the dead process's segment @0
        status, output = await h.wait_segment("r-later@0")
        assert (status, output["version"], output["status"]) == ("SUCCESS", 1, "waiting")
        versions = await store.versions("r-later")
        assert [(v.version, v.status) for v in versions] == [
            (0, "running"),
            (1, "waiting"),
            (2, "done"),
        ]
        assert (await store.run("r-later")).status == "done"
        models, tools, _keys = _counts(h.events())
        assert models == Counter({0: 1, 1: 1})  # the replay asked the model nothing again
        assert tools == Counter({"call_refund": 1})
    finally:
        h.stop()


async def test_kill_while_waiting_for_approval(tmp_path: Path) -> None:
    h = Harness(tmp_path, scenario="approval")
    try:
        assert h.run("r-wait", "waiting") == -signal.SIGKILL
        store = RunStateStore(h.store_url)
        await h.wait_status("r-wait", "waiting", timeout=5)
        decision = await approve("r-wait", by="bob", store=store)
        assert decision.call_id == "call_refund" and decision.all_decided
        h.start_worker()
        await h.wait_status("r-wait", "done")
        models, tools, keys = _counts(h.events())
        assert models == Counter({0: 1, 1: 1})
        assert tools == Counter({"call_refund": 1})
        assert len(keys["call_refund"]) == 1
    finally:
        h.stop()


async def test_edited_approval_and_answer_apply_once_across_a_kill(tmp_path: Path) -> None:
    """A worker killed inside the model call after the decided call (its step recorded), then
    restarted: the edited call ran once, with the edited arguments; the answered call's tool
    never ran; the model got the edited call's output and the answer's text."""
    h = Harness(tmp_path, scenario="approval_echo")
    try:
        store = RunStateStore(h.store_url)
        for run_id in ("r-edit", "r-answer"):
            assert h.run(run_id, "waiting") == -signal.SIGKILL
        for run_id in ("r-edit", "r-answer"):
            if run_id == "r-edit":
                await approve(run_id, arguments={"order": 7}, by="bob", store=store)
            else:
                await answer(run_id, output="refunded by phone", by="bob", store=store)
            first = h.start_worker(crash="model:1")
            assert first.wait(timeout=90) == -signal.SIGKILL
            h.start_worker()
            await h.wait_status(run_id, "done")
            h.stop()
        events = h.events()
        assert [(e["run"], e["order"]) for e in events if e["kind"] == "tool"] == [("r-edit", 7)]
        assert sum(1 for e in events if e["kind"] == "crash") == 4  # 2 while waiting, 2 workers
        texts = {r: json.dumps((await store.get(r)).state_json) for r in ("r-edit", "r-answer")}
        assert "refund handled: refunded 7" in texts["r-edit"]
        assert "refund handled: refunded by phone" in texts["r-answer"]
        assert [d.decision for d in await store.decisions("r-edit")] == ["approve"]
        assert [d.decision for d in await store.decisions("r-answer")] == ["answer"]
    finally:
        h.stop()


async def test_stream_reattach_after_kill(harness: Harness) -> None:
    from timestep.durable import attach_stream

    assert harness.run("r-stream", "tool:call_1", "--stream") == -signal.SIGKILL
    store = RunStateStore(harness.store_url)
    before: list[dict[str, Any]] = []
    with pytest.raises(TimeoutError):  # the process died mid-run: the log stops, no end yet
        async for event in attach_stream("r-stream", store=store, timeout=2):
            before.append(event)
    assert [e["call_id"] for e in before if e["type"] == "tool_output"] == ["call_0"]
    harness.start_worker()
    after = [e async for e in attach_stream("r-stream", store=store, after=before[-1]["id"])]
    assert after[-1]["type"] == "segment_end" and after[-1]["status"] == "done"
    events = before + after
    keys = [e["key"] for e in events]
    assert len(keys) == len(set(keys))  # replayed steps did not duplicate events
    assert [e["call_id"] for e in events if e["type"] == "tool_output"] == [
        "call_0",
        "call_1",
        "call_2",
    ]
    assert sum(1 for k in keys if k.endswith(":completed")) == 4  # one per model step
    models, tools, keys_by_call = _counts(harness.events())
    assert models == Counter({0: 1, 1: 1, 2: 1, 3: 1})  # completed model steps were replayed
    assert tools == Counter({"call_0": 1, "call_1": 2, "call_2": 1})
    assert len(keys_by_call["call_1"]) == 1


def _tool_outputs(doc: Any) -> dict[str, str]:
    """call_id -> output of every function_call_output item anywhere in a state document."""
    found: dict[str, str] = {}
    if isinstance(doc, dict):
        if doc.get("type") == "function_call_output" and isinstance(doc.get("output"), str):
            found[str(doc.get("call_id"))] = doc["output"]
        for value in doc.values():
            found.update(_tool_outputs(value))
    elif isinstance(doc, list):
        for value in doc:
            found.update(_tool_outputs(value))
    return found


async def test_parallel_tools_replay_onto_their_own_calls_after_kill(tmp_path: Path) -> None:
    h = Harness(tmp_path, scenario="parallel")
    try:
        assert h.run("r-par", "tool:call_p1") == -signal.SIGKILL
        h.start_worker()
        await h.wait_status("r-par", "done")
        models, tools, keys = _counts(h.events())
        assert models == Counter({0: 1, 3: 1})
        assert tools["call_p1"] == 2 and tools["call_p0"] in (1, 2) and tools["call_p2"] in (1, 2)
        assert all(len(k) == 1 for k in keys.values())
        stored = await RunStateStore(h.store_url).get("r-par")
        # each call got its own output back, whether recorded before the kill or run again
        assert _tool_outputs(stored.state_json) == {
            "call_p0": "charged 0",
            "call_p1": "charged 1",
            "call_p2": "charged 2",
        }
    finally:
        h.stop()
