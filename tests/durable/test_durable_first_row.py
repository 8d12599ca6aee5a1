"""A durable run has a row from its first step: listed, shown, cancelled and forked while its first
segment runs, or after the process running it was killed there (real processes, SIGKILL)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_durable_crash import Harness

from harness.cli_support import Cli, reset_durable
from timestep.state import RunStateStore

pytestmark = pytest.mark.slow


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    reset_durable()
    h = Harness(tmp_path)
    yield h
    h.stop()
    reset_durable()


def _dbos_status(store_url: str, workflow_id: str) -> str:
    path = store_url.removeprefix("sqlite:///").removesuffix(".db") + ".dbos.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return str(
                conn.execute(
                    sa.text("SELECT status FROM workflow_status WHERE workflow_uuid = :w"),
                    {"w": workflow_id},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_run_killed_in_its_first_segment_is_listed_shown_and_cancelled(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    # dies inside its second model call: one model step and one tool step are recorded
    assert harness.run("r-dead", "model:1") == -signal.SIGKILL
    cli = Cli(harness.store_url, capsys)

    listed = {run["run_id"]: run for run in cli.json("runs", "list")}
    assert (listed["r-dead"]["status"], listed["r-dead"]["agent_name"]) == ("running", "payer")
    detail = cli.json("runs", "show", "r-dead")
    assert detail["status"] == "running"
    assert [v["version"] for v in detail["versions"]] == [0]
    assert [s["name"] for s in detail["durable_steps"]] == [
        "timestep.model.get_response",
        "timestep.tool:charge",
    ]
    start = asyncio.run(RunStateStore(harness.store_url).get("r-dead"))
    assert start.state_json is not None and start.state_json["original_input"] == "pay"

    code, out, err = cli("cancel", "r-dead", "--by", "alice")
    assert code == 0, err
    assert "cancelled run r-dead" in out
    assert "only the run's status changed" not in err  # its PENDING segment was stopped
    summary = {r.run_id: r for r in asyncio.run(RunStateStore(harness.store_url).list_runs())}[
        "r-dead"
    ]
    assert summary.status == "cancelled"
    assert summary.metadata["cancelled_by"] == "alice"
    assert summary.metadata["error"] == "run 'r-dead' was cancelled by alice"
    assert summary.metadata["cancelled_at"] > summary.created_at
    assert _dbos_status(harness.store_url, "r-dead@0") == "CANCELLED"  # no worker revives it
    code, _out, err = cli("cancel", "r-dead")
    assert code == 1 and "already cancelled" in err


def test_the_inbox_lists_and_cancels_a_run_killed_in_its_first_segment(
    harness: Harness,
) -> None:
    from starlette.testclient import TestClient

    from timestep.server import create_app

    assert harness.run("r-inbox", "tool:call_0") == -signal.SIGKILL
    token = "bob-token-0123456789"
    store = RunStateStore(harness.store_url)
    with TestClient(create_app(store, users={"bob": token})) as client:
        auth = {"Authorization": f"Bearer {token}"}
        runs = {r["run_id"]: r for r in client.get("/api/runs", headers=auth).json()["runs"]}
        assert runs["r-inbox"]["status"] == "running"
        page = client.get("/api/runs/r-inbox", headers=auth).json()
        assert (page["status"], page["latest_version"]) == ("running", 0)
        cancelled = client.post("/api/runs/r-inbox/cancel", headers=auth)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["stopped"] is True
    summary = {r.run_id: r for r in asyncio.run(store.list_runs())}["r-inbox"]
    assert (summary.status, summary.metadata["cancelled_by"]) == ("cancelled", "bob")
    assert summary.metadata["error"] == "run 'r-inbox' was cancelled by bob"
    assert _dbos_status(harness.store_url, "r-inbox@0") == "CANCELLED"


def test_run_killed_in_its_first_segment_can_be_forked(
    harness: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    assert harness.run("r-src", "model:2") == -signal.SIGKILL
    cli = Cli(harness.store_url, capsys)
    # steps: 1 model, 2 tool call_0, 3 model, 4 tool call_1, (5 model: the process died in it)
    code, out, err = cli("fork", "r-src", "--at", "3", "--new-run-id", "r-fork")
    assert code == 0, err
    assert "as r-fork" in out
    harness.start_worker()  # runs the fork, and recovers the dead process's own segment
    asyncio.run(harness.wait_status("r-fork", "done"))
    asyncio.run(harness.wait_status("r-src", "done"))
    events = harness.events()
    fork_models = Counter(
        e["turn"] for e in events if e["kind"] == "model" and e["run"] == "r-fork"
    )
    fork_tools = [e["call_id"] for e in events if e["kind"] == "tool" and e["run"] == "r-fork"]
    assert fork_models == Counter({1: 1, 2: 1, 3: 1})  # step 1 replayed from the checkpoint
    assert fork_tools == ["call_1", "call_2"]
    store = RunStateStore(harness.store_url)
    assert [v.status for v in asyncio.run(store.versions("r-fork"))] == ["running", "done"]
