"""Many writers in one process share a SQLite store without 'database is locked' errors.

SQLite's busy timeout is for other processes: a process's own writers queue for the write lock
in the process (found by bench_durable.py: 1,000 concurrent durable runs on SQLite failed with
``StoreUnavailableError: database is locked`` when the store's writers starved in SQLite's busy
handler).
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from agents import Runner

from harness.refund_agent import build_agent, start_model
from timestep import RunStateStore, StoreUnavailableError


async def _waiting_doc() -> dict[str, Any]:
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    doc: dict[str, Any] = result.to_state().to_json()
    return doc


async def test_concurrent_writers_in_one_process_never_see_a_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short busy timeout makes starvation in SQLite's busy handler show at once.
    monkeypatch.setenv("TIMESTEP_SQLITE_BUSY_MS", "30")
    store = RunStateStore(f"sqlite:///{tmp_path / 'many.db'}")
    doc = await _waiting_doc()
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=24)
    loop.set_default_executor(pool)
    runs, versions = 24, 12

    async def writer(index: int) -> None:
        run_id = f"r{index}"
        for version in range(versions):
            await store.save_json(run_id, doc, expected_version=version, status="waiting")
            await store.set_status(run_id, "waiting", metadata={"seen": version})

    try:
        await asyncio.gather(*(writer(i) for i in range(runs)))
        summaries = await store.list_runs()
        assert sorted(s.run_id for s in summaries) == sorted(f"r{i}" for i in range(runs))
        for i in range(runs):
            assert [v.version for v in await store.versions(f"r{i}")] == list(
                range(1, versions + 1)
            )
    finally:
        pool.shutdown(wait=False)


async def test_another_process_holding_the_lock_is_still_a_typed_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMESTEP_SQLITE_BUSY_MS", "100")
    path = tmp_path / "held.db"
    store = RunStateStore(f"sqlite:///{path}")
    doc = await _waiting_doc()
    await store.save_json("r1", doc)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        results = await asyncio.gather(
            *(store.save_json("r1", doc, expected_version=1) for _ in range(4)),
            return_exceptions=True,
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert all(isinstance(r, StoreUnavailableError) for r in results), results
    assert all("database is locked" in str(r) for r in results)
    # the process's write lock was released after each failure: the next write goes through
    stored = await store.save_json("r1", doc, expected_version=1)
    assert stored.version == 2
