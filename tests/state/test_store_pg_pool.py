"""A pooled Postgres connection the server has closed is replaced at checkout, with no round
trip to find out (``timestep._pg_pool``): the store's next call just works."""

from __future__ import annotations

import time

import psycopg
import pytest
from agents import Runner

from harness.postgres import end_sessions, to_conninfo
from harness.refund_agent import build_agent, start_model
from timestep import RunStateStore
from timestep._pg_pool import server_closed


async def test_the_store_replaces_connections_the_server_ended(postgres_db_url: str) -> None:
    store = RunStateStore(postgres_db_url)
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    doc = result.to_state().to_json()
    await store.save_json("r1", doc)  # the pool now holds a connection
    for _round in range(2):
        end_sessions(postgres_db_url)
        saved = await store.save_json("r1", doc)
        assert [run.run_id for run in await store.list_runs()] == ["r1"]
        assert (await store.get("r1")).version == saved.version
    assert saved.version == 3


def test_server_closed_tells_a_live_connection_from_an_ended_one(postgres_db_url: str) -> None:
    with psycopg.connect(to_conninfo(postgres_db_url), autocommit=True) as conn:
        conn.execute("SELECT 1").fetchall()
        assert not server_closed(conn)
        end_sessions(postgres_db_url)
        deadline = time.monotonic() + 5
        while not server_closed(conn):  # the FATAL message and the close reach the socket
            assert time.monotonic() < deadline, "an ended session still looks alive"
            time.sleep(0.01)
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    closed = psycopg.connect(to_conninfo(postgres_db_url))
    closed.close()
    assert server_closed(closed)
