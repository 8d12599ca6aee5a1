"""Every bad input gets a typed error that names its cause, and nothing stored is overwritten."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, Runner
from agents.mcp import MCPServerStdio

from harness.refund_agent import build_agent, full_model, lookup_order, start_model
from timestep import (
    ConfigurationError,
    CorruptStateError,
    RunFinishedError,
    RunNotFoundError,
    RunStateStore,
    SchemaVersionError,
    StateMismatchError,
    StoreUnavailableError,
    run_agent,
)
from timestep.state._restore import check_against_graph


async def _waiting_doc() -> dict[str, Any]:
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    doc: dict[str, Any] = result.to_state().to_json()
    return doc


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'errors.db'}"


async def test_corrupt_json_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"$schemaVersion": "1.21", "current_agent": ')
    store = RunStateStore(path, build_agent(start_model()))
    with pytest.raises(CorruptStateError, match=r"not valid JSON: .* line 1 column"):
        await store.load()
    with pytest.raises(CorruptStateError):
        await store.save_json("state", await _waiting_doc())
    assert path.read_text() == '{"$schemaVersion": "1.21", "current_agent": '


async def test_json_that_is_not_a_run_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"hello": "world"}')
    with pytest.raises(CorruptStateError, match="no string '\\$schemaVersion'"):
        await RunStateStore(path, build_agent(start_model())).load()


async def test_corrupt_row_in_database(sqlite_url: str) -> None:
    store = RunStateStore(sqlite_url, build_agent(start_model()))
    await store.save_json("r1", await _waiting_doc())
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE timestep_run_states SET state_json = '{broken'")
    with pytest.raises(CorruptStateError, match="run 'r1' version 1: stored state is not valid"):
        await store.load("r1")


async def test_newer_schema_version_is_named(sqlite_url: str) -> None:
    doc = await _waiting_doc()
    doc["$schemaVersion"] = "9.0"
    store = RunStateStore(sqlite_url, build_agent(start_model()))
    await store.save_json("r1", doc)
    with pytest.raises(SchemaVersionError, match=r"'9\.0' is not readable .* 1\.0 to 1\.21"):
        await store.load("r1")


async def test_unknown_agent_is_named(sqlite_url: str) -> None:
    store = RunStateStore(sqlite_url)
    await store.save_json("r1", await _waiting_doc())
    stranger = Agent(name="billing", tools=[lookup_order])
    with pytest.raises(StateMismatchError, match="current agent 'support' is not in the agent"):
        await store.load("r1", stranger)


async def test_unknown_tool_is_named(sqlite_url: str) -> None:
    store = RunStateStore(sqlite_url)
    await store.save_json("r1", await _waiting_doc())
    without_refund = Agent(name="support", tools=[lookup_order])
    with pytest.raises(StateMismatchError, match="tool 'refund', which agent 'support' does not"):
        await store.load("r1", without_refund)


async def test_missing_run_and_missing_run_id(sqlite_url: str) -> None:
    store = RunStateStore(sqlite_url, build_agent(start_model()))
    with pytest.raises(RunNotFoundError, match="no run 'nope'"):
        await store.load("nope")
    with pytest.raises(RunNotFoundError, match="no run id given"):
        await store.load()


async def test_load_without_agent_is_a_configuration_error(sqlite_url: str) -> None:
    store = RunStateStore(sqlite_url)
    await store.save_json("r1", await _waiting_doc())
    with pytest.raises(ConfigurationError, match="needs the agent"):
        await store.load("r1")


async def test_locked_sqlite_database(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMESTEP_SQLITE_BUSY_MS", "200")
    store = RunStateStore(sqlite_url)
    doc = await _waiting_doc()
    await store.save_json("r1", doc)
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailableError, match=r"database is locked .*waited 0\.2 s"):
            await store.save_json("r1", doc)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [v.version for v in await store.versions("r1")] == [1]


async def test_unreachable_postgres() -> None:
    store = RunStateStore("postgresql://postgres@127.0.0.1:1/none")
    with pytest.raises(StoreUnavailableError, match=r"127\.0\.0\.1:1"):
        await store.list_runs()


@pytest.mark.parametrize("target", ["sqlite:////no/such/dir/x.db", "/no/such/dir/state.json"])
async def test_missing_directory(target: str) -> None:
    with pytest.raises(StoreUnavailableError, match="does not exist"):
        await RunStateStore(target).list_runs()


def test_unsupported_target() -> None:
    with pytest.raises(ConfigurationError, match="unsupported store target 'mysql://x/y'"):
        RunStateStore("mysql://x/y")


async def test_finished_state_is_not_run_again(sqlite_url: str) -> None:
    model = full_model()
    agent = build_agent(model)
    store = RunStateStore(sqlite_url, agent, run_id="r1")
    first = await Runner.run(agent, "Refund order 42")
    state = first.to_state()
    state.approve(state.get_interruptions()[0])
    done = await Runner.run(agent, state)
    await store.save(done)
    calls_before = len(model.calls)
    finished = await store.load()
    with pytest.raises(RunFinishedError, match=r"already finished \(run 'r1', version 1\)"):
        await run_agent(agent, finished)
    assert len(model.calls) == calls_before


async def test_file_holding_another_run_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = RunStateStore(path)
    doc = await _waiting_doc()
    await store.save_json("first", doc)
    before = path.read_text()
    with pytest.raises(RunNotFoundError, match="holds run 'first'"):
        await store.save_json("second", doc)
    assert path.read_text() == before
    assert json.loads(before)["run_id"] == "first"


async def test_pending_call_of_an_mcp_agent_is_not_checked_against_its_tools() -> None:
    # an MCP server lists its tools at run time, so a pending MCP call is not on ``agent.tools``
    # (the SDK itself asks the connected server when it rebuilds the state)
    doc = await _waiting_doc()
    without_refund = Agent(name="support", tools=[lookup_order])
    with pytest.raises(StateMismatchError, match="tool 'refund'"):
        check_against_graph(doc, without_refund)
    server = MCPServerStdio(params={"command": "true"}, name="refunds")
    check_against_graph(doc, Agent(name="support", tools=[lookup_order], mcp_servers=[server]))
