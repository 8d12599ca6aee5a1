"""Round trips on every store target: run to an interruption, resume in another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from agents import Runner

from harness.refund_agent import REFUND_CALL_ID, build_agent, start_model
from timestep import RunStateStore, consume_result, run_agent

TESTS = Path(__file__).parents[1]


def _resume_elsewhere(target: str, run_id: str, decision: str, stream: bool) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    command = [sys.executable, str(TESTS / "harness" / "resume_run.py"), target, run_id, decision]
    if stream:
        command.append("--stream")
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("decision", "stream"),
    [("approve", False), ("reject", True)],
    ids=["approve-run", "reject-streamed"],
)
async def test_interrupted_run_resumes_in_another_process(
    store_target: str, decision: str, stream: bool
) -> None:
    agent = build_agent(start_model())
    store = RunStateStore(store_target, agent, run_id="ticket-42")
    result = await consume_result(await run_agent(agent, "Refund order 42", stream=stream))
    assert [i.raw_item.call_id for i in result.interruptions] == [REFUND_CALL_ID]  # type: ignore[union-attr]

    saved = await store.save(result)
    assert (saved.version, saved.status) == (1, "waiting")
    [pending] = saved.pending_approvals
    assert (pending.tool_name, pending.call_id) == ("refund", REFUND_CALL_ID)
    assert json.loads(pending.arguments) == {"order_id": "42", "amount": 25}

    outcome = _resume_elsewhere(store_target, "ticket-42", decision, stream)

    expected = (
        "final: refunded $25 on order 42"
        if decision == "approve"
        else "final: refund refused by a human"
    )
    assert outcome == {"final_output": expected, "version": 2, "status": "done"}
    [summary] = await store.list_runs()
    assert (summary.run_id, summary.status, summary.latest_version) == ("ticket-42", "done", 2)
    assert summary.pending_approvals == []
    final = await store.get("ticket-42")
    assert final.language == "python" and final.schema_version == "1.21"
    assert final.state_json is not None and final.state_json["current_step"] is None


async def test_seed_call_shapes_on_a_json_file(tmp_path: Path) -> None:
    """``RunStateStore("state.json", agent)`` with ``save(state)`` / ``load()``, as in the seed."""
    agent = build_agent(start_model())
    result = await Runner.run(agent, "Refund order 42")
    store = RunStateStore(tmp_path / "state.json", agent)
    await store.save(result.to_state())
    state = await store.load()
    assert [i.tool_name for i in state.get_interruptions()] == ["refund"]


async def test_bare_sdk_state_file_is_readable(tmp_path: Path) -> None:
    """A file holding the SDK's own ``to_string()`` output loads as version 1."""
    agent = build_agent(start_model())
    result = await Runner.run(agent, "Refund order 42")
    path = tmp_path / "sdk.json"
    path.write_text(result.to_state().to_string())
    store = RunStateStore(path, agent)
    state = await store.load()
    assert state.get_interruptions()[0].tool_name == "refund"
    [version] = await store.versions()
    assert (version.version, version.status) == (1, "waiting")
