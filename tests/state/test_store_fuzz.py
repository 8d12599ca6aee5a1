"""Property test: damaged real states never escape a store as anything but a ``TimestepError``.

Seeds are the shared cross-language vectors (``tests/vectors/*/python.json`` and
``typescript.json``). Hypothesis flips bits, truncates, edits JSON values, damages side columns and
drops checksums (as in rows saved before checksums existed), writes the result straight into a
file, SQLite or Postgres store, then calls every read path. Each must answer or raise a
``TimestepError``; reads change nothing, and a later write either succeeds without touching the
damaged version or is refused with nothing written. Runs are derandomized (the same examples on
every run) and bounded (well under a minute for all three backends).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from harness.postgres import create_database, drop_database
from timestep import RunStateStore, TimestepError
from vectors.scenarios import scripted, triage_agent

VECTORS = Path(__file__).parents[1] / "vectors"
SEEDS = [p.read_text() for p in sorted(VECTORS.glob("*/python.json"))] + [
    p.read_text() for p in sorted(VECTORS.glob("*/typescript.json"))
]
REPLACEMENTS: list[Any] = [None, 0, -1, 2.5, "", "x", "\udcff", [], {}, True, [1], {"a": None}]
_ids = itertools.count()


@dataclass(frozen=True)
class Damage:
    """One way of damaging a stored state body (and optionally its side columns)."""

    seed: int
    kind: str  # "flip" | "truncate" | "edit" | "none"
    spots: tuple[float, ...]
    choice: int
    keep_checksum: bool
    side: str | None


damages = st.builds(
    Damage,
    seed=st.integers(0, len(SEEDS) - 1),
    kind=st.sampled_from(["flip", "truncate", "edit", "edit", "none"]),
    spots=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=4).map(tuple),
    choice=st.integers(0, 1000),
    keep_checksum=st.booleans(),
    side=st.one_of(
        st.none(),
        st.sampled_from(["{", "[1]", "null", '[{"call_id": 1}]', '"x"', "{}", "[]"]),
        st.text(max_size=12),
    ),
)


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


def damaged_body(damage: Damage) -> bytes:
    """The seed's text with ``damage`` applied (may be invalid UTF-8 or invalid JSON)."""
    text = SEEDS[damage.seed]
    data = bytearray(text.encode())
    if damage.kind == "flip":
        for spot in damage.spots:
            data[int(spot * len(data))] ^= 1 << (damage.choice % 8)
        return bytes(data)
    if damage.kind == "truncate":
        return bytes(data[: int(damage.spots[0] * len(data))])
    if damage.kind == "none":
        return bytes(data)
    doc = json.loads(text)
    for spot in damage.spots:
        nodes = list(_nodes(doc))[1:]
        if not nodes:
            break
        path, _ = nodes[int(spot * len(nodes))]
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and damage.choice % 3 == 0:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(REPLACEMENTS[damage.choice % len(REPLACEMENTS)])
    return json.dumps(doc).encode("utf-8", "surrogatepass")


# -- stores ---------------------------------------------------------------------------------------


