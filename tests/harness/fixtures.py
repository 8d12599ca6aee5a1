"""Pytest fixtures of the offline harness (registered from tests/conftest.py).

- ``fake_openai``: a started ``FakeOpenAI`` server (function-scoped).
- ``call_counter`` / ``file_counter``: execution counters (in memory / a file under ``tmp_path``
  that child processes can append to).
- ``postgres_url``: SQLAlchemy URL of a throwaway PostgreSQL 15 server (session-scoped), e.g.
  ``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``. With ``TIMESTEP_TEST_POSTGRES_URL``
  set, that running server is used instead of starting one.
- ``postgres_db_url``: a fresh, empty database on it for one test (dropped afterwards).

Tests using the Postgres fixtures are marked ``postgres`` automatically. Without the server binaries
they are skipped, except under ``CI=true`` where they fail: CI must really run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from .counting import CallCounter, FileCounter
from .fake_openai import FakeOpenAI
from .postgres import (
    MISSING_REASON,
    PostgresServer,
    PostgresUnavailable,
    create_database,
    drop_database,
)

_POSTGRES_FIXTURES = frozenset({"postgres_server", "postgres_url", "postgres_db_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a Postgres fixture with ``postgres``."""
    for item in items:
        if _POSTGRES_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A started fake OpenAI-compatible server; ``fake_openai.client()`` talks to it."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def call_counter() -> CallCounter:
    """An empty in-memory execution counter."""
    return CallCounter()


@pytest.fixture
def file_counter(tmp_path: Path) -> FileCounter:
    """An empty file-backed execution counter (``str(file_counter)`` is its path)."""
    return FileCounter(tmp_path / "executions.jsonl")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    """The session's PostgreSQL server (``None`` when ``TIMESTEP_TEST_POSTGRES_URL`` is used)."""
    if os.environ.get("TIMESTEP_TEST_POSTGRES_URL"):
        yield None
        return
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as exc:
        if _in_ci():
            pytest.fail(f"CI=true but Postgres is unavailable: {exc}", pytrace=False)
        pytest.skip(MISSING_REASON if MISSING_REASON in str(exc) else str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer | None) -> str:
    """SQLAlchemy URL of the server's ``postgres`` database (shared by the whole session)."""
    if postgres_server is None:
        return os.environ["TIMESTEP_TEST_POSTGRES_URL"]
    return postgres_server.url()


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """SQLAlchemy URL of a new empty database, dropped after the test."""
    url = create_database(postgres_url)
    try:
        yield url
    finally:
        drop_database(postgres_url, str(make_url(url).database))


@pytest.fixture(params=["sqlite", "postgres"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database store: a SQLite file, then a new Postgres database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'timestep.db'}"
    url: str = request.getfixturevalue("postgres_db_url")
    return url


@pytest.fixture(params=["file", "sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``RunStateStore`` target of each kind: a JSON file, a SQLite file, a Postgres database."""
    if request.param == "file":
        return str(tmp_path / "state.json")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'timestep.db'}"
    url: str = request.getfixturevalue("postgres_db_url")
    return url


@pytest.fixture
def fresh_durable() -> Iterator[None]:
    """No DBOS instance in this process before or after the test (each test launches its own)."""
    from .cli_support import reset_durable

    reset_durable()
    yield
    reset_durable()


@pytest.fixture
async def launched_sqlite(fresh_durable: None, tmp_path: Path) -> str:
    """A SQLite store's URL, with this process's durable runtime launched on it."""
    import asyncio

    from timestep.durable._runtime import RUNTIME

    target = f"sqlite:///{tmp_path / 'runs.db'}"
    await asyncio.to_thread(RUNTIME.launch, target)
    return target
