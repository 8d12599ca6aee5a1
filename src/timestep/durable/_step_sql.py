"""A step's check and record in DBOS's tables, with statements compiled once per launch.

DBOS 3.4 builds the SQL of each step's check (the workflow's status, then the step's row) and
record (the owner check, then ``INSERT ... ON CONFLICT``) anew on every call: SQLAlchemy's
statement construction, cache key and execution context were half the CPU of DBOS's own empty
steps, the driver's execute and commit 3% (``bench/profile_durable.py --mode dbos``), and the two
calls more than half of a timestep run with an instant model (bench/README.md, 2026-12-06).

In a segment's workflow (``_threads.in_segment``) :class:`StepRows` runs the same work with
statements compiled at launch from DBOS's own tables and helpers (its dialect, schema, conflict
target and clock expression), sent with ``exec_driver_sql``: the check as one SELECT of the
workflow's status left-joined with the step's row, the record as DBOS's owner check and INSERT
in one transaction. Same rows, the same errors (cancelled workflow, unexpected step name, lost
ownership, nondeterminism), DBOS's retries and its commit trigger. DBOS's own methods still run
every other call: outside a segment (so DBOS's empty steps in bench/ stay DBOS's own), with an
owner key or a bound shard key, on any system database but DBOS's plain SQLite and Postgres, and
with a DBOS release outside the series these statements were written for
(``_versions.TESTED_DBOS_SERIES``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from dbos._context import current_owner_xid, get_local_dbos_context
from dbos._debug_trigger import DebugTriggers
from dbos._error import (
    DBOSStepNondeterminismError,
    DBOSUnexpectedStepError,
    DBOSWorkflowCancelledError,
    DBOSWorkflowConflictIDError,
)
from dbos._schemas import SCHEMA_PLACEHOLDER
from dbos._shard_keys import bound_shard_key
from dbos._sys_db import WorkflowStatusString, db_retry

from .. import _versions
from ._threads import in_segment

logger = logging.getLogger("timestep.durable")


class _Compiled:
    """One statement's SQL for the driver and how to order its parameters."""

    def __init__(self, statement: Any, engine: sa.Engine, schema: str | None) -> None:
        dialect = engine.dialect
        compiled = statement.compile(
            dialect=dialect,
            schema_translate_map={SCHEMA_PLACEHOLDER: schema},
            render_schema_translate=True,
        )
        self.sql = str(compiled)
        self.positions: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup is not None else None
        )
        self.constants = {name: bind.value for name, bind in compiled.binds.items()}
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def run(self, conn: sa.Connection, values: Mapping[str, Any]) -> sa.CursorResult[Any]:
        params = {**self.constants, **values}
        for name, processor in self.processors.items():
            params[name] = processor(params[name])
        if self.positions is None:
            return conn.exec_driver_sql(self.sql, params)
        return conn.exec_driver_sql(self.sql, tuple(params[name] for name in self.positions))


