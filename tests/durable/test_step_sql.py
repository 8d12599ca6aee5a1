"""A segment's step checks and records through statements compiled once (``durable/_step_sql.py``).

Side by side with DBOS's own methods on the same database: the same rows, the same answers and
the same errors, also for random sequences of records and checks; DBOS's methods still run outside
a segment, with an owner key, and when the compiled path is turned off."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli_support import empty_steps_workflow
from harness.scripted import adder_agent
from timestep import _versions
from timestep.durable import _step_sql, _threads, run_durable
from timestep.durable._runtime import RUNTIME
from timestep.state import RunStateStore

STEP_COLUMNS = (
    "function_id",
    "function_name",
    "output",
    "error",
    "child_workflow_id",
    "serialization",
    "application_name",
)


@pytest.fixture
def in_segment() -> Iterator[None]:
    token = _threads.enter_segment()
    yield
    _threads.leave_segment(token)


def _rows() -> _step_sql.StepRows:
    from dbos._dbos import _get_dbos_instance

    rows = _step_sql.step_rows(_get_dbos_instance()._sys_db)
    assert rows is not None, "the launch did not install the compiled statements"
    return rows


def _count(rows: _step_sql.StepRows, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the calls that reach DBOS's own check and record."""
    calls = {"check": 0, "record": 0}

    def counted(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return method(*args, **kwargs)

        return call

    monkeypatch.setattr(rows, "dbos_check", counted("check", rows.dbos_check))
    monkeypatch.setattr(rows, "dbos_record", counted("record", rows.dbos_record))
    return calls


def _system_engine(rows: _step_sql.StepRows) -> sa.Engine:
    """DBOS's engine, with its tables' schema named as DBOS's own statements name it."""
    from dbos._schemas import SCHEMA_PLACEHOLDER

    engine: sa.Engine = rows.sys_db.engine
    return engine.execution_options(schema_translate_map={SCHEMA_PLACEHOLDER: rows.sys_db.schema})


def _step_rows(rows: _step_sql.StepRows, workflow_id: str) -> list[dict[str, Any]]:
    oo = rows.sys_db.tables.operation_outputs
    engine = _system_engine(rows)
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(oo).where(oo.c.workflow_uuid == workflow_id).order_by(oo.c.function_id)
        )
        return [dict(row._mapping) for row in found]


