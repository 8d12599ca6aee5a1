"""``RunStateStore``: save and load the SDK's RunState in a file, SQLite or Postgres."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Hashable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from agents import Agent, RunState
from agents.result import RunResult, RunResultBase, RunResultStreaming

from .._errors import ConfigurationError, CorruptStateError, RunNotFoundError, TimestepError
from .._versions import python_sdk_version
from . import _sql_awaited
from ._backend import Backend
from ._decisions import (
    DecisionKind,
    DecisionOutcome,
    DecisionRecord,
    check_decision,
    edit_arguments,
)
from ._describe import state_facts
from ._engine import default_url, display_url
from ._file_backend import FileBackend
from ._filters import run_filter
from ._identity import install as _install_identity_fast_path
from ._nested_refs import install as _install_nested_refs_fast_path
from ._origins import Origin, origin_of, remember
from ._records import RUN_STATUSES, Language, NewVersion, RunStatus, RunSummary, StoredState
from ._restore import restore_state
from ._sql_backend import SqlBackend
from ._state_json import state_json
from .translate import to_python

StoreKind = Literal["file", "sqlite", "postgresql"]

_install_identity_fast_path()  # RunState.to_json's agent identities, same output, less CPU
_install_nested_refs_fast_path()  # RunResult.to_state without nested refs, same output, less CPU


def _kind(target: str) -> StoreKind:
    if target.startswith("sqlite:"):
        return "sqlite"
    if target.startswith(("postgresql:", "postgres:", "postgresql+")):
        return "postgresql"
    if "://" in target:
        raise ConfigurationError(
            f"unsupported store target {target!r}: use a .json file path, "
            "sqlite:///path.db or postgresql://user@host/db"
        )
    return "file"


def _to_python_json(stored: StoredState) -> dict[str, Any]:
    assert stored.state_json is not None
    if stored.language == "python":
        return stored.state_json
    try:
        return to_python(stored.state_json)
    except TimestepError:
        raise
    except Exception as error:  # a damaged state the translator does not expect
        raise CorruptStateError(
            f"run {stored.run_id!r} version {stored.version}: the {stored.language} state cannot "
            f"be translated ({type(error).__name__}: {error})"
        ) from error


#: ``json.dumps(state, separators=(",", ":"))`` without building an encoder per call.
_BODY = json.JSONEncoder(separators=(",", ":")).encode


def _new_version(
    state_json: dict[str, Any],
    language: Language | None,
    sdk_version: str,
    status: RunStatus | None,
) -> NewVersion:
    facts = state_facts(state_json)
    final_status = status or facts.status
    if final_status not in RUN_STATUSES:
        raise ConfigurationError(f"unknown status {final_status!r}; use one of {RUN_STATUSES}")
    return NewVersion(
        body=_BODY(state_json),
        language=language or facts.language,
        sdk_version=sdk_version,
        schema_version=facts.schema_version,
        agent_name=facts.agent_name,
        status=final_status,
        pending_approvals=facts.pending_approvals,
    )


def _check_page(limit: object, offset: object) -> None:
    for name, value in (("limit", limit), ("offset", offset)):
        if value is None and name == "limit":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(f"{name} must be a whole number >= 0, got {value!r}")


class RunStateStore:
    """Durable home of paused and finished runs.

    ``target`` is a JSON file path (``"state.json"``: one run), ``sqlite:///path.db`` (the
    embedded default) or ``postgresql://...``; ``None`` means ``$TIMESTEP_DB`` or
    ``sqlite:///timestep.db``. In a database, states are keyed by run id and every save adds a
    version; ``keep_versions`` prunes all but the newest N versions of a run on save.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | None = None,
        agent: Agent[Any] | None = None,
        *,
        run_id: str | None = None,
        keep_versions: int | None = None,
    ) -> None:
        text = os.fspath(target) if target is not None else default_url()
        if keep_versions is not None and keep_versions < 1:
            raise ConfigurationError(f"keep_versions must be at least 1, got {keep_versions}")
        self.kind: StoreKind = _kind(text)
        self.agent = agent
        self.run_id = run_id
        self.keep_versions = keep_versions
        self._target = text
        self._backend: Backend | None = None
        self._open_lock = threading.Lock()

    @property
    def target(self) -> str:
        """The store's full target (file path, or URL including any password)."""
        return self._target

    @property
    def url(self) -> str:
        """The store's target with any password hidden."""
        return self._target if self.kind == "file" else display_url(self._target)

    def _open(self) -> Backend:
        with self._open_lock:
            if self._backend is None:
                if self.kind == "file":
                    self._backend = FileBackend(Path(self._target), self.run_id)
                else:
                    self._backend = SqlBackend(self._target)
            return self._backend

    async def _backend_async(self) -> Backend:
        if self._backend is None:
            await asyncio.to_thread(self._open)
        assert self._backend is not None
        return self._backend

    def open(self) -> None:
        """Open the store now (a database is connected to and migrated when behind).

        Blocking; lets a command fail at start-up, not on its first request.
        """
        self._open()

    def upgrade(self) -> str:
        """Migrate a database store to the newest schema revision and return that revision."""
        if self.kind == "file":
            raise ConfigurationError(
                f"{self.url!r} is a file store; only database stores have migrations"
            )
        backend = self._open()
        assert isinstance(backend, SqlBackend)
        return backend.upgrade()

    def _resolve_run_id(self, run_id: str | None, obj: object | None = None) -> str:
        if run_id:
            return run_id
        origin = self._origin(obj)
        if origin is not None:
            return origin.run_id
        if self.run_id:
            return self.run_id
        if self.kind == "file":
            return Path(self._target).stem
        raise RunNotFoundError(
            f"no run id given: pass run_id=... (or RunStateStore(..., run_id=...)) for {self.url}"
        )

    def _origin(self, obj: object | None) -> Origin | None:
        origin = origin_of(obj) if obj is not None else None
        return origin if origin is not None and origin.store_url == self._target else None

    async def save(
        self,
        state: RunState[Any, Any] | RunResultBase,
        *,
        run_id: str | None = None,
        status: RunStatus | None = None,
        expected_version: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> StoredState:
        """Store ``state`` (or a result's state) as the next version of its run.

        A state loaded from this store, or a result resumed from such a state, is checked
        against the version it came from: if another save happened since, ``StaleStateError``
        is raised and nothing is written.
        """
        rid = self._resolve_run_id(run_id, state)
        origin = self._origin(state)
        if expected_version is None and origin is not None and origin.run_id == rid:
            expected_version = origin.version
        if isinstance(state, RunResult | RunResultStreaming):
            run_state: RunState[Any, Any] = state.to_state()
        elif isinstance(state, RunState):
            run_state = state
        else:
            raise ConfigurationError(f"save() takes a RunState or a run result, not {state!r}")
        doc = state_json(run_state)
        stored = await self.save_json(
            rid,
            doc,
            language="python",
            sdk_version=python_sdk_version(),
            status=status,
            expected_version=expected_version,
            metadata=metadata,
        )
        origin_after = Origin(self._target, rid, stored.version)
        remember(state, origin_after)
        if run_state is not state:
            remember(run_state, origin_after)
        return stored

    async def save_json(
        self,
        run_id: str,
        state_json: dict[str, Any],
        *,
        language: Language | None = None,
        sdk_version: str = "unknown",
        status: RunStatus | None = None,
        expected_version: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> StoredState:
        """Store a state document as it is (any language); facts are read from the document."""
        new = _new_version(state_json, language, sdk_version, status)
        backend = await self._backend_async()
        if isinstance(backend, SqlBackend):
            return await _sql_awaited.append(
                backend,
                run_id,
                new,
                expected_version=expected_version,
                metadata=metadata,
                keep_versions=self.keep_versions,
            )
        return await asyncio.to_thread(
            backend.append,
            run_id,
            new,
            expected_version=expected_version,
            metadata=metadata,
            keep_versions=self.keep_versions,
        )

    async def create_run(
        self,
        state: RunState[Any, Any],
        *,
        run_id: str,
        status: RunStatus = "running",
        metadata: dict[str, Any] | None = None,
    ) -> StoredState | None:
        """Give a new run its first row: ``state`` (its start) as version 0, ``running``.

        Durable runs call this when their first segment starts, so a run is listed, shown,
        cancelled and forked from its first step. Returns ``None`` and changes nothing when the
        run already exists (a repeated start, or a racing writer).
        """
        new = _new_version(state_json(state), "python", python_sdk_version(), status)
        backend = await self._backend_async()
        if isinstance(backend, SqlBackend):
            stored = await _sql_awaited.create(backend, run_id, new, metadata)
        else:
            stored = await asyncio.to_thread(backend.create, run_id, new, metadata)
        if stored is not None:
            remember(state, Origin(self._target, run_id, 0))
        return stored

    async def get(self, run_id: str | None = None, *, version: int | None = None) -> StoredState:
        """The stored row (latest version unless ``version``), with its JSON, untranslated."""
        backend = await self._backend_async()
        return await asyncio.to_thread(backend.get, self._resolve_run_id(run_id), version)

    async def load(
        self,
        run_id: str | None = None,
        agent: Agent[Any] | None = None,
        *,
        version: int | None = None,
    ) -> RunState[Any, Agent[Any]]:
        """Rebuild the SDK's RunState of ``run_id`` (latest version unless ``version``).

        States written by the TypeScript package are translated. The agent graph must contain
        the state's current agent and pending tools, else ``StateMismatchError`` says which.
        """
        target_agent = agent or self.agent
        if target_agent is None:
            raise ConfigurationError("load() needs the agent: pass it here or to RunStateStore()")
        stored = await self.get(run_id, version=version)
        state = await restore_state(_to_python_json(stored), target_agent)
        remember(state, Origin(self._target, stored.run_id, stored.version))
        return state

    async def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        agent: str | None = None,
        updated_since: str | datetime | None = None,
        search: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[RunSummary]:
        """Runs with their latest facts, most recently updated first.

        Filters (all optional, combined): ``status``; ``agent``, the agent name; ``updated_since``,
        runs updated at or after this moment (an ISO-8601 date or time, UTC unless it names a
        zone, or a ``datetime``); ``search``, a case-insensitive part of the run id. ``limit`` (at
        most that many) and ``offset`` (skip that many first) page through the list. A database
        applies the filters and cuts the page itself: no run outside the page is read into Python
        (a rare ``search`` match still walks the newest runs until the page is full).
        """
        _check_page(limit, offset)
        keep = run_filter(status, agent, updated_since, search)
        backend = await self._backend_async()
        return await asyncio.to_thread(backend.list_runs, keep, limit, offset)

    async def count_runs(
        self,
        *,
        status: RunStatus | None = None,
        agent: str | None = None,
        updated_since: str | datetime | None = None,
        search: str | None = None,
    ) -> int:
        """How many runs ``list_runs`` with the same filters pages through (one ``count``)."""
        keep = run_filter(status, agent, updated_since, search)
        backend = await self._backend_async()
        return await asyncio.to_thread(backend.count_runs, keep)

    async def run(self, run_id: str) -> RunSummary:
        """The latest facts of one run (its status may differ from its latest version's)."""
        backend = await self._backend_async()
        if isinstance(backend, SqlBackend):
            return await _sql_awaited.run(backend, run_id)
        return await asyncio.to_thread(backend.run, run_id)

    async def versions(self, run_id: str | None = None) -> list[StoredState]:
        """Kept versions of a run, oldest first, without bodies."""
        backend = await self._backend_async()
        return await asyncio.to_thread(backend.versions, self._resolve_run_id(run_id))

    async def set_status(
        self, run_id: str, status: RunStatus, *, metadata: dict[str, Any] | None = None
    ) -> None:
        """Change a run's status (e.g. ``cancelled``) without a new version.

        ``metadata`` is merged into the run's metadata (e.g. ``{"error": ...}``).
        """
        if status not in RUN_STATUSES:
            raise ConfigurationError(f"unknown status {status!r}; use one of {RUN_STATUSES}")
        backend = await self._backend_async()
        await asyncio.to_thread(backend.set_status, run_id, status, metadata)

    async def delete(self, run_id: str | None = None) -> None:
        """Remove a run and all its versions."""
        backend = await self._backend_async()
        await asyncio.to_thread(backend.delete, self._resolve_run_id(run_id))

    async def decide(
        self,
        run_id: str,
        call_id: str | None,
        decision: DecisionKind,
        *,
        always: bool = False,
        reason: str | None = None,
        decided_by: str | None = None,
        arguments: dict[str, Any] | str | None = None,
        output: str | None = None,
    ) -> DecisionOutcome:
        """Record a decision on a pending call of a waiting run (who, when, why).

        ``call_id`` None names the run's only undecided call. ``arguments`` (an ``approve``
        only): the edited arguments the tool runs with, a dict or a JSON object's text
        (``ConfigurationError`` otherwise); the record keeps them and the model's. ``output``
        (an ``answer`` only, required there): the text the model gets as the tool's output.
        Checked and written atomically: ``RunNotFoundError``, ``RunNotWaitingError``,
        ``UnknownCallError``, ``ApprovalError`` (several undecided calls, none named) or
        ``ApprovalAlreadyDecidedError`` (saying who decided and when) leave the store
        unchanged. File stores keep no decisions.
        """
        edited = edit_arguments(arguments) if arguments is not None else None
        check_decision(decision, always=always, arguments=edited, output=output)
        backend = await self._backend_async()
        return await asyncio.to_thread(
            backend.decide,
            run_id,
            call_id,
            decision,
            always=always,
            reason=reason,
            decided_by=decided_by,
            arguments=edited,
            output=output,
        )

    async def decisions(
        self, run_id: str | None = None, *, version: int | None = None
    ) -> list[DecisionRecord]:
        """Recorded decisions of one run (or all runs; of one version), oldest first."""
        backend = await self._backend_async()
        return await asyncio.to_thread(backend.decisions, run_id, version)

    async def claim(self, run_id: str, version: int, status: RunStatus = "waiting") -> bool:
        """Flip ``run_id`` from ``status`` (at ``version``) to running; True for whoever did.

        Of racing callers exactly one gets True. ``status`` is ``waiting`` (a resume) or
        ``failed`` (retrying a segment that could not load its state).
        """
        backend = await self._backend_async()
        return await asyncio.to_thread(backend.claim, run_id, version, status)

    async def claim_decisions(self, run_id: str, version: int) -> list[DecisionRecord]:
        """Mark the run running (if still waiting at ``version``) and return that version's
        decisions, in one transaction."""
        backend = await self._backend_async()
        return await asyncio.to_thread(backend.claim_decisions, run_id, version)

    async def ready_to_resume(self) -> list[str]:
        """Waiting runs whose every pending call has a recorded decision."""
        backend = await self._backend_async()
        return await asyncio.to_thread(backend.ready_to_resume)

    async def change_marker(self) -> Hashable:
        """A cheap value that changes whenever a run or a decision is written.

        In a database it is the store's change counter (one row, bumped by every write in the
        same transaction, by both languages): one primary-key read, whatever the store's size.
        """
        backend = await self._backend_async()
        return await asyncio.to_thread(backend.change_marker)

    async def close(self) -> None:
        """Forget the backend (engines are shared per process and stay pooled)."""
        self._backend = None

    async def __aenter__(self) -> RunStateStore:
        await self._backend_async()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"RunStateStore({self.url!r})"
