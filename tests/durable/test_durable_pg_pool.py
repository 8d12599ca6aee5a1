"""The pools on a Postgres system database (DBOS's, and timestep's client engine that writes the
stream log and the lease): no ``SELECT 1`` before each call; a connection the server ended is
replaced at checkout (``timestep._pg_pool``), so the next run, streamed event and heartbeat just
work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from agents import Agent, function_tool

from harness.postgres import end_sessions
from harness.scripted import scripted_model, text_turn, tool_turn
from timestep.durable import _config, _stream, _takeover, attach_stream, run_durable, shutdown
from timestep.state import RunStateStore


@pytest.fixture(autouse=True)
def _no_dbos() -> Iterator[None]:
    shutdown()
    yield
    shutdown()


class _Warnings(logging.Handler):
    """The warnings DBOS logs."""

    def __init__(self, *loggers: str) -> None:
        super().__init__(logging.WARNING)
        self.loggers = loggers
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> _Warnings:
        for name in self.loggers:
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        for name in self.loggers:
            logging.getLogger(name).removeHandler(self)


@function_tool
def add(n: int) -> str:
    """Add one."""
    return str(n + 1)


def _agent() -> Agent[None]:
    model = scripted_model(tool_turn("add", {"n": 1}), text_turn("two"))
    return Agent(name="adder", model=model, tools=[add])


async def test_dbos_calls_go_on_after_the_server_ended_every_session(
    postgres_db_url: str,
) -> None:
    store = RunStateStore(postgres_db_url)
    first = await run_durable(_agent(), "go", run_id="before", store=store)
    assert first.final_output == "two"
    engine = _config.dbos_engine()
    assert engine.pool._pre_ping is False
    with _Warnings("dbos") as failures:
        for round_ in range(2):
            end_sessions(postgres_db_url)  # DBOS's pooled connections, the store's, the listener's
            again = await run_durable(_agent(), "go", run_id=f"after-{round_}", store=store)
            assert again.final_output == "two"
    # no DBOS call met an ended connection (it would have logged, slept and retried; its
    # notification listener, on a connection of its own, does log that it reconnects)
    failed = [m for m in failures.messages if m.startswith("Database connection failed")]
    assert not failed, failed
    runs = {run.run_id: run.status for run in await store.list_runs()}
    assert runs == {"before": "done", "after-0": "done", "after-1": "done"}


async def _streamed(store: RunStateStore, run_id: str) -> list[dict[str, Any]]:
    """Run the agent streamed, drain it, and return its durable event log."""
    result = await run_durable(_agent(), "go", run_id=run_id, store=store, stream=True)
    async for _event in result.stream_events():  # type: ignore[union-attr]
        pass
    return [e async for e in attach_stream(run_id, store=store, timeout=10)]


@pytest.mark.parametrize("heartbeat", [60.0, 0.1], ids=["stream-log", "heartbeat"])
async def test_the_client_engine_goes_on_after_the_server_ended_every_session(
    postgres_db_url: str, monkeypatch: pytest.MonkeyPatch, heartbeat: float
) -> None:
    """The client engine (one transaction per streamed event, one per heartbeat) has no ping.
    After every session is ended, the next streamed run logs all its events and the lease is
    renewed without a failed attempt. With a 60 s heartbeat no renewal clears the pool first, so
    the stream writer meets the closed connections itself."""
    monkeypatch.setenv("TIMESTEP_EXECUTOR_HEARTBEAT", str(heartbeat))
    monkeypatch.setenv("TIMESTEP_EXECUTOR_LEASE", str(max(5.0, 2 * heartbeat)))
    store = RunStateStore(postgres_db_url)
    assert (await _streamed(store, "s-before"))[-1]["status"] == "done"
    client = _stream.bound()
    assert client is not None and client.pool._pre_ping is False
    keeper = _takeover.current()
    assert keeper is not None and keeper.engine is client
    with _Warnings("timestep", "sqlalchemy") as failures:
        for round_ in range(2):
            end_sessions(postgres_db_url)
            await asyncio.sleep(0.5)  # with a 0.1 s heartbeat: renewals on closed connections
            log = await _streamed(store, f"s-after-{round_}")
            assert log[-1]["type"] == "segment_end" and log[-1]["status"] == "done"
            assert [e["step"] for e in log if e["type"] == "attempt_started"] == [1, 3]
    renewals = [m for m in failures.messages if "lease renewal failed" in m]
    assert not renewals, renewals
