"""Durable TypeScript runs, driven from here: real Node processes killed with SIGKILL, and runs
that cross languages durably (paused in one language, resumed by the other's durable engine).

The Node half is ``ts/test/durable-driver.ts``. On a SQLite store the TypeScript system database is
an embedded PGlite; the tests share one PGlite directory (``TIMESTEP_TS_DBOS_URL``) because
creating one takes 15-30 s. On Postgres both languages share the test's database.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message

from harness.node import built_node
from harness.ts_durable import ts_env
from timestep.cli import main
from timestep.durable import (
    StreamText,
    answer,
    approve,
    attach_stream,
    recorded_steps,
    resume,
    run_durable,
)
from timestep.state import RunStateStore, open_session
from vectors.scenarios import REFUND_EXECUTIONS, refund_call, support_agent

pytestmark = pytest.mark.slow

TS = Path(__file__).resolve().parents[2] / "ts"
DRIVER = TS / "dist-test" / "test" / "durable-driver.js"


@pytest.fixture(scope="module")
def node() -> str:
    return built_node(DRIVER)


class Driver:
    """Runs the Node driver with a log of every real model and tool call."""

    def __init__(self, node: str, store_url: str, log: Path, pglite_dir: Path) -> None:
        self.node, self.store_url, self.log = node, store_url, log
        self.env = {**ts_env(store_url, pglite_dir), "TIMESTEP_TEST_LOG": str(log)}

    def run(
        self,
        action: str,
        run_id: str,
        *extra: str,
        crash: str = "",
        tool: str = "charge",
        stream: bool = False,
        session: str = "",
        env_extra: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        env = {**self.env, "TIMESTEP_TEST_CRASH": crash, "TIMESTEP_TEST_TOOL": tool}
        env.update(env_extra or {})
        env["TIMESTEP_TEST_STREAM"] = "1" if stream else "0"
        env["TIMESTEP_TEST_SESSION"] = session
        args = [self.node, str(DRIVER), action, self.store_url, run_id, *extra]
        done = subprocess.run(args, cwd=TS, env=env, capture_output=True, text=True, timeout=240)
        lines = done.stdout.strip().splitlines()
        if done.returncode not in (0, -9):
            raise AssertionError(f"node {action} failed ({done.returncode}):\n{done.stderr}")
        return done.returncode, (json.loads(lines[-1]) if lines and done.returncode == 0 else {})

    def start_killed_while_waiting(self, run_id: str) -> dict[str, Any]:
        """Start a refund run, wait for its pause, then SIGKILL the idle process."""
        env = {**self.env, "TIMESTEP_TEST_TOOL": "refund", "TIMESTEP_TEST_CRASH": ""}
        args = [self.node, str(DRIVER), "start", self.store_url, run_id, "waiting"]
        proc = subprocess.Popen(args, cwd=TS, env=env, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        proc.kill()
        proc.wait(timeout=30)
        assert proc.returncode == -9
        return dict(json.loads(line))

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def driver(node: str, store_url: str, tmp_path: Path, pglite_dir: Path) -> Driver:
    return Driver(node, store_url, tmp_path / "calls.log", pglite_dir)


def key(run_id: str, call_id: str = "call_1") -> str:
    return hashlib.sha256(f"{run_id}:{call_id}".encode()).hexdigest()


def test_killed_mid_tool_repeats_the_tool_once_with_the_same_key(driver: Driver) -> None:
    code, _ = driver.run("start", "mid-tool", crash="tool")
    assert code == -9
    assert driver.calls() == ["model 0", f"tool charge {key('mid-tool')}"]

    code, facts = driver.run("recover", "mid-tool")
    assert code == 0
    assert (facts["status"], facts["version"], facts["language"]) == ("done", 1, "typescript")
    # the completed model step is not re-run; the tool (killed before its checkpoint) runs
    # exactly once more, with the same idempotency key
    assert driver.calls() == [
        "model 0",
        f"tool charge {key('mid-tool')}",
        f"tool charge {key('mid-tool')}",
        "model 1",
    ]


def test_streamed_run_finishes_and_recovers_from_a_kill_mid_tool(driver: Driver) -> None:
    code, facts = driver.run("start", "streamed", stream=True)
    assert code == 0
    assert (facts["stream"], facts["finalOutput"]) == (True, "done after 1 tool result(s)")
    assert (facts["status"], facts["version"]) == ("done", 1)
    assert driver.calls() == ["model 0", f"tool charge {key('streamed')}", "model 1"]

    code, _ = driver.run("start", "streamed-kill", crash="tool", stream=True)
    assert code == -9
    code, facts = driver.run("recover", "streamed-kill")
    assert facts["status"] == "done"
    assert driver.calls()[3:] == [
        "model 0",
        f"tool charge {key('streamed-kill')}",
        f"tool charge {key('streamed-kill')}",
        "model 1",
    ]


async def test_ts_run_killed_in_its_first_segment_is_listed_running(
    driver: Driver, store_url: str
) -> None:
    """The first TS segment stores version 0 (`running`) before any step, as Python's does."""
    code, _ = driver.run("start", "first-row", crash="tool")
    assert code == -9
    store = RunStateStore(store_url)
    try:
        rows = {r.run_id: r for r in await store.list_runs()}
        row = rows["first-row"]
        assert (row.status, row.latest_version, row.language) == ("running", 0, "typescript")
        assert row.metadata["durable_agent"] == "biller"
    finally:
        await store.close()
    code, facts = driver.run("recover", "first-row")
    assert (code, facts["status"], facts["version"]) == (0, "done", 1)


