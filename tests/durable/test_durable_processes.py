"""``timestep worker --processes N``: N worker processes (one executor each) drain one queue."""

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

from timestep.cli._processes import child_args
from timestep.durable import enqueue_run, list_activity
from timestep.state import RunStateStore

RUNS = 20
TESTS = str(Path(__file__).parents[1])


def test_child_arguments_name_each_executor() -> None:
    args = child_args(
        ["app:agent", "app:other"],
        index=2,
        concurrency=4,
        executor_id="w",
        lease=10.0,
        heartbeat=2.0,
    )
    assert args == [
        "worker",
        "--agent",
        "app:agent",
        "--agent",
        "app:other",
        "--concurrency",
        "4",
        "--executor-id",
        "w-2",
        "--lease",
        "10.0",
        "--heartbeat",
        "2.0",
    ]
    assert child_args(
        ["a:b"], index=1, concurrency=None, executor_id=None, lease=None, heartbeat=None
    ) == ["worker", "--agent", "a:b"]


@pytest.mark.slow
async def test_two_worker_processes_drain_the_queue_on_postgres(
    postgres_db_url: str, tmp_path: Path
) -> None:
    from test_durable_app import read_log

    log = str(tmp_path / "events.jsonl")
    store = RunStateStore(postgres_db_url)
    assert await store.list_runs() == []
    env = dict(
        os.environ,
        TIMESTEP_TEST_LOG=log,
        TIMESTEP_TEST_TURNS="3",
        # each run holds its worker ~0.3 s: one worker (4 at a time) cannot drain the queue
        # between the other's polls, however fast the steps are
        TIMESTEP_TEST_TOOL_SLEEP="0.1",
        PYTHONPATH=os.pathsep.join(
            [TESTS, str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
        ),
    )
    env.pop("TIMESTEP_CRASH", None)
    parent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "timestep.cli",
            "--db",
            postgres_db_url,
            "worker",
            "--agent",
            "test_durable_app:make_agent",
            "--processes",
            "2",
            "--concurrency",
            "4",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Both children poll the queue before their heartbeat row is written: enqueue once both
        # rows are there, or one child may drain all the runs while the other is starting.
        deadline = time.monotonic() + 120
        while True:
            try:
                executors, _segments = await list_activity(store=store)
            except sa.exc.SQLAlchemyError:  # the workers may still be creating the tables
                executors = []
            live = {e.pid for e in executors if e.worker and e.alive and e.pid != parent.pid}
            if len(live) >= 2:
                break
            assert parent.poll() is None, f"the worker command exited ({parent.returncode})"
            assert time.monotonic() < deadline, f"the worker processes did not start ({live})"
            await asyncio.sleep(0.2)
        for n in range(RUNS):
            for attempt in range(200):  # the workers may still be creating DBOS's tables
                try:
                    await enqueue_run("payer", "pay", run_id=f"p-{n}", store=store)
                    break
                except sa.exc.SQLAlchemyError:
                    if attempt == 199:
                        raise
                    await asyncio.sleep(0.3)
        deadline = time.monotonic() + 240
        while len(await store.list_runs(status="done")) < RUNS:
            assert parent.poll() is None, f"the worker command exited ({parent.returncode})"
            assert time.monotonic() < deadline, "the runs did not finish"
            await asyncio.sleep(0.3)
    finally:
        parent.send_signal(signal.SIGTERM)
        code = parent.wait(timeout=30)
    assert code == 0  # stopped on request, children included

    events = read_log(log)
    models = Counter((e["run"], e["turn"]) for e in events if e["kind"] == "model")
    assert set(models.values()) == {1} and len(models) == RUNS * 4  # each step ran once
    pids = {e["pid"] for e in events if e["kind"] == "model"}
    assert len(pids) == 2 and parent.pid not in pids  # both child processes took runs
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # and both were stopped with the command
