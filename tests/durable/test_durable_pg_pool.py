"""DBOS's pool on a Postgres system database: no ``SELECT 1`` before each call; a connection the
server ended is replaced at checkout (``timestep._pg_pool``), so the next run just works."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from agents import Agent, function_tool

from harness.postgres import end_sessions
from harness.scripted import scripted_model, text_turn, tool_turn
from timestep.durable import _config, run_durable, shutdown
from timestep.state import RunStateStore


@pytest.fixture(autouse=True)
def _no_dbos() -> Iterator[None]:
    shutdown()
    yield
    shutdown()


class _Warnings(logging.Handler):
    """The warnings DBOS logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


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
    failures = _Warnings()
    logging.getLogger("dbos").addHandler(failures)
    try:
        for round_ in range(2):
            end_sessions(postgres_db_url)  # DBOS's pooled connections, the store's, the listener's
            again = await run_durable(_agent(), "go", run_id=f"after-{round_}", store=store)
            assert again.final_output == "two"
    finally:
        logging.getLogger("dbos").removeHandler(failures)
    # no DBOS call met an ended connection (it would have logged, slept and retried; its
    # notification listener, on a connection of its own, does log that it reconnects)
    failed = [m for m in failures.messages if m.startswith("Database connection failed")]
    assert not failed, failed
    runs = {run.run_id: run.status for run in await store.list_runs()}
    assert runs == {"before": "done", "after-0": "done", "after-1": "done"}