class SqlTarget:
    """A database store whose rows are damaged with plain SQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        self.postgres = self.engine.dialect.name == "postgresql"

    def damage(self, run_id: str, body: bytes, damage: Damage) -> None:
        value: Any = body
        if self.postgres:  # Postgres text holds neither invalid UTF-8 nor NUL
            value = body.decode("utf-8", "replace").replace("\x00", "")
        else:
            try:
                value = body.decode("utf-8")
            except UnicodeDecodeError:
                value = body  # stored as a BLOB
        with self.engine.begin() as conn:
            checksum = "" if damage.keep_checksum else ", state_sha256 = NULL"
            conn.execute(
                sa.text(
                    f"UPDATE timestep_run_states SET state_json = :v{checksum} WHERE run_id = :r"
                ),
                {"v": value, "r": run_id},
            )
            if damage.side is not None:
                side = damage.side.replace("\x00", "") if self.postgres else damage.side
                column = ("pending_approvals", "metadata")[damage.choice % 2]
                conn.execute(
                    sa.text(f"UPDATE timestep_runs SET {column} = :v WHERE run_id = :r"),
                    {"v": side, "r": run_id},
                )
                if damage.choice % 5 == 0:
                    conn.execute(
                        sa.text(
                            "UPDATE timestep_run_states SET pending_approvals = :v "
                            "WHERE run_id = :r"
                        ),
                        {"v": side, "r": run_id},
                    )

    def snapshot(self, run_id: str) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            if not self.postgres:
                conn.connection.dbapi_connection.text_factory = bytes  # type: ignore[union-attr]
            try:
                rows = conn.execute(
                    sa.text(
                        "SELECT version, state_json, state_sha256, pending_approvals "
                        "FROM timestep_run_states WHERE run_id = :r ORDER BY version"
                    ),
                    {"r": run_id},
                ).all()
            finally:
                if not self.postgres:
                    conn.connection.dbapi_connection.text_factory = str  # type: ignore[union-attr]
        return [tuple(row) for row in rows]

    def store(self, run_id: str) -> RunStateStore:
        return RunStateStore(self.url)


class FileTarget:
    """A JSON file store per example, damaged inside its wrapper or as a whole."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, run_id: str) -> Path:
        return self.directory / f"{run_id}.json"

    def damage(self, run_id: str, body: bytes, damage: Damage) -> None:
        path = self.path(run_id)
        wrapper = json.loads(path.read_text())
        entry = wrapper["versions"][-1]
        if not damage.keep_checksum:
            entry.pop("sha256", None)
        if damage.side is not None and damage.choice % 4 == 0:
            field = ("run_id", "versions", "metadata", "status")[damage.choice % 16 // 4]
            try:
                wrapper[field] = json.loads(damage.side)
            except ValueError:
                wrapper[field] = damage.side
        try:
            entry["state"] = json.loads(body)
        except ValueError:  # not JSON (or not UTF-8): the whole file becomes the damaged text
            path.write_bytes(body)
            return
        path.write_text(json.dumps(wrapper))

    def snapshot(self, run_id: str) -> bytes:
        return self.path(run_id).read_bytes()

    def store(self, run_id: str) -> RunStateStore:
        return RunStateStore(self.path(run_id), run_id=run_id)


# -- the property ---------------------------------------------------------------------------------


def _typed(outcome: BaseException | None) -> None:
    if outcome is not None and not isinstance(outcome, TimestepError):
        raise AssertionError(f"untyped {type(outcome).__name__}: {outcome}") from outcome


async def _every_read(store: RunStateStore, run_id: str) -> None:
    agent = triage_agent(scripted(), scripted())
    reads = (
        lambda: store.get(run_id),
        lambda: store.get(run_id, version=1),
        lambda: store.load(run_id, agent),
        lambda: store.versions(run_id),
        lambda: store.list_runs(),
        lambda: store.list_runs(status="waiting"),
        lambda: store.run(run_id),
        lambda: store.decisions(run_id),
        lambda: store.ready_to_resume(),
        lambda: store.change_marker(),
    )
    for read in reads:
        try:
            await read()
        except Exception as error:
            _typed(error)


async def _check(target: SqlTarget | FileTarget, damage: Damage) -> None:
    run_id = f"fuzz-{next(_ids)}"
    store = target.store(run_id)
    seed = json.loads(SEEDS[damage.seed])
    await store.save_json(run_id, seed)
    target.damage(run_id, damaged_body(damage), damage)
    before = target.snapshot(run_id)

    await _every_read(store, run_id)
    assert target.snapshot(run_id) == before, "a read changed the stored run"

    writes = (
        lambda: store.decide(run_id, None, "approve"),
        lambda: store.set_status(run_id, "cancelled", metadata={"by": "fuzz"}),
        lambda: store.save_json(run_id, seed, expected_version=1),
    )
    for write in writes:
        try:
            await write()
        except Exception as error:
            _typed(error)
    after = target.snapshot(run_id)
    if isinstance(target, FileTarget):
        assert isinstance(before, bytes) and isinstance(after, bytes)
        if after != before:  # a write succeeded: the damaged version is still there, unchanged
            old = json.loads(before)
            kept = json.loads(after)["versions"]
            if isinstance(old, dict) and old.get("format") == "timestep.run_state_file":
                assert kept[: len(old["versions"])] == old["versions"]
            else:
                assert kept[0]["state"] == old
    else:
        assert after[: len(before)] == before, "a write changed or lost a stored version"


def fuzz(examples: int) -> settings:
    """Bounded, derandomized settings (no example database: the same run everywhere)."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@pytest.fixture(scope="module")
def sqlite_target(tmp_path_factory: pytest.TempPathFactory) -> SqlTarget:
    return SqlTarget(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")


@pytest.fixture(scope="module")
def file_target(tmp_path_factory: pytest.TempPathFactory) -> FileTarget:
    return FileTarget(tmp_path_factory.mktemp("fuzz-files"))


@pytest.fixture(scope="module")
def postgres_target(postgres_url: str) -> Iterator[SqlTarget]:
    url = create_database(postgres_url)
    target = SqlTarget(url)
    yield target
    target.engine.dispose()
    from timestep.state._engine import dispose_engine

    dispose_engine(url)
    drop_database(postgres_url, str(make_url(url).database))


@pytest.mark.slow
@fuzz(80)
@given(damage=damages)
def test_damaged_sqlite_rows_raise_only_typed_errors(
    sqlite_target: SqlTarget, damage: Damage
) -> None:
    asyncio.run(_check(sqlite_target, damage))


@pytest.mark.slow
@fuzz(100)
@given(damage=damages)
def test_damaged_state_files_raise_only_typed_errors(
    file_target: FileTarget, damage: Damage
) -> None:
    asyncio.run(_check(file_target, damage))


@pytest.mark.slow
@fuzz(30)
@given(damage=damages)
def test_damaged_postgres_rows_raise_only_typed_errors(
    postgres_target: SqlTarget, damage: Damage
) -> None:
    asyncio.run(_check(postgres_target, damage))


def test_damage_is_real() -> None:
    """The strategies do damage: most seeds no longer match their text after each kind."""
    base = Damage(seed=0, kind="flip", spots=(0.5,), choice=3, keep_checksum=True, side=None)
    assert damaged_body(base) != SEEDS[0].encode()
    edit = Damage(seed=1, kind="edit", spots=(0.1, 0.7), choice=4, keep_checksum=True, side=None)
    assert json.loads(damaged_body(edit)) != json.loads(SEEDS[1])
    cut = Damage(seed=2, kind="truncate", spots=(0.3,), choice=0, keep_checksum=True, side=None)
    assert len(damaged_body(cut)) < len(SEEDS[2].encode())
    assert sqlite3.sqlite_version  # the SQLite target stores non-UTF-8 bodies as BLOBs
