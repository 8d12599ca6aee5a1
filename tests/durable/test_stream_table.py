"""The stream event log's table is created once when several processes start at the same moment
(a fresh database shared by workers that start together)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa

from harness.table_race import create_in_rounds

PROCESSES = 4
ROUNDS = 15


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_processes_creating_the_table_at_once_all_succeed(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'system.db'}"
        if kind == "sqlite"
        else str(request.getfixturevalue("postgres_db_url"))
    )
    spawn = multiprocessing.get_context("spawn")
    barrier, errors = spawn.Barrier(PROCESSES, timeout=120), spawn.Queue()
    workers = [
        spawn.Process(target=create_in_rounds, args=(url, i, ROUNDS, barrier, errors))
        for i in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        inspector = sa.inspect(engine)
        assert inspector.has_table("timestep_stream_events")
        names = {index["name"] for index in inspector.get_indexes("timestep_stream_events")}
        assert "ix_timestep_stream_events_run" in names
    finally:
        engine.dispose()
