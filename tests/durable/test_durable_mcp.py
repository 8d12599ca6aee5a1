"""MCP tool calls in durable runs: checkpointed JSON steps, idempotency keys, no repeat on recovery.

Uses a real MCP server over stdio (tests/harness/mcp_counter.py) that logs each execution of its
``add`` tool to a file, so the tests count executions across processes.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from agents import Agent
from agents.testing import ScriptedModel, assistant_message, function_call
from test_durable_app import mcp_counter, read_log
from test_durable_crash import Harness, _counts

from timestep.durable import _names, idempotency_key, run_durable, shutdown, system_database_url
from timestep.durable._steps import current_segment
from timestep.state import RunStateStore


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    shutdown()
    yield f"sqlite:///{tmp_path_factory.mktemp('mcp') / 'runs.db'}"
    shutdown()


@pytest.fixture
async def counter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    monkeypatch.setenv("TIMESTEP_MCP_LOG", str(tmp_path / "mcp.jsonl"))
    server = mcp_counter()
    await server.connect()
    yield server
    await server.cleanup()


def _steps(store_url: str, workflow_id: str) -> list[tuple[str, str | None]]:
    engine = sa.create_engine(system_database_url(store_url))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT function_name, output FROM operation_outputs "
                "WHERE workflow_uuid = :w ORDER BY function_id"
            ),
            {"w": workflow_id},
        ).all()
    engine.dispose()
    return [(str(r[0]), r[1]) for r in rows]


def _outputs_of(doc: Any, call_id: str) -> list[Any]:
    """Outputs of every function_call_output item for ``call_id`` anywhere in a state document."""
    if isinstance(doc, dict):
        found = [doc.get("output")] if doc.get("type") == "function_call_output" else []
        found = found if doc.get("call_id") == call_id else []
        return found + [o for v in doc.values() for o in _outputs_of(v, call_id)]
    if isinstance(doc, list):
        return [o for v in doc for o in _outputs_of(v, call_id)]
    return []


def test_mcp_step_name_is_pinned() -> None:
    assert _names.mcp_step("add") == "timestep.mcp:add"
    assert _names.mcp_list_step("counter") == "timestep.mcp.list:counter"
    assert _names.MCP_IDEMPOTENCY_META_KEY == "timestep/idempotency-key"


async def test_mcp_call_is_a_json_step_with_an_idempotency_key(
    store_url: str, counter: Any, tmp_path: Path
) -> None:
    model = ScriptedModel(
        [
            [function_call("add", {"a": 2, "b": 3}, call_id="m1")],
            [assistant_message("five")],
        ]
    )
    agent = Agent(name="mcp-user", model=model, mcp_servers=[counter])
    store = RunStateStore(store_url)
    result = await run_durable(agent, "add", run_id="run-mcp", store=store)
    assert result.final_output == "five"
    steps = _steps(store_url, _names.segment_id("run-mcp", 0))
    assert [name for name, _out in steps] == [
        "timestep.mcp.list:counter",  # each turn's tool list is checkpointed: a replay sees it
        "timestep.model.get_response",
        "timestep.mcp:add",
        "timestep.mcp.list:counter",
        "timestep.model.get_response",
    ]
    [listed] = json.loads(steps[0][1] or "")
    assert listed["name"] == "add"
    assert set(listed["inputSchema"]["properties"]) == {"a", "b"}
    assert json.loads(steps[2][1] or "") == {"json": {"type": "text", "text": "5"}}
    executions = read_log(str(tmp_path / "mcp.jsonl"))
    assert len(executions) == 1
    token = current_segment.set(None)
    try:
        outside = idempotency_key("m1")
    finally:
        current_segment.reset(token)
    assert executions[0]["key"] not in (None, outside)  # the run's key, sent in _meta
    assert len(executions[0]["key"]) == 64
    # the user's server object is untouched: outside a durable run it gets no key
    await counter.call_tool("add", {"a": 1, "b": 1})
    assert read_log(str(tmp_path / "mcp.jsonl"))[1]["key"] is None


@pytest.mark.slow
async def test_mcp_call_is_not_repeated_after_a_kill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mcp_log = str(tmp_path / "mcp.jsonl")
    monkeypatch.setenv("TIMESTEP_MCP_LOG", mcp_log)
    h = Harness(tmp_path, scenario="mcp")
    try:
        # killed inside the model call that follows the checkpointed MCP step
        assert h.run("r-mcp", "model:1") == -signal.SIGKILL
        assert len(read_log(mcp_log)) == 1
        # the server is upgraded before the recovery: it now lists `add_v2`, not `add`; the
        # replay builds the agent's tools from the checkpointed lists, so the recorded call of
        # `add` still resolves (listed live, the replay would fail with "tool add not found")
        monkeypatch.setenv("TIMESTEP_MCP_RENAMED", "1")
        h.start_worker()
        await h.wait_status("r-mcp", "done")
        models, _tools, _keys = _counts(h.events())
        assert models == Counter({0: 1, 1: 2})
        executions = read_log(mcp_log)
        assert len(executions) == 1  # recovery replayed the MCP step from its checkpoint
        stored = await RunStateStore(h.store_url).get("r-mcp")
        assert stored.status == "done"
        outputs = _outputs_of(stored.state_json, "call_mcp")
        assert outputs and all("5" in json.dumps(o) for o in outputs)  # the recorded output
    finally:
        h.stop()


@pytest.mark.slow
async def test_in_flight_mcp_call_repeats_at_most_once_with_the_same_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mcp_log = str(tmp_path / "mcp.jsonl")
    monkeypatch.setenv("TIMESTEP_MCP_LOG", mcp_log)
    h = Harness(tmp_path, scenario="mcp")
    try:
        # killed after the MCP server ran the call, before the step's checkpoint
        assert h.run("r-mcp-flight", "tool:call_mcp") == -signal.SIGKILL
        h.start_worker()
        await h.wait_status("r-mcp-flight", "done")
        models, _tools, _keys = _counts(h.events())
        assert models == Counter({0: 1, 1: 1})
        executions = read_log(mcp_log)
        assert len(executions) == 2  # in flight when killed: ran again on recovery...
        keys = {e["key"] for e in executions}
        assert len(keys) == 1 and None not in keys  # ...with the same idempotency key
    finally:
        h.stop()
