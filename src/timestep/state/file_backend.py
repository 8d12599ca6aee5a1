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
    StaleStateError,
    StoreUnavailableError,
)
from .decisions import DecisionKind, DecisionOutcome, DecisionRecord
from .describe import parse_state_text, state_facts
from .records import (
    NewVersion,
    PendingApproval,
    RunStatus,
    RunSummary,
    StoredState,
    load_pending,
    utc_now,
)

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
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreUnavailableError(f"state file {self.url!r}: {error.strerror}") from error
        if not text.strip():
            raise CorruptStateError(f"state file {self.url!r} is empty")
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as error:
            raise CorruptStateError(
                f"state file {self.url!r} is not valid JSON: {error.msg} at line {error.lineno} "
                f"column {error.colno}"
            ) from None
        if isinstance(doc, dict) and doc.get("format") == FILE_FORMAT:
            return doc
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
            if expected_version is not None and expected_version != latest:
                raise StaleStateError(run_id, expected_version, latest)
            now = utc_now()
            entry = {
                **new.columns(),
                "version": latest + 1,
                "pending_approvals": [p.to_dict() for p in new.pending_approvals],
                "created_at": now,
                "state": json.loads(new.body),
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
        return new.stored(run_id, latest + 1, now)

    @staticmethod
    def _stored(entry: dict[str, Any], run_id: str, *, with_body: bool) -> StoredState:
        return StoredState(
            run_id=run_id,
            version=entry["version"],
            language=entry["language"],
            sdk_version=entry["sdk_version"],
            schema_version=entry["schema_version"],
            agent_name=entry["agent_name"],
            status=entry["status"],
            pending_approvals=[PendingApproval(**p) for p in entry["pending_approvals"]],
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

    def list_runs(self, status: RunStatus | None) -> list[RunSummary]:
        """The file's run, if any (and if it matches ``status``)."""
        doc = self._read()
        if doc is None:
            return []
        last = doc["versions"][-1]
        run_status = doc.get("status", last["status"])
        if status is not None and run_status != status:
            return []
        pending = load_pending(json.dumps(last["pending_approvals"]))
        return [
            RunSummary(
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
        ]

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
        for summary in self.list_runs(None):
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
