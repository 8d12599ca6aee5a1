"""RunStateStore backend for SQLite and Postgres (versioned rows, transactional saves)."""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any, NoReturn

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Select,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from .._errors import CorruptStateError, RunNotFoundError, RunNotWaitingError
from . import _driver, _pg_writes, _sqlite_writes
from . import _schema as schema
from ._decisions import (
    DecisionKind,
    DecisionOutcome,
    DecisionRecord,
    all_decided,
    already_decided,
    choose_call,
    new_record,
)
from ._decode import json_object, merged_metadata, metadata_column, pending_column, text_of
from ._describe import state_facts
from ._engine import SINGLE_READ, database_errors, get_engine
from ._filters import RunFilter
from ._integrity import body_checksum, check
from ._records import NewVersion, RunStatus, RunSummary, StoredState, utc_now
from ._row_values import next_version, run_values, version_values

_STATE_META = (
    schema.run_states.c.run_id,
    schema.run_states.c.version,
    schema.run_states.c.language,
    schema.run_states.c.sdk_version,
    schema.run_states.c.schema_version,
    schema.run_states.c.agent_name,
    schema.run_states.c.status,
    schema.run_states.c.pending_approvals,
    schema.run_states.c.created_at,
    schema.run_states.c.state_sha256,
)


#: Bumps the store's change counter once in every write transaction (see ``change_marker``): its
#: last statement, or after a version's INSERT (``_insert_version``; on Postgres inside it). Taken
#: after the run rows a transaction locks, so writers never deadlock.
_BUMP = (
    update(schema.changes)
    .where(schema.changes.c.id == 1)
    .values(counter=schema.changes.c.counter + 1)
)


# Statements of the durable hot path (a run's first row, its end-of-segment save, the read of
# one run), built once: values travel as parameters, so SQLAlchemy neither rebuilds the statement
# nor recomputes its cache key per call (a third of the store's CPU per save before).
_LOCK_RUN = (
    select(schema.runs.c.latest_version, schema.runs.c.metadata)
    .where(schema.runs.c.run_id == bindparam("b_run_id"))
    .with_for_update()
)
_UPDATE_RUN = update(schema.runs).where(schema.runs.c.run_id == bindparam("b_run_id"))
_INSERT_RUN = insert(schema.runs)
_INSERT_STATE = insert(schema.run_states)
#: On Postgres the version INSERT carries the change counter's bump as a data-modifying CTE (run
#: to completion with the INSERT, in its transaction, after the run row was locked): one round
#: trip less per write. SQLite has no data-modifying CTE: it runs ``_BUMP`` after the INSERT.
_INSERT_STATE_BUMP = _INSERT_STATE.add_cte(_BUMP.cte("bump"))


def _filtered(query: Select[Any], keep: RunFilter) -> Select[Any]:
    """``query`` restricted to the runs ``keep`` keeps (``%`` and ``_`` in a search are text)."""
    runs = schema.runs
    if keep.status is not None:
        query = query.where(runs.c.status == keep.status)
    if keep.agent is not None:
        query = query.where(runs.c.agent_name == keep.agent)
    if keep.updated_since is not None:
        query = query.where(runs.c.updated_at >= keep.updated_since)
    if keep.search is not None:
        query = query.where(runs.c.run_id.icontains(keep.search, autoescape=True))
    return query


def _where(row: Row[Any]) -> str:
    return f"run {row.run_id!r} version {row.version}"


def _parse_body(row: Row[Any], raw: object) -> dict[str, Any]:
    where = _where(row)
    body = text_of(raw, f"{where}: stored state")
    doc = json_object(body, f"{where}: stored state")
    check(body_checksum(body), row.state_sha256, where)
    return doc


def _stored(row: Row[Any], raw_body: object | None) -> StoredState:
    where = _where(row)
    doc = _parse_body(row, raw_body) if raw_body is not None else None
    try:
        pending = pending_column(row.pending_approvals, f"{where}: pending_approvals column")
    except CorruptStateError:
        if doc is None:
            raise
        pending = state_facts(doc).pending_approvals  # the body is the source of truth
    return StoredState(
        run_id=row.run_id,
        version=row.version,
        language=row.language,
        sdk_version=row.sdk_version,
        schema_version=row.schema_version,
        agent_name=row.agent_name,
        status=row.status,
        pending_approvals=pending,
        state_json=doc,
        created_at=row.created_at,
    )


