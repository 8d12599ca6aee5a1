"""Executor leases of TypeScript processes on a shared Postgres system database: real Node
processes (``ts/test/durable-driver.ts``), one killed with SIGKILL.

Each Node process has its own executor id, so a second process launching does not recover (run
again) a segment another live process is inside; a live TypeScript worker takes over the segment
of a killed process once its lease expires; each language's workers claim only its own
executors' leases.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from harness.node import built_node
from harness.ts_durable import ts_env
from timestep.durable import _takeover

pytestmark = pytest.mark.slow

TS = Path(__file__).resolve().parents[2] / "ts"
DRIVER = TS / "dist-test" / "test" / "durable-driver.js"
HEARTBEAT, LEASE = 0.5, 1.5  # ts_env's short leases


@pytest.fixture(scope="module")
def node() -> str:
    return built_node(DRIVER)


@pytest.fixture
def engine(postgres_db_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sa.make_url(postgres_db_url).set(drivername="postgresql+psycopg"))
    yield engine
    engine.dispose()


def key(run_id: str) -> str:
    return hashlib.sha256(f"{run_id}:call_1".encode()).hexdigest()


class Node:
    """Starts driver processes on one store with a shared log of every model and tool call."""

    def __init__(self, node: str, store_url: str, tmp_path: Path) -> None:
        self.node, self.store_url, self.log = node, store_url, tmp_path / "calls.log"
        self.env = {**ts_env(store_url, tmp_path / "unused"), "TIMESTEP_TEST_LOG": str(self.log)}
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, action: str, run_id: str, **env: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [self.node, str(DRIVER), action, self.store_url, run_id],
            cwd=TS,
            env={**self.env, "TIMESTEP_TEST_TOOL": "charge", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=30)


@pytest.fixture
def nodes(node: str, postgres_db_url: str, tmp_path: Path) -> Iterator[Node]:
    driver = Node(node, postgres_db_url, tmp_path)
    yield driver
    driver.close()


def finished(proc: subprocess.Popen[str], timeout: float = 120) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"node failed ({proc.returncode}):\n{err}"
    return dict(json.loads(out.strip().splitlines()[-1]))


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def leases(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM {_takeover.TABLE} ORDER BY started_at"))
        return [dict(row._mapping) for row in rows]


def segment(engine: sa.Engine, workflow_id: str) -> tuple[Any, ...]:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT status, executor_id, queue_name FROM dbos.workflow_status "
                "WHERE workflow_uuid = :w"
            ),
            {"w": workflow_id},
        ).one()
    return tuple(row)


def test_a_second_process_does_not_run_a_segment_another_process_is_inside(
    nodes: Node, engine: sa.Engine, tmp_path: Path
) -> None:
    hold_a, hold_b = tmp_path / "release-a", tmp_path / "release-b"
    first = nodes.start("start", "held", TIMESTEP_TEST_HOLD=str(hold_a))
    wait_until(lambda: f"tool charge {key('held')}" in nodes.calls(), "the first run's tool")
    before = segment(engine, "held@0")
    assert before[0] == "PENDING"

    # a second process launches DBOS on the same system database; once it is inside a run of
    # its own, its launch (and DBOS's recovery of its executor's segments) is over
    second = nodes.start("start", "other", TIMESTEP_TEST_HOLD=str(hold_b))
    wait_until(lambda: f"tool charge {key('other')}" in nodes.calls(), "the second run's tool")
    # the first process's segment was not recovered by the second (re-queued or run again)
    assert segment(engine, "held@0") == before
    rows = {row["pid"]: row for row in leases(engine)}  # each process holds a lease
    assert set(rows) == {first.pid, second.pid}
    assert {(r["language"], r["worker"]) for r in rows.values()} == {("typescript", False)}
    assert rows[first.pid]["executor_id"] == before[1] != rows[second.pid]["executor_id"]

    hold_a.touch()
    hold_b.touch()
    held, other = finished(first), finished(second)
    assert (held["status"], held["finalOutput"]) == ("done", "done after 1 tool result(s)")
    assert other["status"] == "done"
    assert nodes.calls().count(f"tool charge {key('held')}") == 1
    assert leases(engine) == []  # both stopped cleanly with nothing pending: rows gone


def test_a_live_worker_takes_over_the_segment_of_a_killed_process(
    nodes: Node, engine: sa.Engine
) -> None:
    worker = nodes.start("worker", "killed")  # a TypeScript worker that waits for the run
    wait_until(lambda: any(r["worker"] for r in leases_or_none(engine)), "the worker's lease")
    # a dead Python executor's lease: TypeScript workers leave it to Python's workers
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"INSERT INTO {_takeover.TABLE} (executor_id, heartbeat_at, lease_seconds, host, "
                "pid, language, worker) VALUES ('py-dead', now() - interval '1 minute', 1.5, "
                "'h', 1, 'python', true)"
            )
        )

    killed = nodes.start("start", "killed", TIMESTEP_TEST_CRASH="tool")
    killed.communicate(timeout=120)
    assert killed.returncode == -9
    died = time.monotonic()
    facts = finished(worker)
    took = time.monotonic() - died

    assert facts["status"] == "done"
    # the completed model step is not repeated; the tool killed before its checkpoint runs once
    # more, with the same idempotency key
    assert nodes.calls() == [
        "model 0",
        f"tool charge {key('killed')}",
        f"tool charge {key('killed')}",
        "model 1",
    ]
    assert took < LEASE + HEARTBEAT + 15  # the bound, plus the queue and Node's own work
    # finished by the worker, dequeued from TypeScript's queue
    assert segment(engine, "killed@0") == ("SUCCESS", facts["executor"], "timestep-ts")
    rows = {row["executor_id"]: row for row in leases(engine)}
    assert all(row["pid"] != killed.pid for row in rows.values())  # the dead lease is released
    assert rows["py-dead"]["taken_by"] is None  # never claimed by a TypeScript worker


def leases_or_none(engine: sa.Engine) -> list[dict[str, Any]]:
    try:
        return leases(engine)
    except sa.exc.ProgrammingError:  # the table does not exist yet
        return []