class StepRows:
    """The check and record of a segment's steps on one DBOS system database."""

    def __init__(self, sys_db: Any) -> None:
        self.sys_db = sys_db
        self.enabled = True
        """Off: every call takes DBOS's own method (``breakdown_durable.py --dbos-sql``)."""
        self.dbos_check: Callable[..., Any] = sys_db.check_operation_execution
        self.dbos_record: Callable[..., Any] = sys_db.record_operation_result
        ws, oo = sys_db.tables.workflow_status, sys_db.tables.operation_outputs

        def compiled(statement: Any) -> _Compiled:
            return _Compiled(statement, sys_db.engine, sys_db.schema)

        of_workflow = ws.c.workflow_uuid == sa.bindparam("workflow_id")

        self._check_sql = compiled(
            sa.select(
                ws.c.status,
                oo.c.output,
                oo.c.error,
                oo.c.function_name,
                oo.c.child_workflow_id,
                oo.c.serialization,
            )
            .select_from(
                ws.outerjoin(
                    oo,
                    sa.and_(
                        oo.c.workflow_uuid == ws.c.workflow_uuid,
                        oo.c.function_id == sa.bindparam("function_id"),
                    ),
                )
            )
            .where(of_workflow)
        )
        self._owner_sql = compiled(
            # SQLite: a write, so the transaction takes the write lock here (as DBOS's check)
            sa.update(ws)
            .where(of_workflow)
            .values(owner_xid=ws.c.owner_xid)
            .returning(ws.c.owner_xid)
            if sys_db._is_sqlite
            else sa.select(ws.c.owner_xid).where(of_workflow).with_for_update(key_share=True)
        )
        columns = (
            "workflow_uuid",
            "function_id",
            "function_name",
            "started_at_epoch_ms",
            "completed_at_epoch_ms",
            "output",
            "error",
            "child_workflow_id",
            "serialization",
            "application_name",
        )
        self._insert_sql = compiled(
            sys_db.dialect.insert(oo)
            .values(
                **{column: sa.bindparam(column) for column in columns},
                retention_timestamp=sys_db._now_ms_sql(),
            )
            .on_conflict_do_update(
                index_elements=sys_db._key_conflict("workflow_uuid", "function_id"),
                set_={"completed_at_epoch_ms": oo.c.completed_at_epoch_ms},
            )
            .returning(oo.c.completed_at_epoch_ms)
        )
        self._check_retrying = db_retry(sys_db=sys_db)(self._check)
        self._record_retrying = db_retry(sys_db=sys_db)(self._record)

    def _ours(self, workflow_id: str, owner_key: str | None) -> bool:
        """Whether this call takes the compiled statements (else DBOS's own method)."""
        if not (self.enabled and in_segment.get()) or owner_key is not None:
            return False
        ctx = get_local_dbos_context()
        return bound_shard_key(workflow_id) is None and (ctx is None or ctx.shard_key is None)

    def check_operation_execution(
        self,
        workflow_id: str,
        function_id: int,
        function_name: str,
        *,
        owner_key: str | None = None,
    ) -> Any:
        """DBOS's ``check_operation_execution``: the step's recorded outcome, or None."""
        if not self._ours(workflow_id, owner_key):
            return self.dbos_check(workflow_id, function_id, function_name, owner_key=owner_key)
        return self._check_retrying(workflow_id, function_id, function_name)

    def _check(self, workflow_id: str, function_id: int, function_name: str) -> Any:
        with self.sys_db.engine.begin() as conn:
            rows = self._check_sql.run(
                conn, {"workflow_id": workflow_id, "function_id": function_id}
            ).all()
        if not rows:  # DBOS's own answer (an assert there)
            raise AssertionError(f"Error: Workflow {workflow_id} does not exist")
        first: tuple[Any, ...] = tuple(rows[0])
        status, output, error, recorded_name, child_workflow_id, serialization = first
        if status == WorkflowStatusString.CANCELLED.value:
            raise DBOSWorkflowCancelledError(
                f"Workflow {workflow_id} is cancelled. Aborting function."
            )
        if recorded_name is None:  # no row for this step (function_name is NOT NULL)
            return None
        if function_name != recorded_name:
            raise DBOSUnexpectedStepError(
                workflow_id=workflow_id,
                step_id=function_id,
                expected_name=function_name,
                recorded_name=recorded_name,
            )
        return {
            "output": output,
            "error": error,
            "serialization": serialization,
            "child_workflow_id": child_workflow_id,
            "child_shard_key": None,
        }

    def record_operation_result(
        self,
        result: Any,
        *,
        completed_at_epoch_ms: int | None = None,
        owner_xid: str | None = None,
        owner_key: str | None = None,
    ) -> None:
        """DBOS's ``record_operation_result``: the step's row, under the workflow's owner."""
        workflow_id = result["workflow_uuid"]
        if not self._ours(workflow_id, owner_key):
            self.dbos_record(
                result,
                completed_at_epoch_ms=completed_at_epoch_ms,
                owner_xid=owner_xid,
                owner_key=owner_key,
            )
            return
        completed = (
            completed_at_epoch_ms if completed_at_epoch_ms is not None else int(time.time() * 1000)
        )
        owner = owner_xid if owner_xid is not None else current_owner_xid(workflow_id)
        row = {
            "workflow_uuid": workflow_id,
            "function_id": result["function_id"],
            "function_name": result["function_name"],
            "started_at_epoch_ms": result["started_at_epoch_ms"],
            "completed_at_epoch_ms": completed,
            "output": result["output"],
            "error": result["error"],
            "child_workflow_id": result["child_workflow_id"],
            "serialization": result["serialization"],
            "application_name": self.sys_db.app_name,
        }
        self._record_retrying(row, owner)
        DebugTriggers.debug_trigger_point(DebugTriggers.DEBUG_TRIGGER_STEP_COMMIT)

    def _record(self, row: dict[str, Any], owner: str | None) -> None:
        workflow_id, function_id = row["workflow_uuid"], row["function_id"]
        with self.sys_db.engine.begin() as conn:
            if owner is not None:
                current = self._owner_sql.run(conn, {"workflow_id": workflow_id}).scalar()
                if current != owner:
                    raise DBOSWorkflowConflictIDError(workflow_id)
            try:
                rows = self._insert_sql.run(conn, row).fetchall()
            except sa.exc.DBAPIError as error:
                if self.sys_db._is_unique_constraint_violation(error):
                    raise DBOSStepNondeterminismError(workflow_id, function_id) from error
                raise
            # a row already there with another completion time: not this execution's retry
            if rows and (rows[0][0] is None or int(rows[0][0]) != row["completed_at_epoch_ms"]):
                raise DBOSStepNondeterminismError(workflow_id, function_id)


def install(sys_db: Any) -> StepRows | None:
    """Put :class:`StepRows` in front of ``sys_db``'s check and record (once); None if unknown.

    Only DBOS's own unsharded SQLite and Postgres system databases of the release series the
    statements were written for: a subclass may route or store rows differently, another release
    may change the rows; both keep DBOS's methods (slower, not wrong).
    """
    from dbos._sys_db_postgres import PostgresSystemDatabase
    from dbos._sys_db_sqlite import SQLiteSystemDatabase

    current = step_rows(sys_db)
    if current is not None:
        return current
    if type(sys_db) not in (SQLiteSystemDatabase, PostgresSystemDatabase) or sys_db.sharded:
        return None
    if not _versions.dbos_version().startswith(_versions.TESTED_DBOS_SERIES + "."):
        logger.info(
            "dbos %s is not the %s series: steps are checked and recorded by DBOS's own code",
            _versions.dbos_version(),
            _versions.TESTED_DBOS_SERIES,
        )
        return None
    rows = StepRows(sys_db)
    sys_db.check_operation_execution = rows.check_operation_execution
    sys_db.record_operation_result = rows.record_operation_result
    return rows


def install_launched() -> StepRows | None:
    """:func:`install` on the launched DBOS's system database."""
    from dbos._dbos import _get_dbos_instance

    return install(_get_dbos_instance()._sys_db)


def step_rows(sys_db: Any) -> StepRows | None:
    """The :class:`StepRows` installed on ``sys_db``, if any."""
    owner = getattr(sys_db.check_operation_execution, "__self__", None)
    return owner if isinstance(owner, StepRows) else None