def run_summary(row: Row[Any] | _driver.RunRow) -> RunSummary:
    """A run's latest facts; an unreadable side column is reported in ``problem``, not raised."""
    problems: list[str] = []
    try:
        pending = pending_column(row.pending_approvals, "it")
    except CorruptStateError as error:
        pending, problems = [], [*problems, f"pending_approvals column is unreadable ({error})"]
    try:
        metadata = metadata_column(row.metadata, "it")
    except CorruptStateError as error:
        metadata, problems = {}, [*problems, f"metadata column is unreadable ({error})"]
    return RunSummary(
        run_id=row.run_id,
        agent_name=row.agent_name,
        status=row.status,
        latest_version=row.latest_version,
        language=row.language,
        pending_approvals=pending,
        metadata=metadata,
        created_at=row.created_at,
        updated_at=row.updated_at,
        problem="; ".join(problems) or None,
    )


class _RacedError(Exception):
    """Another writer recorded the same decision first (inside ``SqlBackend.decide``)."""


def _decision(row: Row[Any]) -> DecisionRecord:
    return DecisionRecord(
        run_id=row.run_id,
        call_id=row.call_id,
        tool_name=row.tool_name,
        decision=row.decision,
        always=bool(row.always),
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        state_version=row.state_version,
        arguments=row.arguments,
        original_arguments=row.original_arguments,
        output=row.output,
    )


def _insert_version(
    conn: Connection,
    run_id: str,
    version: int,
    new: NewVersion,
    columns: dict[str, Any],
    now: str,
) -> None:
    """Insert one version row and bump the change counter, after the run row was written.

    On Postgres the bump rides in the INSERT (``_INSERT_STATE_BUMP``); SQLite runs ``_BUMP`` next.
    """
    values = version_values(run_id, version, new, columns, now)
    if conn.dialect.name == "postgresql":
        conn.execute(_INSERT_STATE_BUMP, values)
    else:
        conn.execute(_INSERT_STATE, values)
        conn.execute(_BUMP)


