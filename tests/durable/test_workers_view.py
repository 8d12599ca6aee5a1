"""The operators' view on Postgres: Python and TypeScript workers, running and queued segments.

A real Python worker (concurrency 1) holds one run while a second waits on the ``timestep`` queue;
a real TypeScript worker (``ts/test/lease-driver.ts``) keeps its heartbeat row in the same table.
``timestep.runs.activity`` shows both workers alive with their pids and languages; a TypeScript
worker that stops cleanly removes its row; a segment on the ``timestep-ts`` queue is shown as a
TypeScript one; a Python worker killed with SIGKILL is shown dead once its lease expires.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from dbos import DBOSClient

from harness.busy_worker import busy_worker
from harness.node import TS, built_node
from timestep.runs import activity
from timestep.state import RunStateStore

DRIVER = TS / "dist-test" / "test" / "lease-driver.js"


async def _until(url: str, check: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    async with RunStateStore(url) as store:
        while True:
            found = await activity(store)
            if check(found):
                return found
            assert time.monotonic() < deadline, found
            await asyncio.sleep(0.3)


def _by_language(found: dict[str, Any], language: str) -> list[dict[str, Any]]:
    return [w for w in found["workers"] if w["language"] == language]


def test_python_and_typescript_workers_and_both_queues(
    postgres_db_url: str, tmp_path: Path
) -> None:
    node = built_node(DRIVER)
    lease = {"TIMESTEP_EXECUTOR_LEASE": "2", "TIMESTEP_EXECUTOR_HEARTBEAT": "0.5"}
    with busy_worker(tmp_path, postgres_db_url, env=lease) as worker:
        ts = subprocess.Popen(
            [node, str(DRIVER), postgres_db_url, "ts-worker-1"],
            cwd=TS, env={**os.environ, **lease}, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            found = asyncio.run(
                _until(
                    postgres_db_url,
                    lambda f: (
                        len(_by_language(f, "typescript")) == 1
                        and [r["run_id"] for r in f["running"]] == [worker.running]
                        and [q["run_id"] for q in f["queued"]] == [worker.queued]
                    ),
                )
            )
            (python,) = [w for w in _by_language(found, "python") if w["worker"]]
            assert python["pid"] == worker.process.pid and python["alive"]
            assert python["segments"] == 1 and python["lease_seconds"] == 2
            (typescript,) = _by_language(found, "typescript")
            assert typescript["executor_id"] == "ts-worker-1"
            assert typescript["pid"] == ts.pid and typescript["alive"] and typescript["worker"]
            assert found["running"][0]["executor_id"] == python["executor_id"]
            assert found["queued"][0]["language"] == "python"
        finally:
            ts.send_signal(signal.SIGTERM)
            assert ts.wait(timeout=60) == 0
        assert ts.stdout is not None and "stopped" in ts.stdout.read()
        found = asyncio.run(_until(postgres_db_url, lambda f: True))
        assert _by_language(found, "typescript") == []  # a clean stop removes its row

        client = DBOSClient(
            system_database_url=postgres_db_url.replace("postgresql:", "postgresql+psycopg:")
        )
        try:
            client.enqueue(
                {"queue_name": "timestep-ts", "workflow_name": "timestep.segment",
                 "workflow_id": "ts-run@0", "app_version": "timestep-ts-durable-1"},
                "ts-run", 0, "{}",
            )  # fmt: skip
        finally:
            client.destroy()
        found = asyncio.run(_until(postgres_db_url, lambda f: len(f["queued"]) == 2))
        ts_segment = next(q for q in found["queued"] if q["run_id"] == "ts-run")
        assert ts_segment["language"] == "typescript" and ts_segment["queue"] == "timestep-ts"

        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
        found = asyncio.run(
            _until(postgres_db_url, lambda f: not any(w["alive"] for w in f["workers"]))
        )
        assert found["running"][0]["executor_alive"] is False
