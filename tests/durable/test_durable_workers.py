"""Scale-out: two worker processes on one Postgres drain 50 queued runs, each exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from timestep.durable import enqueue_run, list_activity
from timestep.state import RunStateStore

pytestmark = pytest.mark.slow

APP = str(Path(__file__).with_name("test_durable_app.py"))
RUNS = 50


async def test_two_workers_drain_fifty_runs_exactly_once(
    postgres_db_url: str, tmp_path: Path
) -> None:
    from test_durable_app import read_log

    log = str(tmp_path / "events.jsonl")
    store = RunStateStore(postgres_db_url)
    assert await store.list_runs() == []  # creates timestep's tables before the workers start
    env = dict(os.environ, TIMESTEP_TEST_LOG=log, TIMESTEP_TEST_TURNS="3")
    env.pop("TIMESTEP_CRASH", None)
    workers = [
        subprocess.Popen(
            [sys.executable, APP, "worker", postgres_db_url, name, "8"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("w1", "w2")
    ]
    try:
        deadline = time.monotonic() + 120
        while sum(e["kind"] == "worker_started" for e in read_log(log)) < 2:
            assert time.monotonic() < deadline, "workers did not start"
            await asyncio.sleep(0.2)
        # Both have launched DBOS (their heartbeat rows are written after it) before any run is
        # queued: on a loaded machine the first one could otherwise drain all 50 alone.
        while True:
            try:
                executors, _segments = await list_activity(store=store)
            except sa.exc.SQLAlchemyError:  # DBOS's tables are still being created
                executors = []
            if {e.executor_id for e in executors if e.worker and e.alive} >= {"w1", "w2"}:
                break
            assert time.monotonic() < deadline, f"workers did not launch: {executors}"
            await asyncio.sleep(0.2)
        for n in range(RUNS):
            for attempt in range(100):  # the first worker may still be creating DBOS's tables
                try:
                    await enqueue_run("payer", "pay", run_id=f"q-{n}", store=store)
                    break
                except sa.exc.SQLAlchemyError:
                    if attempt == 99:
                        raise
                    await asyncio.sleep(0.3)
        deadline = time.monotonic() + 240
        while True:
            done = [r for r in await store.list_runs() if r.status == "done"]
            if len(done) == RUNS:
                break
            assert time.monotonic() < deadline, f"only {len(done)} of {RUNS} runs finished"
            await asyncio.sleep(0.5)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

    events = read_log(log)
    models = Counter((e["run"], e["turn"]) for e in events if e["kind"] == "model")
    tools = Counter((e["run"], e["call_id"]) for e in events if e["kind"] == "tool")
    assert set(models.values()) == {1} and len(models) == RUNS * 4  # no model step ran twice
    assert set(tools.values()) == {1} and len(tools) == RUNS * 3  # no tool ran twice
    pids_per_run = {run: {e["pid"] for e in events if e.get("run") == run} for run, _t in models}
    assert all(len(pids) == 1 for pids in pids_per_run.values())  # one worker per segment
    assert len({e["pid"] for e in events if e["kind"] == "model"}) == 2  # both workers took work
    assert all(  # the first row (the run's start) and one final save each
        v == [0, 1]
        for v in [[s.version for s in await store.versions(f"q-{n}")] for n in range(RUNS)]
    )
