"""The Postgres fixtures start a real server on 127.0.0.1 and hand out isolated databases."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from harness.postgres import (
    PostgresServer,
    create_database,
    drop_database,
    to_conninfo,
)

TESTS_DIR = Path(__file__).resolve().parents[1]


def test_server_url_and_round_trip(postgres_url: str) -> None:
    url = make_url(postgres_url)
    assert url.drivername == "postgresql+psycopg"
    assert url.host == "127.0.0.1"
    assert url.username == "postgres"
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            version: object = conn.execute(sa.text("SHOW server_version")).scalar_one()
            listen: object = conn.execute(sa.text("SHOW listen_addresses")).scalar_one()
    finally:
        engine.dispose()
    assert str(version).startswith("15.")
    if not os.environ.get("TIMESTEP_TEST_POSTGRES_URL"):
        assert listen == "127.0.0.1"


def test_create_insert_select(postgres_db_url: str) -> None:
    engine = sa.create_engine(postgres_db_url)
    meta = sa.MetaData()
    items = sa.Table(
        "items",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
    )
    try:
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(items.insert(), [{"name": "apple"}, {"name": "pear"}])
        with engine.connect() as conn:
            names: list[str] = list(
                conn.execute(sa.select(items.c.name).order_by(items.c.id)).scalars()
            )
    finally:
        engine.dispose()
    assert names == ["apple", "pear"]


def test_postgres_marker_is_applied(request: pytest.FixtureRequest, postgres_db_url: str) -> None:
    assert request.node.get_closest_marker("postgres") is not None


@pytest.fixture
def second_db_url(postgres_url: str) -> Iterator[str]:
    """A second fresh database in the same test, made the same way as postgres_db_url."""
    url = create_database(postgres_url)
    yield url
    drop_database(postgres_url, str(make_url(url).database))


def test_databases_are_isolated(postgres_db_url: str, second_db_url: str) -> None:
    assert postgres_db_url != second_db_url
    with psycopg.connect(to_conninfo(postgres_db_url), autocommit=True) as one:
        one.execute("CREATE TABLE only_here (x int)")
        one.execute("INSERT INTO only_here VALUES (1)")
    with psycopg.connect(to_conninfo(second_db_url), autocommit=True) as two:
        assert two.execute("SELECT to_regclass('only_here')").fetchone() == (None,)
        two.execute("CREATE TABLE only_here (x int)")  # same name, no clash
        assert two.execute("SELECT count(*) FROM only_here").fetchone() == (0,)
    with psycopg.connect(to_conninfo(postgres_db_url)) as one:
        assert one.execute("SELECT count(*) FROM only_here").fetchone() == (1,)


_leftover_dbs: list[str] = []


def test_db_is_dropped_after_test_part1(postgres_db_url: str) -> None:
    _leftover_dbs.append(str(make_url(postgres_db_url).database))


def test_db_is_dropped_after_test_part2(postgres_url: str) -> None:
    if not _leftover_dbs:
        pytest.skip("part 1 did not run (run the whole module)")
    with psycopg.connect(to_conninfo(postgres_url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (_leftover_dbs[0],)
        ).fetchone()
    assert row == (0,)


def test_server_stop_removes_everything(postgres_server: PostgresServer | None) -> None:
    if postgres_server is None:
        pytest.skip("TIMESTEP_TEST_POSTGRES_URL points at an external server")
    server = PostgresServer().start()
    base = server.base_dir
    url = server.url()
    assert base is not None and (base / "data" / "PG_VERSION").is_file()
    if os.geteuid() == 0:
        assert (base / "data").stat().st_uid != 0  # ran as the postgres user
    server.stop()
    assert not base.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(to_conninfo(url), connect_timeout=3)
    server.stop()  # idempotent


def test_server_removed_at_interpreter_exit(postgres_server: PostgresServer | None) -> None:
    # A process that starts a server and exits without stop(): the atexit hook cleans up.
    if postgres_server is None:
        pytest.skip("TIMESTEP_TEST_POSTGRES_URL points at an external server")
    code = (
        f"import sys; sys.path.insert(0, {str(TESTS_DIR)!r})\n"
        "from harness.postgres import PostgresServer\n"
        "s = PostgresServer().start()\n"
        "print(s.base_dir, s.url(), flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr
    base, url = done.stdout.split()
    assert not os.path.exists(base)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(to_conninfo(url), connect_timeout=3)


def test_server_removed_when_the_test_process_is_killed(
    postgres_server: PostgresServer | None,
) -> None:
    if postgres_server is None:
        pytest.skip("TIMESTEP_TEST_POSTGRES_URL points at an external server")
    code = (
        f"import sys, time; sys.path.insert(0, {str(TESTS_DIR)!r})\n"
        "from harness.postgres import PostgresServer\n"
        "s = PostgresServer().start()\n"
        "print(s.base_dir, s.url(), flush=True)\n"
        "time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert child.stdout is not None
        base, url = child.stdout.readline().split()
        with psycopg.connect(to_conninfo(url), connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        child.kill()
        child.wait(timeout=30)
    # The reaper notices the pipe closing, stops the server and deletes its directory.
    deadline = time.monotonic() + 120
    while os.path.exists(base) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not os.path.exists(base)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(to_conninfo(url), connect_timeout=3)


def _pytest_with_missing_binaries(ci: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TIMESTEP_TEST_POSTGRES_URL"}
    env.update(TIMESTEP_PG_BIN="/nonexistent/pg/bin", CI=ci)
    target = f"{__file__}::test_create_insert_select"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", target],
        capture_output=True,
        text=True,
        env=env,
        cwd=TESTS_DIR.parent,
        timeout=180,
        check=False,
    )


def test_missing_binaries_skip_with_reason_outside_ci() -> None:
    done = _pytest_with_missing_binaries(ci="")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert "PostgreSQL 15 server binaries not installed (apt-get install postgresql)" in done.stdout


def test_missing_binaries_fail_loudly_in_ci() -> None:
    done = _pytest_with_missing_binaries(ci="true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "CI=true but Postgres is unavailable" in done.stdout
    assert "skipped" not in done.stdout