class SqlBackend:
    """Stores every version of every run in the ``timestep_*`` tables."""

    def __init__(self, url: str) -> None:
        self.url = url
        with database_errors(url):
            self.engine: Engine = get_engine(url)
            schema.ensure_schema(self.engine)

    @property
    def postgres(self) -> bool:
        """Whether the durable path's writes are ``_pg_writes`` (one statement each) rather than
        ``_sqlite_writes`` (one transaction each); both run on the driver (``_driver``)."""
        return self.engine.dialect.name == "postgresql"

    def _read(self) -> Connection:
        """A connection for a read whose answer is one statement (its error path may add one).

        It runs in autocommit: one statement is its own consistent snapshot. On Postgres the read
        then costs one round trip instead of three (BEGIN, the query, ROLLBACK); on SQLite it
        takes no write lock (``BEGIN IMMEDIATE``), so readers neither wait for nor block writers.
        """
        conn = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        else:  # SQLite: no BEGIN IMMEDIATE (the write lock) for a read
            conn.execution_options(**{SINGLE_READ: True})
        return conn

    def upgrade(self) -> str:
        """Migrate the database to the newest revision and return it."""
        with database_errors(self.url):
            return schema.upgrade(self.engine)

    def append(
        self,
        run_id: str,
        new: NewVersion,
        *,
        expected_version: int | None,
        metadata: dict[str, Any] | None,
        keep_versions: int | None,
    ) -> StoredState:
        """Add the next version of ``run_id`` in one transaction; a stale base raises.

        A compare-and-set append (``expected_version``, no pruning) of a run that has a row runs
        on the driver (``_driver``); anything else, and what that path leaves, here.
        """
        if expected_version is not None and keep_versions is None:
            now = utc_now()
            with database_errors(self.url):
                if self.postgres:
                    with _driver.pg_autocommit(self.engine) as pg:
                        version = _pg_writes.append(
                            pg, run_id, new, now, expected_version, metadata
                        )
                else:
                    with _driver.sqlite_write(self.engine) as lite:
                        version = _sqlite_writes.append(
                            lite, run_id, new, now, expected_version, metadata
                        )
            if version is not None:
                return new.stored(run_id, version, now)
        return self.append_in_transaction(run_id, new, expected_version, metadata, keep_versions)

    def append_in_transaction(
        self,
        run_id: str,
        new: NewVersion,
        expected_version: int | None,
        metadata: dict[str, Any] | None,
        keep_versions: int | None,
    ) -> StoredState:
        """The append as one transaction: any case, and the precise error of a stale base."""
        with database_errors(self.url):
            try:
                with self.engine.begin() as conn:
                    return self._append(
                        conn, run_id, new, expected_version, metadata, keep_versions
                    )
            except IntegrityError:
                # Another writer created the run first (Postgres does not lock a row that does
                # not exist yet): its row now exists and is locked below, so the retry sees it.
                with self.engine.begin() as conn:
                    return self._append(
                        conn, run_id, new, expected_version, metadata, keep_versions
                    )

    def _append(
        self,
        conn: Any,
        run_id: str,
        new: NewVersion,
        expected: int | None,
        metadata: dict[str, Any] | None,
        keep: int | None,
    ) -> StoredState:
        states = schema.run_states
        now = utc_now()
        row = conn.execute(_LOCK_RUN, {"b_run_id": run_id}).first()
        version = next_version(run_id, row.latest_version if row is not None else 0, expected)
        columns = new.columns()
        stored_metadata = row.metadata if row is not None else None
        facts = run_values(run_id, new, columns, version, stored_metadata, metadata, now)
        if row is None:
            conn.execute(_INSERT_RUN, {"run_id": run_id, "created_at": now, **facts})
        else:
            conn.execute(_UPDATE_RUN, {"b_run_id": run_id, **facts})
        _insert_version(conn, run_id, version, new, columns, now)
        if keep is not None:
            conn.execute(
                delete(states).where(states.c.run_id == run_id, states.c.version <= version - keep)
            )
        return new.stored(run_id, version, now)

    def create(
        self, run_id: str, new: NewVersion, metadata: dict[str, Any] | None
    ) -> StoredState | None:
        """Write version 0 of a run that has no row yet; ``None`` (and no change) if it has one."""
        now = utc_now()
        with database_errors(self.url):
            if self.postgres:
                with _driver.pg_autocommit(self.engine) as pg:
                    wrote = _pg_writes.create(pg, run_id, new, now, metadata)
            else:
                with _driver.sqlite_write(self.engine) as lite:
                    wrote = _sqlite_writes.create(lite, run_id, new, now, metadata)
        return new.stored(run_id, 0, now) if wrote else None

    def get(self, run_id: str, version: int | None) -> StoredState:
        """One version (the latest when ``version`` is None), with its JSON body."""
        states = schema.run_states
        query = select(*_STATE_META, states.c.state_json).where(states.c.run_id == run_id)
        if version is None:
            latest = (
                select(func.max(states.c.version)).where(states.c.run_id == run_id)
            ).scalar_subquery()
            query = query.where(states.c.version == latest)
        else:
            query = query.where(states.c.version == version)
        with database_errors(self.url), self._read() as conn:
            row = conn.execute(query).first()
            if row is None:
                self._raise_missing(conn, run_id, version)
        assert row is not None
        return _stored(row, row.state_json)

    def _raise_missing(self, conn: Any, run_id: str, version: int | None) -> NoReturn:
        runs, states = schema.runs, schema.run_states
        known = conn.execute(select(runs.c.run_id).where(runs.c.run_id == run_id)).first()
        if known is None:
            raise RunNotFoundError(f"no run {run_id!r} in {self.url}")
        kept = conn.execute(
            select(states.c.version).where(states.c.run_id == run_id).order_by(states.c.version)
        ).scalars()
        raise RunNotFoundError(
            f"run {run_id!r} has no version {version} (kept versions: "
            f"{', '.join(str(v) for v in kept) or 'none'})"
        )

    def versions(self, run_id: str) -> list[StoredState]:
        """Every kept version of ``run_id``, oldest first, without bodies."""
        states = schema.run_states
        with database_errors(self.url), self._read() as conn:
            rows = conn.execute(
                select(*_STATE_META).where(states.c.run_id == run_id).order_by(states.c.version)
            ).all()
            if not rows:
                self._raise_missing(conn, run_id, None)
        return [_stored(row, None) for row in rows]

    def list_runs(
        self, keep: RunFilter, limit: int | None = None, offset: int = 0
    ) -> list[RunSummary]:
        """Latest facts of runs, most recently updated first; one page (``limit``, ``offset``).

        The filters and the page are applied in the database, reading ``ix_timestep_runs_updated``
        (or, with a status, ``ix_timestep_runs_status_updated``) in order until the page is full.
        """
        query = _filtered(select(schema.runs), keep).order_by(schema.runs.c.updated_at.desc())
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        with database_errors(self.url), self._read() as conn:
            rows = conn.execute(query).all()
        return [run_summary(row) for row in rows]

    def count_runs(self, keep: RunFilter) -> int:
        """How many runs ``keep`` keeps: one ``count(*)`` in the database, no rows read."""
        query = _filtered(select(func.count()).select_from(schema.runs), keep)
        with database_errors(self.url), self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def set_status(
        self, run_id: str, status: RunStatus, metadata: dict[str, Any] | None = None
    ) -> None:
        """Change a run's status (merging ``metadata``) without writing a new state version."""
        runs = schema.runs
        with database_errors(self.url), self.engine.begin() as conn:
            row = conn.execute(
                select(runs.c.metadata).where(runs.c.run_id == run_id).with_for_update()
            ).first()
            if row is None:
                raise RunNotFoundError(f"no run {run_id!r} in {self.url}")
            values: dict[str, Any] = {"status": status, "updated_at": utc_now()}
            if metadata:
                merged = merged_metadata(row.metadata, metadata, f"run {run_id!r}: metadata")
                values["metadata"] = json.dumps(merged)
            conn.execute(update(runs).where(runs.c.run_id == run_id).values(**values))
            conn.execute(_BUMP)

    def delete(self, run_id: str) -> None:
        """Remove a run with all its versions and approval records."""
        with database_errors(self.url), self.engine.begin() as conn:
            conn.execute(delete(schema.approvals).where(schema.approvals.c.run_id == run_id))
            conn.execute(delete(schema.run_states).where(schema.run_states.c.run_id == run_id))
            done = conn.execute(delete(schema.runs).where(schema.runs.c.run_id == run_id))
            if done.rowcount == 0:
                raise RunNotFoundError(f"no run {run_id!r} in {self.url}")
            conn.execute(_BUMP)

    def run(self, run_id: str) -> RunSummary:
        """The latest facts of one run (read on the driver: the durable path's new-run check)."""
        with database_errors(self.url):
            row = _driver.read_run(self.engine, run_id)
        if row is None:
            raise RunNotFoundError(f"no run {run_id!r} in {self.url}")
        return run_summary(row)

    def decide(
        self,
        run_id: str,
        call_id: str | None,
        decision: DecisionKind,
        *,
        always: bool,
        reason: str | None,
        decided_by: str | None,
        arguments: str | None = None,
        output: str | None = None,
    ) -> DecisionOutcome:
        """Record a decision under the run row's write lock; the rules of ``choose_call`` apply."""
        runs, approvals = schema.runs, schema.approvals
        try:
            with database_errors(self.url), self.engine.begin() as conn:
                row = conn.execute(
                    select(runs.c.status, runs.c.latest_version, runs.c.pending_approvals)
                    .where(runs.c.run_id == run_id)
                    .with_for_update()
                ).first()
                if row is None:
                    raise RunNotFoundError(f"no run {run_id!r} in {self.url}")
                if row.status != "waiting":
                    raise RunNotWaitingError(
                        f"run {run_id!r} is {row.status}, not waiting for a decision"
                    )
                version = int(row.latest_version)
                pending = pending_column(
                    row.pending_approvals, f"run {run_id!r}: pending_approvals column"
                )
                decided = self._decisions(conn, run_id, version)
                entry = choose_call(run_id, pending, decided, call_id)
                record = new_record(
                    entry,
                    run_id,
                    decision,
                    always=always,
                    reason=reason,
                    decided_by=decided_by,
                    decided_at=utc_now(),
                    state_version=version,
                    arguments=arguments,
                    output=output,
                )
                conn.execute(
                    update(runs).where(runs.c.run_id == run_id).values(updated_at=utc_now())
                )
                try:
                    conn.execute(insert(approvals).values(**record.to_dict()))
                except IntegrityError as error:
                    raise _RacedError from error
                conn.execute(_BUMP)
        except _RacedError:
            # A racing writer decided the same call first (unique run_id, call_id, version).
            first = [d for d in self.decisions(run_id, version) if d.call_id == entry.call_id]
            raise already_decided(first[0]) from None
        done = {d.call_id for d in decided} | {record.call_id}
        return DecisionOutcome(record, all_decided(pending, done))

    @staticmethod
    def _decisions(conn: Any, run_id: str | None, version: int | None) -> list[DecisionRecord]:
        approvals = schema.approvals
        query = select(approvals).order_by(approvals.c.id)
        if run_id is not None:
            query = query.where(approvals.c.run_id == run_id)
        if version is not None:
            query = query.where(approvals.c.state_version == version)
        return [_decision(row) for row in conn.execute(query)]

    def decisions(self, run_id: str | None, version: int | None) -> list[DecisionRecord]:
        """Recorded decisions (of one run, of one version), oldest first."""
        with database_errors(self.url), self._read() as conn:
            return self._decisions(conn, run_id, version)

    def claim(self, run_id: str, version: int, status: RunStatus = "waiting") -> bool:
        """Flip a run in ``status`` at ``version`` to running; True only for the caller that did."""
        with database_errors(self.url), self.engine.begin() as conn:
            return self._claim(conn, run_id, version, status)

    @staticmethod
    def _claim(conn: Any, run_id: str, version: int, status: RunStatus = "waiting") -> bool:
        runs = schema.runs
        changed = conn.execute(
            update(runs)
            .where(
                runs.c.run_id == run_id,
                runs.c.status == status,
                runs.c.latest_version == version,
            )
            .values(status="running", updated_at=utc_now())
        ).rowcount
        if changed:
            conn.execute(_BUMP)
        return bool(changed)

    def claim_decisions(self, run_id: str, version: int) -> list[DecisionRecord]:
        """Mark the run running if still waiting at ``version``; that version's decisions."""
        with database_errors(self.url), self.engine.begin() as conn:
            self._claim(conn, run_id, version)
            return self._decisions(conn, run_id, version)

    def ready_to_resume(self) -> list[str]:
        """Waiting runs whose every pending call has a decision and that Python resumes.

        A run whose metadata names another ``durable_language`` (started durably by, or handed
        to, TypeScript) is left to that language's workers.
        """
        runs, approvals = schema.runs, schema.approvals
        with database_errors(self.url), self.engine.connect() as conn:
            waiting = conn.execute(
                select(
                    runs.c.run_id, runs.c.latest_version, runs.c.pending_approvals, runs.c.metadata
                ).where(runs.c.status == "waiting")
            ).all()
            ready: list[str] = []
            for row in waiting:
                try:
                    pending = pending_column(row.pending_approvals, f"run {row.run_id!r}")
                except CorruptStateError:
                    continue  # an unreadable row is listed with its problem, never resumed
                if _resume_language(row.metadata) != "python":
                    continue  # left to that language's workers (TypeScript's worker())
                decided = [
                    str(found.call_id)
                    for found in conn.execute(
                        select(approvals.c.call_id).where(
                            approvals.c.run_id == row.run_id,
                            approvals.c.state_version == row.latest_version,
                        )
                    )
                ]
                if all_decided(pending, decided):
                    ready.append(str(row.run_id))
        return ready

    def change_marker(self) -> Hashable:
        """The store's change counter (one primary-key read; every write bumps it)."""
        changes = schema.changes
        with database_errors(self.url), self._read() as conn:
            return conn.execute(select(changes.c.counter).where(changes.c.id == 1)).scalar()


def _resume_language(metadata: str | None) -> object:
    """The ``durable_language`` a run's metadata names (``python`` when none, or unreadable)."""
    try:
        found = json.loads(metadata or "{}")
    except ValueError:
        return "python"
    return found.get("durable_language", "python") if isinstance(found, dict) else "python"
