"""``timestep workers``: the live workers, the running runs and the queued segments.

A real worker process (concurrency 1) holds one run inside a tool while a second waits on the
queue; the command shows both runs and the worker (its pid, its heartbeat, alive), then, after the
worker is killed with SIGKILL, shows it dead and its run waiting for a takeover.
The command runs in this process (it only reads the store); the worker is a real process.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.busy_worker import busy_worker
from timestep.cli import main


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


class Workers:
    """``timestep workers`` on one store, run in this process (it only reads the store)."""

    def __init__(self, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.db_url, self.capsys = db_url, capsys

    def __call__(self, *args: str) -> Done:
        self.capsys.readouterr()
        code = main(["--db", self.db_url, "workers", *args])
        captured = self.capsys.readouterr()
        return Done(code, captured.out, captured.err)


@pytest.fixture
def workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Workers:
    monkeypatch.setenv("TIMESTEP_LOG_FILE", str(tmp_path / "cli.log"))
    return Workers(f"sqlite:///{tmp_path / 'ops.db'}", capsys)


def _until(workers: Workers, check: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        done = workers("--json")
        assert done.returncode == 0, done.stderr
        found: dict[str, Any] = json.loads(done.stdout)
        if check(found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.5)


def test_workers_shows_the_worker_its_running_run_and_the_queued_one(
    tmp_path: Path, workers: Workers
) -> None:
    db_url = workers.db_url
    missing = workers()
    assert missing.returncode == 0
    assert f"no workers or runs in {db_url}" in missing.stderr
    assert not (tmp_path / "ops.db").exists()  # reading never creates the store

    with busy_worker(tmp_path, db_url) as worker:
        found = _until(
            workers,
            lambda f: (
                [r["run_id"] for r in f["running"]] == [worker.running]
                and [q["run_id"] for q in f["queued"]] == [worker.queued]
            ),
        )
        (live,) = [w for w in found["workers"] if w["worker"]]
        assert live["pid"] == worker.process.pid
        assert live["alive"] is True and live["language"] == "python"
        assert live["seconds_since_heartbeat"] < live["lease_seconds"]
        assert live["segments"] == 1  # the held run
        (running,) = found["running"]
        assert running["executor_id"] == live["executor_id"]
        assert running["executor_alive"] is True
        assert running["segment"] == f"{worker.running}@0"
        (queued,) = found["queued"]
        assert queued["agent_name"] == "busy" and queued["queue"] == "timestep"
        assert queued["status"] == "queued" and queued["executor_id"] is None

        table = workers()
        assert table.returncode == 0, table.stderr
        flat = " ".join(table.stdout.split())
        assert f"1 live process(es) of 1 known in {db_url}" in flat
        assert f"{live['executor_id']} python worker" in flat
        assert f"{worker.running} busy {worker.running}@0 {live['executor_id']}" in flat
        assert f"{worker.queued}@0 {worker.queued} busy timestep python" in flat

        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
        found = _until(workers, lambda f: not any(w["alive"] for w in f["workers"]))
        assert found["running"][0]["executor_alive"] is False
        table = workers()
        assert "0 live process(es) of 1 known" in table.stdout
        assert "(dead: waiting for a takeover)" in " ".join(table.stdout.split())