async def _read_log(store_url: str, run_id: str, after: int = 0) -> list[dict[str, Any]]:
    store = RunStateStore(store_url)
    try:
        return [e async for e in attach_stream(run_id, store=store, after=after, timeout=30)]
    finally:
        await store.close()


def _text(events: list[dict[str, Any]]) -> str:
    reader = StreamText()
    for event in events:
        reader.add(event)
    return reader.text


async def test_ts_stream_log_is_read_by_python(driver: Driver, store_url: str) -> None:
    """A streamed TS run writes the durable stream log Python's reader replays (on SQLite in
    Python's system database file beside the store, on Postgres in the shared database)."""
    code, facts = driver.run("start", "ts-log", stream=True)
    assert (code, facts["finalOutput"]) == (0, "done after 1 tool result(s)")
    events = await _read_log(store_url, "ts-log")
    assert [e["type"] for e in events if e["type"] != "model_event"] == [
        "attempt_started",
        "tool_output",
        "attempt_started",
        "segment_end",
    ]
    assert events[-1]["status"] == "done" and events[-1]["segment"] == "ts-log@0"
    first = events[0]
    assert (first["key"], first["attempt"]) == ("m1.1:start", 1)
    # the model steps are numbered as in a Python segment (model 1, tool 2, model 3)
    assert [e["step"] for e in events if e["type"] == "attempt_started"] == [1, 3]
    tool = next(e for e in events if e["type"] == "tool_output")
    assert (tool["call_id"], tool["output"]) == ("call_1", {"text": "charged 42"})
    assert _text(events) == facts["finalOutput"]
    deltas = [e for e in events if e.get("event", {}).get("type") == "response.output_text.delta"]
    assert len(deltas) == len(facts["finalOutput"].split(" "))


