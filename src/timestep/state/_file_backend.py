"""RunStateStore backend for a JSON file holding one run and its versions.

The file is replaced atomically (write to a temporary file, then rename) under an exclusive lock,
so a crash mid-save leaves the previous content intact. A bare RunState JSON file written by the
SDK (``state.to_string()``) is read as version 1 of its run.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._errors import (
    ConfigurationError,
    CorruptStateError,
    RunNotFoundError,
    StoreUnavailableError,
)
from ._decisions import DecisionKind, DecisionOutcome, DecisionRecord
from ._decode import json_value, pending_list, text_of
from ._describe import parse_state_text, state_facts
from ._filters import RunFilter
from ._integrity import check, value_checksum
from ._records import RUN_STATUSES, NewVersion, RunStatus, RunSummary, StoredState, utc_now
from ._row_values import next_version

FILE_FORMAT = "timestep.run_state_file"


class FileBackend:
    """Keeps one run (all its versions) in a JSON file."""

    def __init__(self, path: Path, default_run_id: str | None) -> None:
        self.path = path.expanduser()
        self.url = str(self.path)
        self.default_run_id = default_run_id or self.path.stem
        if not self.path.parent.is_dir():
            raise StoreUnavailableError(
                f"state file {str(self.path)!r}: directory {str(self.path.parent)!r} does not exist"
            )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = open(lock_path, "a")  # noqa: SIM115 - held for the whole block
        except OSError as error:
            raise StoreUnavailableError(f"state file {self.url!r}: {error.strerror}") from error
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreUnavailableError(f"state file {self.url!r}: {error.strerror}") from error
        where = f"state file {self.url!r}"
        text = text_of(raw, where)
        if not text.strip():
            raise CorruptStateError(f"{where} is empty")
        doc = json_value(text, where)
        if isinstance(doc, dict) and doc.get("format") == FILE_FORMAT:
            return _checked_wrapper(doc, where)
        state = parse_state_text(text)  # a bare SDK state: adopt it as version 1
        facts = state_facts(state)
        return {
            "format": FILE_FORMAT,
            "run_id": self.default_run_id,
            "metadata": {},
            "created_at": utc_now(),
            "versions": [
                {
                    "version": 1,
                    "language": facts.language,
                    "sdk_version": "unknown",
                    "schema_version": facts.schema_version,
                    "agent_name": facts.agent_name,
                    "status": facts.status,
                    "pending_approvals": [p.to_dict() for p in facts.pending_approvals],
                    "created_at": utc_now(),
                    "state": state,
                }
            ],
        }

    def _write(self, doc: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(doc, handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _check_run(self, doc: dict[str, Any] | None, run_id: str) -> dict[str, Any]:
        if doc is None:
            raise RunNotFoundError(f"no run {run_id!r}: state file {self.url!r} does not exist")
        if doc["run_id"] != run_id:
            raise RunNotFoundError(
                f"state file {self.url!r} holds run {doc['run_id']!r}, not {run_id!r}"
            )
        if not doc["versions"]:
            raise RunNotFoundError(
                f"run {run_id!r} has no versions left in state file {self.url!r} (deleted)"
            )
        return doc

    def append(
        self,
        run_id: str,
        new: NewVersion,
        *,
        expected_version: int | None,
        metadata: dict[str, Any] | None,
        keep_versions: int | None,
    ) -> StoredState:
        """Add the next version; a stale base or another run's file raises, changing nothing."""
        with self._locked():
            doc = self._read()
            if doc is not None and doc["run_id"] != run_id:
                raise RunNotFoundError(
                    f"state file {self.url!r} holds run {doc['run_id']!r}; "
                    f"it cannot also hold run {run_id!r}"
                )
            versions: list[dict[str, Any]] = doc["versions"] if doc else []
            latest = versions[-1]["version"] if versions else 0
            version = next_version(run_id, latest, expected_version)
            now = utc_now()
            state = json.loads(new.body)
            entry = {
                **new.columns(),
                "version": version,
                "pending_approvals": [p.to_dict() for p in new.pending_approvals],
                "created_at": now,
                "state": state,
                "sha256": value_checksum(state),
            }
            versions.append(entry)
            if keep_versions is not None:
                versions = versions[-keep_versions:]
            self._write(
                {
                    "format": FILE_FORMAT,
                    "run_id": run_id,
                    "status": new.status,
                    "metadata": {**(doc or {}).get("metadata", {}), **(metadata or {})},
                    "created_at": (doc or {}).get("created_at", now),
                    "updated_at": now,
                    "versions": versions,
                }
            )
        return new.stored(run_id, version, now)

    def create(
        self, run_id: str, new: NewVersion, metadata: dict[str, Any] | None
    ) -> StoredState | None:
        """Write version 0 of the run into a new file; ``None`` if the file holds this run."""
        with self._locked():
            doc = self._read()
            if doc is not None:
                self._check_run(doc, run_id)
                return None
            now = utc_now()
            state = json.loads(new.body)
            entry = {
                **new.columns(),
                "version": 0,
                "pending_approvals": [p.to_dict() for p in new.pending_approvals],
                "created_at": now,
                "state": state,
                "sha256": value_checksum(state),
            }
            self._write(
                {
                    "format": FILE_FORMAT,
                    "run_id": run_id,
                    "status": new.status,
                    "metadata": dict(metadata or {}),
                    "created_at": now,
                    "updated_at": now,
                    "versions": [entry],
                }
            )
        return new.stored(run_id, 0, now)

    def _stored(self, entry: dict[str, Any], run_id: str, *, with_body: bool) -> StoredState:
        where = f"run {run_id!r} version {entry['version']} in state file {self.url!r}"
        if with_body:
            check(value_checksum(entry["state"]), entry.get("sha256"), where)
        return StoredState(
            run_id=run_id,
            version=entry["version"],
            language=entry["language"],
            sdk_version=entry["sdk_version"],
            schema_version=entry["schema_version"],
            agent_name=entry["agent_name"],
            status=entry["status"],
            pending_approvals=pending_list(entry["pending_approvals"], f"{where}: pending"),
            state_json=entry["state"] if with_body else None,
            created_at=entry["created_at"],
        )

    def get(self, run_id: str, version: int | None) -> StoredState:
        """One version (latest when ``version`` is None) with its body."""
        doc = self._check_run(self._read(), run_id)
        entries = doc["versions"]
        if version is None:
            return self._stored(entries[-1], run_id, with_body=True)
        for entry in entries:
            if entry["version"] == version:
                return self._stored(entry, run_id, with_body=True)
        kept = ", ".join(str(e["version"]) for e in entries)
        raise RunNotFoundError(f"run {run_id!r} has no version {version} (kept versions: {kept})")

    def versions(self, run_id: str) -> list[StoredState]:
        """Every kept version, oldest first, without bodies."""
        doc = self._check_run(self._read(), run_id)
        return [self._stored(e, run_id, with_body=False) for e in doc["versions"]]

    def list_runs(
        self, keep: RunFilter, limit: int | None = None, offset: int = 0
    ) -> list[RunSummary]:
        """The file's run, if any (and if ``keep`` keeps it), paged like a database's."""
        found = self._list_runs(keep)
        return found[offset:] if limit is None else found[offset : offset + limit]

    def count_runs(self, keep: RunFilter) -> int:
        """1 when the file holds a run that ``keep`` keeps, else 0."""
        return len(self._list_runs(keep))

    def _list_runs(self, keep: RunFilter) -> list[RunSummary]:
        doc = self._read()
        if doc is None or not doc["versions"]:
            return []
        last = doc["versions"][-1]
        run_status = doc.get("status", last["status"])
        if keep.status is not None and run_status != keep.status:
            return []  # before reading the pending column, as a database's WHERE would
        pending = pending_list(last["pending_approvals"], f"state file {self.url!r}: pending")
        summary = RunSummary(
            run_id=doc["run_id"],
            agent_name=last["agent_name"],
            status=run_status,
            latest_version=last["version"],
            language=last["language"],
            pending_approvals=pending,
            metadata=doc.get("metadata", {}),
            created_at=doc["created_at"],
            updated_at=doc.get("updated_at", last["created_at"]),
        )
        return [summary] if keep.matches(summary) else []

    def set_status(
        self, run_id: str, status: RunStatus, metadata: dict[str, Any] | None = None
    ) -> None:
        """Change the run's status (merging ``metadata``) without a new version."""
        with self._locked():
            doc = self._check_run(self._read(), run_id)
            doc["status"] = status
            if metadata:
                doc["metadata"] = {**doc.get("metadata", {}), **metadata}
            doc["updated_at"] = utc_now()
            self._write(doc)

    def delete(self, run_id: str) -> None:
        """Remove the file (only if it holds ``run_id``)."""
        with self._locked():
            self._check_run(self._read(), run_id)
            self.path.unlink()

    def run(self, run_id: str) -> RunSummary:
        """The latest facts of the file's run."""
        for summary in self._list_runs(RunFilter()):
            if summary.run_id == run_id:
                return summary
        self._check_run(self._read(), run_id)
        raise RunNotFoundError(f"no run {run_id!r} in {self.url}")  # pragma: no cover

    def _no_decisions(self) -> ConfigurationError:
        return ConfigurationError(
            f"store {self.url!r} is a file, not a database: decisions on pending calls need "
            "a SQLite or Postgres store"
        )

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
        """Refused: a file store keeps no decisions."""
        raise self._no_decisions()

    def decisions(self, run_id: str | None, version: int | None) -> list[DecisionRecord]:
        """None: a file store keeps no decisions."""
        return []

    def claim(self, run_id: str, version: int, status: RunStatus = "waiting") -> bool:
        """Refused: durable runs need a database store."""
        raise self._no_decisions()

    def claim_decisions(self, run_id: str, version: int) -> list[DecisionRecord]:
        """Refused: durable runs need a database store."""
        raise self._no_decisions()

    def ready_to_resume(self) -> list[str]:
        """None: a file store keeps no decisions."""
        return []

    def change_marker(self) -> Hashable:
        """The file's modification time and size (None while it does not exist)."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_size)


_ENTRY_TEXT_FIELDS = ("sdk_version", "schema_version", "agent_name", "created_at")


def _checked_entry(entry: object, index: int, where: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise CorruptStateError(f"{where}: versions[{index}] is not an object")
    version = entry.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise CorruptStateError(f"{where}: versions[{index}] has no integer 'version' (0 or more)")
    here = f"{where}: version {version}"
    if not isinstance(entry.get("state"), dict):
        raise CorruptStateError(f"{here} has no 'state' object")
    for name in _ENTRY_TEXT_FIELDS:
        if not isinstance(entry.get(name), str):
            raise CorruptStateError(f"{here} has no text field {name!r}")
    if entry.get("language") not in ("python", "typescript"):
        raise CorruptStateError(f"{here}: 'language' is not 'python' or 'typescript'")
    if entry.get("status") not in RUN_STATUSES:
        raise CorruptStateError(f"{here}: 'status' is not one of {', '.join(RUN_STATUSES)}")
    if not isinstance(entry.get("sha256", ""), str):
        raise CorruptStateError(f"{here}: 'sha256' is not text")
    pending_list(entry.get("pending_approvals"), f"{here}: pending_approvals")
    return entry


def _checked_wrapper(doc: dict[str, Any], where: str) -> dict[str, Any]:
    """The file's wrapper, or ``CorruptStateError`` naming the first field of the wrong shape."""
    run_id = doc.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        raise CorruptStateError(f"{where} names no run ('run_id' is missing or not text)")
    versions = doc.get("versions")
    if not isinstance(versions, list):
        raise CorruptStateError(f"{where}: 'versions' is not a list")
    entries = [_checked_entry(entry, index, where) for index, entry in enumerate(versions)]
    numbers = [entry["version"] for entry in entries]
    if numbers != sorted(set(numbers)):
        raise CorruptStateError(f"{where}: version numbers are not increasing ({numbers})")
    if not isinstance(doc.get("metadata", {}), dict):
        raise CorruptStateError(f"{where}: 'metadata' is not an object")
    if "status" in doc and doc["status"] not in RUN_STATUSES:
        raise CorruptStateError(f"{where}: 'status' is not one of {', '.join(RUN_STATUSES)}")
    for name in ("created_at", "updated_at"):
        if name in doc and not isinstance(doc[name], str):
            raise CorruptStateError(f"{where}: {name!r} is not text")
    if "created_at" not in doc:
        raise CorruptStateError(f"{where} has no 'created_at'")
    return doc