@pytest.mark.usefixtures("fresh_durable")
async def test_a_runs_steps_write_the_rows_dbos_writes(
    db_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(RUNTIME.launch, db_target)
    rows = _rows()
    calls = _count(rows, monkeypatch)
    store = RunStateStore(db_target)
    started = int(time.time()) * 1000
    ours = await run_durable(adder_agent(3), "go", run_id="ours", store=store)
    assert calls == {"check": 0, "record": 0}  # every step took the compiled statements
    rows.enabled = False
    theirs = await run_durable(adder_agent(3), "go", run_id="dbos", store=store)
    rows.enabled = True
    assert calls["check"] >= 7 and calls["record"] >= 7  # 3 tool calls, 4 model calls
    ended = int(time.time() + 1) * 1000
    assert ours.final_output == theirs.final_output == "done"
    mine, dbos = _step_rows(rows, "ours@0"), _step_rows(rows, "dbos@0")
    assert len(mine) == len(dbos) >= 7
    for a, b in zip(mine, dbos, strict=True):
        assert {c: a[c] for c in STEP_COLUMNS} == {c: b[c] for c in STEP_COLUMNS}
        for row in (a, b):
            assert started <= row["started_at_epoch_ms"] <= row["completed_at_epoch_ms"] < ended
            # DBOS's clock expression, evaluated by the database (SQLite: whole seconds)
            assert started <= row["retention_timestamp"] < ended


@pytest.mark.usefixtures("fresh_durable", "in_segment")
async def test_answers_and_errors_match_dbos_own(db_target: str) -> None:
    from dbos._error import (
        DBOSStepNondeterminismError,
        DBOSUnexpectedStepError,
        DBOSWorkflowCancelledError,
        DBOSWorkflowConflictIDError,
    )

    await run_durable(adder_agent(1), "go", run_id="r", store=RunStateStore(db_target))
    rows = _rows()
    workflow = "r@0"
    recorded = _step_rows(rows, workflow)
    first = recorded[0]

    def both(call: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        ours = getattr(rows, f"{call}_operation_execution")
        return ours(*args, **kwargs), rows.dbos_check(*args, **kwargs)

    # a recorded step, a step not yet run
    mine, dbos = both("check", workflow, first["function_id"], first["function_name"])
    assert mine == dbos and mine is not None and mine["output"] == first["output"]
    assert both("check", workflow, 999, "x") == (None, None)
    # a step recorded under another name, a workflow that does not exist
    for args, error in (
        ((workflow, first["function_id"], "renamed"), DBOSUnexpectedStepError),
        (("missing@0", 1, "x"), AssertionError),
    ):
        with pytest.raises(error) as ours:
            rows.check_operation_execution(*args)
        with pytest.raises(error) as theirs:
            rows.dbos_check(*args)
        assert str(ours.value) == str(theirs.value)

    def result(function_id: int, output: str | None, error: str | None = None) -> Any:
        return {
            "workflow_uuid": workflow,
            "function_id": function_id,
            "function_name": "step",
            "output": output,
            "error": error,
            "serialization": "timestep_json",
            "started_at_epoch_ms": 1,
            "child_workflow_id": None,
        }

    # recorded by one, read alike by both (an output, an error)
    rows.record_operation_result(result(500, '"out"'), completed_at_epoch_ms=10)
    rows.dbos_record(result(501, None, '"boom"'), completed_at_epoch_ms=10)
    for function_id in (500, 501):
        mine, dbos = both("check", workflow, function_id, "step")
        assert mine == dbos and mine is not None
    # the same step again at another completion time: nondeterminism, for both
    for record, function_id in ((rows.record_operation_result, 501), (rows.dbos_record, 500)):
        with pytest.raises(DBOSStepNondeterminismError):
            record(result(function_id, '"again"'), completed_at_epoch_ms=11)
        record(result(function_id, '"again"'), completed_at_epoch_ms=10)  # a retry: no error
    # a writer that no longer owns the workflow
    for record in (rows.record_operation_result, rows.dbos_record):
        with pytest.raises(DBOSWorkflowConflictIDError):
            record(result(502, '"late"'), completed_at_epoch_ms=10, owner_xid="someone-else")
    assert both("check", workflow, 502, "step") == (None, None)
    # a cancelled workflow
    ws = rows.sys_db.tables.workflow_status
    engine = _system_engine(rows)
    with engine.begin() as conn:
        conn.execute(sa.update(ws).where(ws.c.workflow_uuid == workflow).values(status="CANCELLED"))
    with pytest.raises(DBOSWorkflowCancelledError) as ours_cancel:
        rows.check_operation_execution(workflow, 500, "step")
    with pytest.raises(DBOSWorkflowCancelledError) as theirs_cancel:
        rows.dbos_check(workflow, 500, "step")
    assert str(ours_cancel.value) == str(theirs_cancel.value)


async def test_dbos_own_methods_run_the_other_calls(
    launched_sqlite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = launched_sqlite
    rows = _rows()
    calls = _count(rows, monkeypatch)

    plain = empty_steps_workflow("test_step_sql.plain")

    assert await plain() == 3  # a DBOS workflow outside any segment
    assert calls == {"check": 3, "record": 3}
    await run_durable(adder_agent(0), "go", run_id="r", store=RunStateStore(target))
    assert calls == {"check": 3, "record": 3}
    token = _threads.enter_segment()
    try:
        from dbos._error import DBOSException

        with pytest.raises(DBOSException, match="not sharded"):  # DBOS's answer to a shard key
            rows.check_operation_execution("r@0", 1, "x", owner_key="k")
        assert calls["check"] == 4
        rows.enabled = False
        assert rows.check_operation_execution("r@0", 99, "x") is None
        assert calls["check"] == 5
    finally:
        rows.enabled = True
        _threads.leave_segment(token)
    # installed once per system database; only on DBOS's own unsharded classes
    assert _step_sql.install(rows.sys_db) is rows
    from dbos._sys_db_sqlite import SQLiteSystemDatabase

    class Routed(SQLiteSystemDatabase):
        pass

    other = Routed.__new__(Routed)
    other.sharded = False
    assert _step_sql.install(other) is None
    assert "check_operation_execution" not in vars(other)
    # another DBOS release series: its rows may differ, DBOS's own code checks and records
    unknown = SQLiteSystemDatabase.__new__(SQLiteSystemDatabase)
    unknown.sharded = False
    monkeypatch.setattr(_versions, "dbos_version", lambda: "3.5.0")
    assert _step_sql.install(unknown) is None
    assert "check_operation_execution" not in vars(unknown)


_OPS = st.lists(
    st.tuples(
        st.sampled_from(["record", "check"]),
        st.integers(1000, 1004),  # function id
        st.sampled_from(["a", "b"]),  # function name
        st.one_of(st.none(), st.text(max_size=12)),  # output (None: an error instead)
        st.integers(1, 3),  # completion time
        st.sampled_from([None, "child-1"]),  # the child workflow a step started
    ),
    max_size=12,
)


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as error:  # compared by type and message
        return type(error).__name__, str(error).replace("ours@0", "W").replace("dbos@0", "W")


@pytest.fixture
async def two_workflows(fresh_durable: None, db_target: str) -> _step_sql.StepRows:
    """Two finished runs' workflows, ``ours@0`` and ``dbos@0``, on a fresh database."""
    store = RunStateStore(db_target)
    for run_id in ("ours", "dbos"):
        await run_durable(adder_agent(0), "go", run_id=run_id, store=store)
    return _rows()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=_OPS)
def test_random_records_and_checks_match_dbos_own(
    two_workflows: _step_sql.StepRows, ops: list[Any]
) -> None:
    rows = two_workflows
    oo = rows.sys_db.tables.operation_outputs
    engine = _system_engine(rows)
    with engine.begin() as conn:  # each example starts from no rows of these steps
        conn.execute(sa.delete(oo).where(oo.c.function_id >= 1000))
    token = _threads.enter_segment()
    try:
        for op, function_id, name, output, completed, child in ops:
            outcomes = []
            for workflow, check, record in (
                ("ours@0", rows.check_operation_execution, rows.record_operation_result),
                ("dbos@0", rows.dbos_check, rows.dbos_record),
            ):
                if op == "check":
                    outcomes.append(_outcome(lambda: check(workflow, function_id, name)))  # noqa: B023
                    continue
                step = {
                    "workflow_uuid": workflow,
                    "function_id": function_id,
                    "function_name": name,
                    "output": None if output is None else repr(output),
                    "error": '"failed"' if output is None else None,
                    "serialization": "timestep_json",
                    "started_at_epoch_ms": 0,
                    "child_workflow_id": child,
                }
                outcomes.append(
                    _outcome(lambda: record(step, completed_at_epoch_ms=completed))  # noqa: B023
                )
            assert outcomes[0] == outcomes[1], (op, function_id, name, output, completed, child)
        mine = [{c: r[c] for c in STEP_COLUMNS} for r in _step_rows(rows, "ours@0")]
        dbos = [{c: r[c] for c in STEP_COLUMNS} for r in _step_rows(rows, "dbos@0")]
        assert mine == dbos
    finally:
        _threads.leave_segment(token)