async def test_ts_retry_after_a_kill_mid_delta_is_rebuilt_by_python(
    driver: Driver, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Killed two deltas into its answer, the TS run's retry writes other text: the log marks
    the first attempt abandoned and Python's StreamText rebuilds exactly the final output. While
    the run is dead a reader waits (it does not end) on SQLite too, where TypeScript's segments
    live in its own PGlite."""
    code, _ = driver.run("start", "ts-delta", crash="delta", stream=True)
    assert code == -9
    cut = await _read_log_until_idle(store_url, "ts-delta")
    assert _text(cut) == "an abandoned"  # what a live reader had seen at the crash
    code, facts = driver.run("recover", "ts-delta", crash="delta")  # fires once: not again
    assert (code, facts["status"]) == (0, "done")
    final = facts["finalOutput"]
    assert final == "retried: done after 1 tool result(s)"
    events = await _read_log(store_url, "ts-delta")
    assert _text(events) == final
    step = cut[-1]["step"]
    kinds = [(e["type"], e.get("attempt")) for e in events if e.get("step") == step]
    first_retry = kinds.index(("attempt_started", 2))
    assert kinds[first_retry - 1] == ("attempt_abandoned", 1)
    # re-attached from a cursor after the dead attempt's deltas: the same final text
    after = cut[-1]["id"]
    tail = await _read_log(store_url, "ts-delta", after=after)
    reader = StreamText()
    for event in cut + tail:
        reader.add(event)
    assert reader.text == final
    assert [a for _s, _i, a in reader.abandoned] == [1]
    # `timestep runs stream` replays the TS run: the cut-off attempt flagged, the answer ends it
    code, out, err = await asyncio.to_thread(_cli, capsys, store_url, "runs", "stream", "ts-delta")
    assert code == 0, err
    assert out.splitlines() == ["an abandoned", final]
    assert "attempt 1 was cut off" in err and "[run done]" in err


def _cli(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--db", db, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def _read_log_until_idle(store_url: str, run_id: str) -> list[dict[str, Any]]:
    """The events logged so far of a run whose process died (the reader would wait for more)."""
    store = RunStateStore(store_url)
    seen: list[dict[str, Any]] = []
    try:
        async for event in attach_stream(run_id, store=store, timeout=2):
            seen.append(event)
    except TimeoutError:
        return seen  # the reader waits for the run's recovery
    finally:
        await store.close()
    raise AssertionError(f"the reader ended while the run was dead: {seen}")


async def test_killed_between_steps_repeats_nothing(driver: Driver) -> None:
    code, _ = driver.run("start", "between", crash="between")
    assert code == -9
    assert driver.calls() == ["model 0", f"tool charge {key('between')}"]

    code, facts = driver.run("recover", "between")
    assert code == 0
    assert facts["status"] == "done"
    assert driver.calls() == ["model 0", f"tool charge {key('between')}", "model 1"]

    if driver.store_url.startswith("postgres"):  # Python reads TypeScript's steps (shared DBOS)
        steps = await recorded_steps("between", store=RunStateStore(driver.store_url))
        assert [(s.segment, s.name) for s in steps] == [
            ("between@0", "timestep.model.get_response"),
            ("between@0", "timestep.tool:charge"),
            ("between@0", "timestep.model.get_response"),
        ]


async def test_killed_while_waiting_then_approved_from_python_resumes_once(
    driver: Driver, store_url: str
) -> None:
    facts = driver.start_killed_while_waiting("wait")
    assert (facts["status"], facts["pending"]) == ("waiting", ["call_1"])
    assert facts["metadata"] == {"durable_agent": "support", "durable_language": "typescript"}
    assert driver.calls() == ["model 0", "waiting"]

    # Python (the CLI's and the inbox's code path) lists the TS run and records the decision
    async with RunStateStore(store_url) as store:
        listed = {r.run_id: r.status for r in await store.list_runs()}
        assert listed["wait"] == "waiting"
        decision = await approve("wait", by="alice", store=store)
    assert (decision.call_id, decision.all_decided, decision.resumed) == ("call_1", True, False)

    code, facts = driver.run("worker", "wait", tool="refund")
    assert code == 0
    assert (facts["status"], facts["version"]) == ("done", 2)
    assert driver.calls() == ["model 0", "waiting", f"tool refund {key('wait')}", "model 1"]


def test_approved_with_resume_but_no_agent_is_resumed_by_a_worker(driver: Driver) -> None:
    """`resumeDurable(runId)` without an agent: on Postgres the next segment is queued on
    TypeScript's queue (the run is claimed, so only the queue resumes it); on PGlite a worker's
    poll picks it up."""
    facts = driver.start_killed_while_waiting("queued")
    assert facts["status"] == "waiting"
    code, facts = driver.run("approve", "queued", "queue", tool="refund")
    assert code == 0
    code, facts = driver.run("worker", "queued", tool="refund")
    assert code == 0
    assert (facts["status"], facts["version"]) == ("done", 2)
    assert driver.calls()[-2:] == [f"tool refund {key('queued')}", "model 1"]


async def test_approved_in_typescript_with_resume_and_no_agent_is_finished_by_a_worker(
    driver: Driver, store_url: str
) -> None:
    """`approve(runId, { resume: true })` in a Node process that has no agent hands the run to a
    TypeScript worker (as Python's `approve(..., resume=True)` queues it) and reports `resumed`;
    a `worker()` in another Node process finishes it."""
    facts = driver.start_killed_while_waiting("handed")
    assert facts["status"] == "waiting"
    code, facts = driver.run("approve", "handed", "resume", tool="refund")
    assert code == 0
    assert (facts["decided"], facts["resumed"]) == ("call_1", True)
    # Postgres: claimed and queued on `timestep-ts`; SQLite: left for the worker's poll
    expected = "running" if store_url.startswith("postgres") else "waiting"
    assert (await RunStateStore(store_url).run("handed")).status == expected
    code, facts = driver.run("worker", "handed", tool="refund")
    assert code == 0
    assert (facts["status"], facts["version"]) == ("done", 2)
    assert driver.calls() == ["model 0", "waiting", f"tool refund {key('handed')}", "model 1"]


async def test_python_run_rejected_in_typescript_with_resume_goes_to_a_typescript_worker(
    driver: Driver, store_url: str
) -> None:
    """`reject(runId, { resume: true })` without an agent on a run Python paused: the run is
    handed to TypeScript's workers (recorded as `durable_language: typescript`, so Python's
    workers leave it), and a TypeScript worker finishes it with the rejection."""
    REFUND_EXECUTIONS.clear()
    store = RunStateStore(store_url)
    result = await run_durable(_python_agent(), "Refund order 42", run_id="py-rej", store=store)
    assert [i.name for i in result.interruptions] == ["refund"]
    env = {"TIMESTEP_TEST_DECISION": json.dumps({"reject": "not this one"})}
    code, facts = driver.run("approve", "py-rej", "resume", tool="refund", env_extra=env)
    assert code == 0
    assert (facts["resumed"], facts["metadata"]["durable_language"]) == (True, "typescript")
    # Postgres: claimed and queued on `timestep-ts`; SQLite: waiting for a TypeScript worker's poll
    expected = "running" if store_url.startswith("postgres") else "waiting"
    assert (await store.run("py-rej")).status == expected
    assert "py-rej" not in await store.ready_to_resume()  # not Python's to resume
    code, facts = driver.run("worker", "py-rej", tool="refund")
    assert code == 0
    assert (facts["status"], facts["version"], facts["language"]) == ("done", 2, "typescript")
    assert driver.calls() == ["model 1"]  # the tool did not run
    assert REFUND_EXECUTIONS == []
    (decision,) = await store.decisions("py-rej")
    assert (decision.decision, decision.reason, decision.decided_by) == (
        "reject",
        "not this one",
        "ts-user",
    )


def _texts(items: list[Any]) -> list[str]:
    """The message texts of session items (Python's format), in order."""
    out: list[str] = []
    for item in items:
        content = item.get("content") if isinstance(item, dict) else None
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out.extend(str(c.get("text")) for c in content if isinstance(c, dict))
    return out


@pytest.mark.parametrize("crash", ["session", "between"])
async def test_ts_run_with_a_session_killed_writes_each_item_once_and_python_reads_it(
    driver: Driver, store_url: str, crash: str
) -> None:
    """A durable TS run (`runAgent` with a runId) starts from its session's history and, killed
    after its items were committed (before the write step's checkpoint) or between steps, is
    recovered by another Node process without duplicating any session item; Python's
    `open_session` reads the conversation."""
    run_id, conv = f"sess-{crash}", f"conv-{crash}"
    session = open_session(conv, db=store_url)
    await session.add_items([{"role": "user", "content": "earlier"}])

    code, _ = driver.run("start", run_id, crash=crash, session=conv)
    assert code == -9
    if crash == "session":  # the run had finished and written its 4 new items, then died
        assert driver.calls() == [
            "model 0",
            f"tool charge {key(run_id)}",
            "model 1",
            "session wrote 4",
        ]
    code, facts = driver.run("recover", run_id)
    assert (code, facts["status"], facts["version"]) == (0, "done", 1)
    # completed steps are not re-run: the model and the tool ran once each
    calls = [c for c in driver.calls() if not c.startswith("session")]
    assert calls == ["model 0", f"tool charge {key(run_id)}", "model 1"]
    assert facts["metadata"]["durable_session"]["id"] == conv
    assert facts["metadata"]["durable_session"]["history"] == 1

    items: list[Any] = [dict(i) for i in await session.get_items()]
    assert _texts(items) == ["earlier", "Charge order 42", "done after 1 tool result(s)"]
    kinds = Counter(str(i.get("type", "message")) for i in items)
    assert kinds == Counter({"message": 3, "function_call": 1, "function_call_output": 1})
    assert [i["call_id"] for i in items if i.get("type") == "function_call"] == ["call_1"]
    # the run started from the session's history: its stored state holds the earlier item
    async with RunStateStore(store_url) as store:
        stored = await store.get(run_id)
    assert json.dumps(stored.state_json).count('"earlier"') >= 1


async def test_ts_paused_run_with_a_session_is_finished_by_python_into_the_same_session(
    driver: Driver, store_url: str
) -> None:
    """A TS run with a session pauses for approval; Python resumes it durably (it reopens the
    session recorded in `durable_session`) and appends the run's items once."""
    REFUND_EXECUTIONS.clear()
    session = open_session("conv-handover", db=store_url)
    await session.add_items([{"role": "user", "content": "earlier"}])
    code, facts = driver.run("start", "ts-py-sess", tool="refund", session="conv-handover")
    assert (code, facts["status"]) == (0, "waiting")
    assert facts["metadata"]["durable_session"]["history"] == 1

    store = RunStateStore(store_url)
    await approve("ts-py-sess", store=store)
    done = await resume("ts-py-sess", store=store, agent=_python_agent())
    assert done is not None and done.final_output == "Python finished."
    items: list[Any] = [dict(i) for i in await session.get_items()]
    assert _texts(items) == ["earlier", "Charge order 42", "Python finished."]
    kinds = Counter(str(i.get("type", "message")) for i in items)
    assert kinds == Counter({"message": 3, "function_call": 1, "function_call_output": 1})


def _respond(call: ModelCall) -> Any:
    items = call.input if isinstance(call.input, list) else []
    if any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items):
        return [assistant_message("Python finished.")]
    return [refund_call("call_1")]


def _python_agent() -> Any:
    return support_agent(ScriptedModel([ModelStep.respond(_respond) for _ in range(10)]))


async def test_python_paused_run_is_resumed_durably_by_a_typescript_worker(
    driver: Driver, store_url: str
) -> None:
    REFUND_EXECUTIONS.clear()
    store = RunStateStore(store_url)
    result = await run_durable(_python_agent(), "Refund order 42", run_id="py-ts", store=store)
    assert [i.name for i in result.interruptions] == ["refund"]

    # approved from TypeScript, handing the run to TypeScript's workers
    code, facts = driver.run("approve", "py-ts", "typescript", tool="refund")
    assert code == 0
    assert facts["metadata"]["durable_language"] == "typescript"
    code, facts = driver.run("worker", "py-ts", tool="refund")
    assert code == 0
    assert (facts["status"], facts["version"], facts["language"]) == ("done", 2, "typescript")
    assert driver.calls() == [f"tool refund {key('py-ts')}", "model 1"]
    assert REFUND_EXECUTIONS == []
    stored = await store.get("py-ts")
    assert stored.status == "done"


async def test_typescript_paused_run_is_resumed_durably_by_python(
    driver: Driver, store_url: str
) -> None:
    REFUND_EXECUTIONS.clear()
    code, facts = driver.run("start", "ts-py", tool="refund")
    assert code == 0
    assert (facts["status"], facts["pending"]) == ("waiting", ["call_1"])

    store = RunStateStore(store_url)
    await approve("ts-py", store=store)
    done = await resume("ts-py", store=store, agent=_python_agent())
    assert done is not None and done.final_output == "Python finished."
    assert REFUND_EXECUTIONS == ["42/5"]
    stored = await store.get("ts-py")
    assert (stored.status, stored.version, stored.language) == ("done", 2, "python")
    assert driver.calls() == ["model 0"]


async def test_ts_segment_killed_after_its_final_save_recovers_with_its_own_version(
    driver: Driver, store_url: str
) -> None:
    """SIGKILL after the TypeScript segment's final save committed, before its workflow recorded
    its end; Python then resumes the run (its segment @1 saves version 2) before TypeScript
    recovers segment @0, which ends with its own version 1: no failure on the later version, no
    third version."""
    REFUND_EXECUTIONS.clear()
    code, _ = driver.run("start", "ts-save", tool="refund", crash="save")
    assert code == -9
    store = RunStateStore(store_url)
    assert [(v.version, v.status) for v in await store.versions("ts-save")] == [
        (0, "running"),
        (1, "waiting"),
    ]
    await approve("ts-save", store=store)
    done = await resume("ts-save", store=store, agent=_python_agent())
    assert done is not None and done.final_output == "Python finished."
    code, facts = driver.run("recover", "ts-save", tool="refund")
    assert code == 0
    assert (facts["segmentVersion"], facts["status"], facts["version"]) == (1, "done", 2)
    assert [(v.version, v.status) for v in await store.versions("ts-save")] == [
        (0, "running"),
        (1, "waiting"),
        (2, "done"),
    ]
    assert driver.calls() == ["model 0"]  # the replay asked the model nothing again
    assert REFUND_EXECUTIONS == ["42/5"]


async def test_ts_fork_killed_after_its_final_save_recovers_with_its_own_version(
    driver: Driver, store_url: str
) -> None:
    """A TypeScript fork's segment killed after its final save committed, before its workflow
    recorded its end: the recovered fork reads the version it extended from its checkpoint
    (``timestep.fork.base``), finds its own save and writes no second version."""
    code, facts = driver.run("start", "fsrc")
    assert (code, facts["finalOutput"]) == (0, "done after 1 tool result(s)")
    # steps: 1 model, 2 tool charge, 3 model; a fork at step 3 asks the model once more
    code, facts = driver.run("fork", "fsrc", "fdst", "3")
    assert (code, facts["workflowId"]) == (0, "fdst@0")
    code, _ = driver.run("worker", "fdst", crash="save")
    assert code == -9
    store = RunStateStore(store_url)
    saved = [(v.version, v.status) for v in await store.versions("fdst")]
    assert saved[-1][1] == "done"  # the save committed before the kill
    code, facts = driver.run("recover", "fdst")
    assert (code, facts["segmentVersion"]) == (0, saved[-1][0])
    assert [(v.version, v.status) for v in await store.versions("fdst")] == saved
    # the fork asked the model once; the recovered segment replayed it from the checkpoint
    assert driver.calls() == ["model 0", f"tool charge {key('fsrc')}", "model 1", "model 1"]


async def test_edit_and_answer_decided_in_python_are_applied_by_a_typescript_worker(
    driver: Driver, store_url: str
) -> None:
    echo = {"TIMESTEP_TEST_ECHO": "1"}
    store = RunStateStore(store_url)
    for run_id in ("edit-ts", "answer-ts"):
        code, facts = driver.run("start", run_id, tool="refund", env_extra=echo)
        assert (code, facts["pending"]) == (0, ["call_1"])
    await approve("edit-ts", arguments={"order_id": "42", "amount": 3}, by="alice", store=store)
    await answer("answer-ts", output="refunded by phone", by="alice", store=store)
    for run_id in ("edit-ts", "answer-ts"):
        code, facts = driver.run("worker", run_id, tool="refund", env_extra=echo)
        assert (code, facts["status"], facts["language"]) == (0, "done", "typescript")
    # one worker may resume both runs: their lines interleave
    assert sorted(driver.calls()) == [
        "model 0",
        "model 0",
        "model 1 saw refunded 42 3",
        "model 1 saw refunded by phone",
        f"tool refund {key('edit-ts')} 42/3",
    ]


def _echo(call: ModelCall) -> Any:
    items = call.input if isinstance(call.input, list) else []
    outputs = [i["output"] for i in items if isinstance(i, dict) and "output" in i]
    return [assistant_message(f"saw {outputs[-1]}")] if outputs else [refund_call("call_1")]


async def test_edit_and_answer_decided_in_typescript_are_applied_by_python(
    driver: Driver, store_url: str
) -> None:
    REFUND_EXECUTIONS.clear()
    store = RunStateStore(store_url)
    decisions = {
        "edit-py": {"arguments": {"order_id": "42", "amount": 3}},
        "answer-py": {"output": "refunded by phone"},
    }
    finals = {}
    for run_id, how in decisions.items():
        agent = support_agent(ScriptedModel([ModelStep.respond(_echo) for _ in range(4)]))
        paused = await run_durable(agent, "Refund order 42", run_id=run_id, store=store)
        assert [i.name for i in paused.interruptions] == ["refund"]
        env = {"TIMESTEP_TEST_DECISION": json.dumps(how)}
        code, facts = driver.run("approve", run_id, tool="refund", env_extra=env)
        assert code == 0 and facts["decided"] == "call_1"
        done = await resume(run_id, store=store, agent=agent)
        assert done is not None
        finals[run_id] = done.final_output
    assert finals == {"edit-py": "saw refunded 42 3", "answer-py": "saw refunded by phone"}
    assert REFUND_EXECUTIONS == ["42/3"]
    records = {r: (await store.decisions(r))[0] for r in decisions}
    assert (records["edit-py"].arguments, records["edit-py"].original_arguments) == (
        '{"order_id":"42","amount":3}',
        '{"order_id":"42","amount":5}',
    )
    assert (records["answer-py"].decision, records["answer-py"].decided_by) == ("answer", "ts-user")
