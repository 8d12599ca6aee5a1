"""TypeScript's ``attachStream`` side by side with Python's ``attach_stream``: Node processes
(ts/test/attach-driver.ts) follow and replay Python-streamed and TypeScript-streamed runs, wait
while a run's process is dead, rebuild the final text across abandoned attempts, and raise the
same errors, on SQLite and Postgres stores.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from agents import Agent
from agents.testing import ScriptedModel, assistant_message
from test_durable_crash import APP, Harness
from test_durable_stream import _WordModel
from test_durable_ts import DRIVER as TS_DRIVER
from test_durable_ts import Driver as TsDriver

from harness.node import built_node
from timestep.durable import attach_stream, run_durable, stream_text
from timestep.runs import final_output
from timestep.state import RunStateStore

pytestmark = pytest.mark.slow

TS = Path(__file__).resolve().parents[2] / "ts"
ATTACH = TS / "dist-test" / "test" / "attach-driver.js"


@pytest.fixture(scope="module")
def node() -> str:
    built_node(TS_DRIVER)
    return built_node(ATTACH)


def attach(node: str, store_url: str, run_id: str, *args: str) -> subprocess.Popen[str]:
    """Start a Node reader of ``run_id`` (it prints one JSON line when its reading ends)."""
    env = {k: v for k, v in os.environ.items() if k != "TIMESTEP_TS_DBOS_URL"}
    return subprocess.Popen(
        [node, str(ATTACH), store_url, run_id, *args],
        cwd=TS,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result(proc: subprocess.Popen[str], timeout: float = 120) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


async def python_log(store_url: str, run_id: str) -> list[dict[str, Any]]:
    async with RunStateStore(store_url) as store:
        return [e async for e in attach_stream(run_id, store=store, timeout=30)]


async def test_python_streamed_run_is_followed_from_typescript_across_a_kill(
    node: str, tmp_path: Path
) -> None:
    """A Python run killed mid-answer: a TS reader waits while the run is dead, then follows
    the worker's retry, and rebuilds exactly the final output (the cut-off attempt taken back)."""
    h = Harness(tmp_path, scenario="retry_text")
    try:
        killed = subprocess.run(
            [sys.executable, APP, "run", h.store_url, "py-retry", "--stream"],
            env=h.env("delta:4"),
            capture_output=True,
            timeout=120,
        )
        assert killed.returncode == -signal.SIGKILL
        reader = attach(node, h.store_url, "py-retry")
        await asyncio.sleep(3)
        assert reader.poll() is None  # the segment is PENDING: the reader waits for a worker
        h.start_worker()
        seen = await asyncio.to_thread(result, reader)
        assert seen["error"] is None
        async with RunStateStore(h.store_url) as store:
            final = final_output((await store.get("py-retry")).state_json or {})
        assert seen["text"] == final != ""
        assert [a[2] for a in seen["abandoned"]] == [1]
        assert [c["kind"] for c in seen["changes"]].count("retract") == 1
        # the same events, ids and payloads as Python's reader
        assert seen["events"] == await python_log(h.store_url, "py-retry")
        assert seen["events"][-1]["type"] == "segment_end"
    finally:
        h.stop()


async def test_typescript_streamed_run_is_followed_from_typescript_across_a_kill(
    node: str, store_url: str, tmp_path: Path, pglite_dir: Path
) -> None:
    driver = TsDriver(node, store_url, tmp_path / "calls.log", pglite_dir)
    code, _ = driver.run("start", "ts-follow", crash="delta", stream=True)
    assert code == -9
    reader = attach(node, store_url, "ts-follow")
    await asyncio.sleep(3)
    # dead: on SQLite its segments are in TypeScript's PGlite and its row is `running`
    assert reader.poll() is None
    code, facts = await asyncio.to_thread(
        driver.run, "recover", "ts-follow", crash="delta", stream=True
    )
    assert (code, facts["status"]) == (0, "done")
    seen = await asyncio.to_thread(result, reader)
    assert seen["error"] is None
    assert seen["text"] == facts["finalOutput"] == "retried: done after 1 tool result(s)"
    assert [a[2] for a in seen["abandoned"]] == [1]
    assert seen["events"] == await python_log(store_url, "ts-follow")
    # re-attached from a cursor in the middle: the rest of the log, the same text in total
    middle = seen["events"][len(seen["events"]) // 2]["id"]
    tail = await asyncio.to_thread(result, attach(node, store_url, "ts-follow", str(middle)))
    assert [e["id"] for e in tail["events"]] == [
        e["id"] for e in seen["events"] if e["id"] > middle
    ]
    head = [e for e in seen["events"] if e["id"] <= middle]
    assert stream_text(head + tail["events"]) == seen["text"]


async def test_python_streamed_run_replayed_from_typescript_and_the_errors(
    node: str, store_url: str
) -> None:
    store = RunStateStore(store_url)
    try:
        agent = Agent(name="talker", model=_WordModel("streamed from Python to Node"))
        streamed = await run_durable(agent, "hi", run_id="py-s", store=store, stream=True)
        async for _event in streamed.stream_events():  # type: ignore[union-attr]
            pass
        quiet = Agent(name="quiet", model=ScriptedModel([[assistant_message("done quietly")]]))
        await run_durable(quiet, "hi", run_id="py-quiet", store=store)
    finally:
        await store.close()
    seen = await asyncio.to_thread(result, attach(node, store_url, "py-s"))
    assert seen["error"] is None
    assert seen["text"] == "streamed from Python to Node "
    assert seen["events"] == await python_log(store_url, "py-s")
    started = time.monotonic()
    unknown = await asyncio.to_thread(result, attach(node, store_url, "py-unknown"))
    assert unknown["error"]["name"] == "RunNotFoundError"
    assert unknown["error"]["is"] == ["RunNotFoundError", "TimestepError"]
    assert "py-unknown" in unknown["error"]["message"]
    quiet_seen = await asyncio.to_thread(result, attach(node, store_url, "py-quiet"))
    assert quiet_seen["error"]["name"] == "RunNotStreamedError"
    assert quiet_seen["error"]["is"] == ["RunNotStreamedError", "TimestepError"]
    assert time.monotonic() - started < 60  # at once (two Node start-ups on a loaded machine)
