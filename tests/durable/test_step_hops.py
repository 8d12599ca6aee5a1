"""Which thread runs a durable step's calls (``durable/_threads.py``).

In a segment, the function DBOS picks to record a step's output runs on the event loop (no I/O),
and on a SQLite system database the check for a recorded output too (reads, which never wait in
WAL mode); the record itself, and every call on Postgres, keeps DBOS's executor threads. Outside a
segment, DBOS's steps keep their three hops."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from harness.cli_support import empty_steps_workflow
from harness.scripted import adder_agent
from timestep.durable import _threads, run_durable, system_database_url
from timestep.durable._runtime import RUNTIME
from timestep.state import RunStateStore


class _Spy:
    """Records the thread of DBOS's step checks and records, and what ran on the loop."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from dbos._dbos import _get_dbos_instance

        self.loop_thread = threading.get_ident()
        self.threads: dict[str, list[bool]] = {"check": [], "record": []}
        self.here: Counter[str] = Counter()
        sys_db = _get_dbos_instance()._sys_db
        for name, method in (
            ("check", "check_operation_execution"),
            ("record", "record_operation_result"),
        ):
            monkeypatch.setattr(sys_db, method, self._watch(name, getattr(sys_db, method)))
        run_here = _threads._run_here

        def counted(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            self.here[_threads._target(fn)[1].split(".<locals>")[0]] += 1
            return run_here(fn, *args, **kwargs)

        monkeypatch.setattr(_threads, "_run_here", counted)

    def _watch(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def watched(*args: Any, **kwargs: Any) -> Any:
            self.threads[name].append(threading.get_ident() == self.loop_thread)
            return method(*args, **kwargs)

        return watched


@pytest.mark.usefixtures("fresh_durable")
async def test_a_steps_hops_by_database(db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite = db_target.startswith("sqlite")
    await asyncio.to_thread(RUNTIME.launch, db_target)
    spy = _Spy(monkeypatch)
    result = await run_durable(adder_agent(3), "go", run_id="hops", store=RunStateStore(db_target))
    assert result.final_output == "done"
    steps = 3 + 4  # three tool calls, four model calls
    # the check for a recorded output: on the loop with SQLite, in DBOS's threads on Postgres
    assert spy.threads["check"] == [sqlite] * steps
    # the record, a write, always in a thread
    assert spy.threads["record"] == [False] * len(spy.threads["record"])
    assert len(spy.threads["record"]) >= steps
    # picking the recording function: on the loop for every step in the segment
    assert spy.here["Pending.then"] == steps
    assert spy.here["invoke_step"] == (steps if sqlite else 0)


@pytest.mark.usefixtures("launched_sqlite")
async def test_dbos_steps_outside_a_segment_keep_their_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = empty_steps_workflow("test_step_hops.plain")

    spy = _Spy(monkeypatch)
    assert await plain() == 3
    assert spy.threads["check"] == [False] * 3
    assert not spy.here


@pytest.mark.usefixtures("fresh_durable")
async def test_a_check_on_the_loop_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    from dbos._dbos import _get_dbos_instance

    target = f"sqlite:///{tmp_path / 'runs.db'}"
    result = await run_durable(adder_agent(1), "go", run_id="held", store=RunStateStore(target))
    assert result.final_output == "done"
    workflow = "held@0"
    system = sqlite3.connect(system_database_url(target).removeprefix("sqlite:///"))
    release = threading.Timer(3, system.rollback)
    try:
        # another writer holds the system database's write lock, its change not yet committed
        system.execute("BEGIN IMMEDIATE")
        system.execute("DELETE FROM operation_outputs WHERE workflow_uuid = ?", (workflow,))
        release.start()
        started = time.monotonic()
        found = _get_dbos_instance()._sys_db.check_operation_execution(
            workflow, 1, "timestep.model.get_response"
        )
        waited = time.monotonic() - started
    finally:
        release.cancel()
        system.rollback()
        system.close()
    # the committed output, read without waiting for the writer (which would have taken 3 s)
    assert found is not None and found["output"] is not None
    assert waited < 1.0, waited


def _named(module: str, qualname: str) -> Callable[[], str]:
    def fn() -> str:
        return threading.current_thread().name

    fn.__module__, fn.__qualname__ = module, qualname
    return fn


async def test_the_executor_routes_by_target_task_and_thread() -> None:
    pool = ThreadPoolExecutor(1, thread_name_prefix="checkpoints")
    routed = _threads.RoutedExecutor(pool, 1, sqlite=True)
    check = _named("dbos._core", "invoke_step.<locals>.check_existing_result")
    other = _named("dbos._core", "invoke_step.<locals>.record_step_result")

    def submitted(fn: Callable[[], str]) -> str:
        wrapped = functools.partial(contextvars.copy_context().run, fn)
        return routed.submit(wrapped).result(5)

    try:
        here = threading.current_thread().name
        assert submitted(check).startswith("checkpoints")  # not in a segment
        token = _threads.enter_segment()
        try:
            assert submitted(check) == here
            assert submitted(other).startswith("checkpoints")
            # more segments running in the process than the pool has threads: the pool
            busy = [_threads.enter_segment() for _ in range(routed.loop_runs)]
            try:
                assert submitted(check).startswith("checkpoints")
            finally:
                for entered in reversed(busy):
                    _threads.leave_segment(entered)
            assert submitted(check) == here
            assert submitted(_named("mine", check.__qualname__)).startswith("checkpoints")
            with _threads.tool_body():
                assert submitted(check).startswith("timestep-tool-")
            # off the loop (a worker thread with the segment's context): the pool
            assert (await asyncio.to_thread(submitted, check)).startswith("checkpoints")

            def fails() -> None:
                raise KeyError("from the check")

            fails.__module__, fails.__qualname__ = check.__module__, check.__qualname__
            future = routed.submit(functools.partial(contextvars.copy_context().run, fails))
            with pytest.raises(KeyError, match="from the check"):
                future.result(0)
        finally:
            _threads.leave_segment(token)
        postgres = _threads.RoutedExecutor(pool, 1, sqlite=False)
        token = _threads.enter_segment()
        try:
            wrapped = functools.partial(contextvars.copy_context().run, check)
            assert postgres.submit(wrapped).result(5).startswith("checkpoints")
        finally:
            _threads.leave_segment(token)
        assert _threads._running == [0]
    finally:
        routed.shutdown()
