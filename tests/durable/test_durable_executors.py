"""Several processes on one SQLite system database: one executor id per process, and workers
recover the segments of dead processes only (never a live process's segment)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_durable_crash import APP, Harness, _counts

from timestep.durable import system_database_url
from timestep.durable._config import (
    LOCAL_EXECUTOR_PREFIX,
    executor_alive,
    process_executor_id,
)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.stop()


def _executor_of(store_url: str, workflow_id: str) -> str:
    engine = sa.create_engine(system_database_url(store_url))
    with engine.connect() as conn:
        found: object = conn.execute(
            sa.text("SELECT executor_id FROM workflow_status WHERE workflow_uuid = :w"),
            {"w": workflow_id},
        ).scalar_one()
    engine.dispose()
    return str(found)


def test_each_process_has_its_own_executor_id() -> None:
    code = "from timestep.durable._config import process_executor_id; print(process_executor_id())"
    ids = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert len(set(ids)) == 2 and all(i.startswith(LOCAL_EXECUTOR_PREFIX) for i in ids)
    assert not any(executor_alive(i) for i in ids)  # both processes have exited
    assert executor_alive(process_executor_id())
    assert not executor_alive("local")  # the legacy shared id is always recoverable
    assert executor_alive("worker-1")  # user-named executors recover themselves


@pytest.mark.slow
async def test_two_sqlite_workers_recover_a_dead_run_once(harness: Harness) -> None:
    harness.start_worker()
    harness.start_worker()
    assert harness.run("r-two", "tool:call_1") == -signal.SIGKILL
    crashed = {e["pid"] for e in harness.events() if e["kind"] == "crash"}
    await harness.wait_status("r-two", "done")
    models, tools, keys = _counts(harness.events())
    assert tools == Counter({"call_0": 1, "call_1": 2, "call_2": 1})  # recovered by one worker
    assert models == Counter({0: 1, 1: 1, 2: 1, 3: 1})
    assert all(len(k) == 1 for k in keys.values())
    executor = _executor_of(harness.store_url, "r-two@0")
    assert executor.startswith(LOCAL_EXECUTOR_PREFIX)
    assert f"{LOCAL_EXECUTOR_PREFIX}{crashed.pop()}-" not in executor


@pytest.mark.slow
async def test_a_starting_worker_leaves_a_live_segment_alone(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMESTEP_TEST_TOOL_SLEEP", "2")
    runner = subprocess.Popen(
        [sys.executable, APP, "run", harness.store_url, "r-live"],
        env=harness.env(None),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    harness.procs.append(runner)
    deadline = time.monotonic() + 60
    while not any(e["kind"] == "tool" for e in harness.events()):
        assert time.monotonic() < deadline, "the run did not reach its first tool"
        await asyncio.sleep(0.1)
    harness.start_worker()  # starts while the run's segment is live in another process
    assert await asyncio.to_thread(runner.wait, 120) == 0
    await harness.wait_status("r-live", "done")
    models, tools, _keys = _counts(harness.events())
    assert tools == Counter({"call_0": 1, "call_1": 1, "call_2": 1})
    assert models == Counter({0: 1, 1: 1, 2: 1, 3: 1})
    assert {e["pid"] for e in harness.events() if e["kind"] in ("model", "tool")} == {runner.pid}
