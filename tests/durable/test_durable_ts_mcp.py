"""MCP tool calls in durable TypeScript runs: checkpointed steps with Python's names, idempotency
keys in the request's ``_meta``, recorded tool listings reused on replay, real SIGKILL.

The Node half is ``ts/test/mcp-driver.ts``; its agent uses the real MCP server of the Python tests
(tests/harness/mcp_counter.py, over stdio), which logs every execution of ``add`` with the key it
received, so executions are counted across processes.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_durable_app import read_log

from harness.node import built_node
from harness.ts_durable import ts_env

pytestmark = pytest.mark.slow

TS = Path(__file__).resolve().parents[2] / "ts"
DRIVER = TS / "dist-test" / "test" / "mcp-driver.js"


@pytest.fixture(scope="module")
def node() -> str:
    return built_node(DRIVER)


class Driver:
    """Runs the Node MCP driver; counts model calls and MCP executions."""

    def __init__(self, node: str, store_url: str, tmp: Path, pglite_dir: Path) -> None:
        self.node, self.store_url = node, store_url
        self.calls, self.mcp_log = tmp / "calls.log", tmp / "mcp.jsonl"
        self.env = {
            **ts_env(store_url, pglite_dir, "TIMESTEP_MCP_RENAMED"),
            "TIMESTEP_TEST_LOG": str(self.calls),
            "TIMESTEP_MCP_LOG": str(self.mcp_log),
            "TIMESTEP_PYTHON": sys.executable,
        }

    def run(
        self, action: str, run_id: str, crash: str = "", renamed: bool = False
    ) -> tuple[int, dict[str, Any]]:
        env = {**self.env, "TIMESTEP_TEST_CRASH": crash}
        if renamed:
            env["TIMESTEP_MCP_RENAMED"] = "1"
        args = [self.node, str(DRIVER), action, self.store_url, run_id]
        done = subprocess.run(args, cwd=TS, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode not in (0, -9):
            raise AssertionError(f"node {action} failed ({done.returncode}):\n{done.stderr}")
        lines = done.stdout.strip().splitlines()
        return done.returncode, (json.loads(lines[-1]) if done.returncode == 0 else {})

    def models(self) -> list[str]:
        lines = self.calls.read_text().splitlines() if self.calls.exists() else []
        return [line for line in lines if line.startswith("model ")]

    def tool_lists(self) -> list[str]:
        lines = self.calls.read_text().splitlines() if self.calls.exists() else []
        return [line for line in lines if line.startswith("tools ")]

    def executions(self) -> list[dict[str, Any]]:
        return read_log(str(self.mcp_log))


@pytest.fixture
def driver(node: str, store_url: str, tmp_path: Path, pglite_dir: Path) -> Driver:
    return Driver(node, store_url, tmp_path, pglite_dir)


def key(run_id: str, call_id: str = "call_mcp") -> str:
    return hashlib.sha256(f"{run_id}:{call_id}".encode()).hexdigest()


def test_mcp_call_is_a_json_step_with_python_names_and_the_key_in_meta(driver: Driver) -> None:
    code, facts = driver.run("start", "ts-mcp")
    assert (code, facts["status"]) == (0, "done")
    assert [name for name, _output in facts["steps"]] == [
        "timestep.mcp.list:counter",  # each turn's tool list is checkpointed: a replay sees it
        "timestep.model.get_response",
        "timestep.mcp:add",
        "timestep.mcp.list:counter",
        "timestep.model.get_response",
    ]
    [listed] = facts["steps"][0][1]
    assert listed["name"] == "add"
    assert set(listed["inputSchema"]["properties"]) == {"a", "b"}
    assert facts["steps"][2][1] == {"json": {"type": "text", "text": "5"}}  # Python's shape
    [execution] = driver.executions()
    assert execution["key"] == key("ts-mcp")  # the run's key (Python's formula), in _meta


def test_replay_after_the_server_renamed_its_tool_uses_the_recorded_listing(
    driver: Driver,
) -> None:
    # killed inside the model call that follows the checkpointed MCP step
    code, _ = driver.run("start", "ts-mcp-renamed", crash="model:1")
    assert code == -9
    assert len(driver.executions()) == 1
    # the server is upgraded before the recovery: it lists `add_v2`, not `add`; the replay builds
    # the agent's tools from the checkpointed listing, so the recorded call of `add` resolves
    # (listed live, the replayed turn would fail with "tool add not found")
    code, facts = driver.run("recover", "ts-mcp-renamed", crash="model:1", renamed=True)
    assert (code, facts["status"]) == (0, "done")
    assert '"text":"5"' in facts["finalOutput"]  # the recorded MCP output reached the model
    assert len(driver.executions()) == 1  # the MCP step replayed from its checkpoint
    assert driver.models() == ["model 0", "model 1"]  # the killed model call ran again once
    # both turns' listings were checkpointed before the kill (turn 2 lists before its model
    # call): the recovered run saw `add` both times, though the live server lists `add_v2`
    assert driver.tool_lists() == ["tools add", "tools add"]
    listings = [out for name, out in facts["steps"] if name == "timestep.mcp.list:counter"]
    assert [[t["name"] for t in listing] for listing in listings] == [["add"], ["add"]]


def test_in_flight_mcp_call_repeats_at_most_once_with_the_same_key(driver: Driver) -> None:
    # killed after the MCP server ran the call, before the step's checkpoint
    code, _ = driver.run("start", "ts-mcp-flight", crash="tool")
    assert code == -9
    code, facts = driver.run("recover", "ts-mcp-flight", crash="tool")
    assert (code, facts["status"]) == (0, "done")
    executions = driver.executions()
    assert len(executions) == 2  # in flight when killed: ran again on recovery...
    assert {e["key"] for e in executions} == {key("ts-mcp-flight")}  # ...with the same key
    assert driver.models() == ["model 0", "model 1"]  # the checkpointed model call is not re-run
