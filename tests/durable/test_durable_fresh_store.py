"""A fresh store: `timestep db upgrade` creates DBOS's tables too; enqueue_run works before any
worker has started."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_durable_app import make_agent

from timestep.cli import main
from timestep.durable import enqueue_run, shutdown, system_database_url, worker
from timestep.durable._runtime import RUNTIME
from timestep.state import RunStateStore


@pytest.fixture(autouse=True)
def _no_dbos() -> Iterator[None]:
    shutdown()
    yield
    shutdown()


def _tables(url: str, schema: str | None = None) -> set[str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        return set(sa.inspect(engine).get_table_names(schema=schema))
    finally:
        engine.dispose()


def test_db_upgrade_creates_dbos_tables_next_to_a_sqlite_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert "DBOS system tables are ready" in capsys.readouterr().out
    system = _tables(system_database_url(url))
    assert {"workflow_status", "operation_outputs", "timestep_stream_events"} <= system
    assert main(["db", "upgrade", "--db", url]) == 0  # idempotent


def test_db_upgrade_creates_the_dbos_schema_on_postgres(postgres_db_url: str) -> None:
    assert main(["db", "upgrade", "--db", postgres_db_url]) == 0
    assert {"timestep_runs", "timestep_approvals"} <= _tables(postgres_db_url)
    assert "timestep_stream_events" in _tables(postgres_db_url)
    assert "workflow_status" in _tables(postgres_db_url, "dbos")


async def _enqueue_then_work(target: str) -> None:
    store = RunStateStore(target)
    # nothing has touched this store or its system database yet
    await enqueue_run("payer", "pay", run_id="fresh-1", store=store)
    assert not RUNTIME.launched_on(target)  # queued without running DBOS here
    task = asyncio.create_task(worker([make_agent()], store=store, poll_interval=0.2))
    try:
        for _ in range(300):
            runs = (
                {r.run_id: r.status for r in await store.list_runs()}
                if (RUNTIME.launched_on(target))
                else {}
            )
            if runs.get("fresh-1") == "done":
                break
            await asyncio.sleep(0.1)
        assert runs.get("fresh-1") == "done"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_enqueue_run_on_a_fresh_sqlite_store_before_any_worker(tmp_path: Path) -> None:
    target = f"sqlite:///{tmp_path / 'new.db'}"
    assert not Path(sa.make_url(system_database_url(target)).database or "").exists()
    await _enqueue_then_work(target)


async def test_enqueue_run_on_a_fresh_postgres_store_before_any_worker(
    postgres_db_url: str,
) -> None:
    await _enqueue_then_work(postgres_db_url)
