"""Damaged files, rows and databases: every read names the cause in a typed error, nothing is lost.

Covers non-UTF-8 bodies, wrong-shape file wrappers, unreadable side columns, a database migrated by
a newer timestep, states the SDK rejects with redacted errors, and checksums that catch edits which
still parse.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from agents import Runner
from alembic import command

from harness.refund_agent import build_agent, start_model
from timestep import (
    CorruptStateError,
    RunNotFoundError,
    RunStateStore,
    StoreSchemaError,
    TimestepError,
)
from timestep.state import _schema as schema
from timestep.state._engine import get_engine


async def _waiting_doc() -> dict[str, Any]:
    result = await Runner.run(build_agent(start_model()), "Refund order 42")
    doc: dict[str, Any] = result.to_state().to_json()
    return doc


def _db(url: str) -> sqlite3.Connection:
    return sqlite3.connect(url.removeprefix("sqlite:///"))


def _dump(url: str) -> list[tuple[Any, ...]]:
    with _db(url) as conn:
        conn.text_factory = bytes
        rows: list[tuple[Any, ...]] = []
        for table in ("timestep_runs", "timestep_run_states", "timestep_alembic_version"):
            rows += [(table, *row) for row in conn.execute(f"SELECT * FROM {table}")]
    return rows


async def _every_read(store: RunStateStore, run_id: str | None) -> list[BaseException | None]:
    """Run each read path; return what each raised (None when it answered)."""
    outcomes: list[BaseException | None] = []
    calls = (
        lambda: store.get(run_id),
        lambda: store.load(run_id, build_agent(start_model())),
        lambda: store.versions(run_id),
        lambda: store.list_runs(),
    )
    for call in calls:
        try:
            await call()
        except Exception as error:
            outcomes.append(error)
        else:
            outcomes.append(None)
    return outcomes


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'corrupt.db'}"


# -- files ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe{\x00", b'{"format": "timestep.run_state_file", "run_id": "r\xe9"}'],
    ids=["binary", "latin1"],
)
async def test_non_utf8_file_is_corrupt_and_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    store = RunStateStore(path)
    outcomes = await _every_read(store, None)
    for outcome in outcomes:
        assert isinstance(outcome, CorruptStateError), outcome
        assert "is not UTF-8 text (byte" in str(outcome)
    with pytest.raises(CorruptStateError, match="not UTF-8"):
        await store.save_json("state", await _waiting_doc())
    assert path.read_bytes() == content


async def _wrapper(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "state.json"
    await RunStateStore(path).save_json("state", await _waiting_doc())
    wrapper: dict[str, Any] = json.loads(path.read_text())
    return path, wrapper


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        (lambda w: w.pop("run_id"), "names no run"),
        (lambda w: w.update(run_id=7), "names no run"),
        (lambda w: w.update(versions={"1": {}}), "'versions' is not a list"),
        (lambda w: w["versions"][0].pop("state"), "version 1 has no 'state' object"),
        (lambda w: w["versions"][0].update(state="{}"), "version 1 has no 'state' object"),
        (lambda w: w["versions"].append(3), r"versions\[1\] is not an object"),
        (lambda w: w["versions"][0].pop("version"), "no integer 'version'"),
        (lambda w: w["versions"][0].update(agent_name=None), "no text field 'agent_name'"),
        (lambda w: w["versions"][0].update(pending_approvals={}), "pending_approvals is not a"),
        (
            lambda w: w["versions"][0].update(pending_approvals=[{"call_id": 1}]),
            r"pending_approvals\[0\] has no text field 'call_id'",
        ),
        (lambda w: w["versions"][0].update(status="paused"), "'status' is not one of"),
        (lambda w: w.update(metadata=[1, 2]), "'metadata' is not an object"),
    ],
    ids=[
        "no-run-id",
        "run-id-number",
        "versions-object",
        "entry-without-state",
        "state-string",
        "entry-number",
        "entry-without-version",
        "agent-null",
        "pending-object",
        "pending-entry",
        "status-unknown",
        "metadata-list",
    ],
)
async def test_wrong_shape_wrapper_is_named_and_never_overwritten(
    tmp_path: Path, damage: Any, cause: str
) -> None:
    path, wrapper = await _wrapper(tmp_path)
    damage(wrapper)
    path.write_text(json.dumps(wrapper))
    before = path.read_bytes()
    store = RunStateStore(path)
    for outcome in await _every_read(store, "state"):
        assert isinstance(outcome, CorruptStateError), outcome
        assert str(path) in str(outcome)
    with pytest.raises(CorruptStateError, match=cause):
        await store.save_json("state", await _waiting_doc())
    with pytest.raises(CorruptStateError, match=cause):
        await store.set_status("state", "cancelled")
    assert path.read_bytes() == before


async def test_wrapper_without_versions_holds_no_run(tmp_path: Path) -> None:
    path, wrapper = await _wrapper(tmp_path)
    wrapper["versions"] = []  # what the TypeScript store's delete() leaves behind
    path.write_text(json.dumps(wrapper))
    store = RunStateStore(path)
    with pytest.raises(RunNotFoundError, match="has no versions left"):
        await store.get("state")
    with pytest.raises(RunNotFoundError, match="has no versions left"):
        await store.versions("state")
    assert await store.list_runs() == []
    assert (await store.save_json("state", await _waiting_doc())).version == 1


async def test_file_checksum_catches_an_edit_inside_a_string(tmp_path: Path) -> None:
    path, wrapper = await _wrapper(tmp_path)
    assert isinstance(wrapper["versions"][0]["sha256"], str)
    wrapper["versions"][0]["state"]["current_agent"]["name"] = "supporT"
    path.write_text(json.dumps(wrapper))
    store = RunStateStore(path)
    with pytest.raises(CorruptStateError, match="does not match its checksum"):
        await store.get("state")
    with pytest.raises(CorruptStateError, match="does not match its checksum"):
        await store.load("state", build_agent(start_model()))
    del wrapper["versions"][0]["sha256"]  # a version written before checksums: not checked
    path.write_text(json.dumps(wrapper))
    assert (await store.get("state")).agent_name == "support"


async def test_file_checksum_survives_another_json_writer(tmp_path: Path) -> None:
    """Re-serialised by another writer (key order, 1.0 written as 1), the state still verifies."""
    path = tmp_path / "state.json"
    doc = await _waiting_doc()
    doc["context"] = {"ratio": 1.0, "b": 1, "a": "é"}
    await RunStateStore(path).save_json("state", doc)
    wrapper = json.loads(path.read_text())
    wrapper["versions"][0]["state"]["context"] = {"a": "é", "b": 1, "ratio": 1}
    path.write_text(json.dumps(wrapper, ensure_ascii=False))
    assert (await RunStateStore(path).get("state")).state_json is not None


# -- databases ------------------------------------------------------------------------------------


async def test_non_utf8_body_in_sqlite(sqlite_url: str) -> None:
    store = RunStateStore(sqlite_url)
    await store.save_json("r1", await _waiting_doc())
    with _db(sqlite_url) as conn:
        conn.execute("UPDATE timestep_run_states SET state_json = CAST(x'7bff22' AS TEXT)")
    before = _dump(sqlite_url)
    with pytest.raises(CorruptStateError, match="not UTF-8"):
        await store.get("r1")
    with _db(sqlite_url) as conn:
        conn.execute("UPDATE timestep_run_states SET state_json = x'7bff22'")  # a BLOB
    with pytest.raises(CorruptStateError, match=r"run 'r1' version 1: stored state is not UTF-8"):
        await store.load("r1", build_agent(start_model()))
    assert [v.version for v in await store.versions("r1")] == [1]
    assert [r.run_id for r in await store.list_runs()] == ["r1"]
    assert len(_dump(sqlite_url)) == len(before)


@pytest.mark.parametrize(
    "bad",
    ["{broken", "[1, 2]", '"text"', "3"],
    ids=["invalid", "list", "string", "number"],
)
async def test_unreadable_side_columns_degrade_one_row_and_keep_its_text(
    sqlite_url: str, bad: str
) -> None:
    store = RunStateStore(sqlite_url)
    doc = await _waiting_doc()
    await store.save_json("good", doc)
    await store.save_json("bad", doc, metadata={"ticket": 42})
    with _db(sqlite_url) as conn:
        conn.execute(
            "UPDATE timestep_runs SET metadata = ?, pending_approvals = ? WHERE run_id = 'bad'",
            (bad, bad),
        )
    runs = {r.run_id: r for r in await store.list_runs()}
    assert runs["good"].problem is None and len(runs["good"].pending_approvals) == 1
    assert runs["bad"].problem is not None
    assert "pending_approvals column is unreadable (it" in runs["bad"].problem
    assert "metadata column is unreadable (it is not" in runs["bad"].problem
    assert runs["bad"].metadata == {} and runs["bad"].pending_approvals == []
    # The state row is intact, so the run still loads and saves; the unreadable metadata text is
    # kept, not overwritten.
    assert len((await store.get("bad")).pending_approvals) == 1
    assert (await store.save_json("bad", doc, metadata={"next": True})).version == 2
    await store.set_status("bad", "cancelled", metadata={"by": "ops"})
    [after] = [r for r in await store.list_runs() if r.run_id == "bad"]
    assert after.problem is None
    assert after.metadata == {"unreadable_metadata": bad, "next": True, "by": "ops"}


async def test_unreadable_version_side_column_is_named(sqlite_url: str) -> None:
    store = RunStateStore(sqlite_url)
    await store.save_json("r1", await _waiting_doc())
    with _db(sqlite_url) as conn:
        conn.execute("UPDATE timestep_run_states SET pending_approvals = '[{\"call_id\": 5}]'")
    with pytest.raises(CorruptStateError, match=r"version 1: pending_approvals column\[0\]"):
        await store.versions("r1")
    # The body is the source of truth for a full read.
    assert [p.tool_name for p in (await store.get("r1")).pending_approvals] == ["refund"]


async def test_database_checksum_catches_an_edit_that_still_parses(sqlite_url: str) -> None:
    store = RunStateStore(sqlite_url)
    await store.save_json("r1", await _waiting_doc())
    with _db(sqlite_url) as conn:
        conn.execute(
            "UPDATE timestep_run_states "
            "SET state_json = replace(state_json, 'order 42', 'order 43')"
        )
    with pytest.raises(CorruptStateError, match=r"run 'r1' version 1: .*does not match its"):
        await store.load("r1", build_agent(start_model()))
    with _db(sqlite_url) as conn:  # a row saved before checksums existed: read without a check
        conn.execute("UPDATE timestep_run_states SET state_sha256 = NULL")
    assert (await store.get("r1")).state_json is not None


async def test_rows_of_a_0001_database_load_after_the_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = get_engine(url)
    command.upgrade(schema._config(engine), "0001")
    body = json.dumps(await _waiting_doc())
    with _db(url) as conn:
        conn.execute(
            "INSERT INTO timestep_runs VALUES ('old', 'support', 'waiting', 1, 'python', '[]', "
            "NULL, '2026-01-01', '2026-01-01')"
        )
        conn.execute(
            "INSERT INTO timestep_run_states VALUES ('old', 1, 'python', '0.24.0', '1.21', "
            "'support', 'waiting', '[]', ?, '2026-01-01')",
            (body,),
        )
    store = RunStateStore(url, build_agent(start_model()))
    state = await store.load("old")
    assert [i.tool_name for i in state.get_interruptions()] == ["refund"]
    assert schema.current_revision(engine) == schema.head_revision()


async def test_database_of_a_newer_timestep_is_named(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await RunStateStore(sqlite_url).save_json("r1", await _waiting_doc())
    with _db(sqlite_url) as conn:
        conn.execute("UPDATE timestep_alembic_version SET version_num = '0042'")
    before = _dump(sqlite_url)
    monkeypatch.setattr(schema, "_checked", set())  # as in a new process
    with pytest.raises(StoreSchemaError, match=r"revision '0042'.*newer timestep") as caught:
        await RunStateStore(sqlite_url).list_runs()
    assert "0001, 0002" in str(caught.value)
    with pytest.raises(StoreSchemaError, match="'0042'"):
        schema.upgrade(get_engine(sqlite_url))
    assert _dump(sqlite_url) == before


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        (lambda d: d["model_responses"].__setitem__(0, 1), "in _deserialize_model_responses"),
        (lambda d: d.update(context=5), "AttributeError: 'int' object has no attribute 'get'"),
    ],
    ids=["model-response", "context"],
)
async def test_state_the_sdk_rejects_names_the_real_cause(
    sqlite_url: str, damage: Any, cause: str
) -> None:
    doc = await _waiting_doc()
    damage(doc)
    store = RunStateStore(sqlite_url, build_agent(start_model()))
    await store.save_json("r1", doc)
    with pytest.raises(CorruptStateError) as caught:
        await store.load("r1")
    assert "redacted" not in str(caught.value)
    assert cause in str(caught.value)
    assert isinstance(caught.value, TimestepError)
