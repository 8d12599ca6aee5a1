"""No credential in persisted workflow inputs: a Postgres store URL's password stays in memory."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
import test_durable_app
from psycopg import sql
from sqlalchemy.engine import make_url
from test_durable_app import make_agent

from harness.postgres import PASSWORD_GROUP
from timestep import open_session
from timestep.durable import approve, run_durable, shutdown, worker
from timestep.durable._runtime import RUNTIME
from timestep.state import RunStateStore

PASSWORD = "SECRET-d1f7c0"


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def secret_url(postgres_url: str) -> Iterator[str]:
    """A fresh database owned by a role that has a password, as a URL carrying that password."""
    suffix = uuid.uuid4().hex[:10]
    role, database = f"owner_{suffix}", f"secret_{suffix}"
    with psycopg.connect(_conninfo(postgres_url), autocommit=True) as conn:
        group = sql.Identifier(PASSWORD_GROUP)
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PASSWORD_GROUP,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(group))
        # a member of the group: the server refuses this role without its password
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(role), sql.Literal(PASSWORD), group
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(role)
            )
        )
    base = make_url(postgres_url)
    url = base.set(username=role, password=PASSWORD, database=database)
    yield url.render_as_string(hide_password=False)
    shutdown()
    with psycopg.connect(_conninfo(postgres_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
async def store(secret_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RunStateStore]:
    monkeypatch.setattr(test_durable_app, "SCENARIO", "approval")
    monkeypatch.delenv("TIMESTEP_DB", raising=False)
    monkeypatch.delenv("TIMESTEP_DBOS_URL", raising=False)
    shutdown()
    store = RunStateStore(secret_url)
    await asyncio.to_thread(store.open)
    task = asyncio.create_task(worker([make_agent()], store=store, poll_interval=0.2))
    for _ in range(300):
        if RUNTIME.launched_on(secret_url):
            break
        await asyncio.sleep(0.1)
    yield store
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    shutdown()


def _all_text(url: str) -> list[str]:
    """Every row of every table outside the system catalogs, as text (``table: row``)."""
    rows: list[str] = []
    with psycopg.connect(_conninfo(url)) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
            "AND table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            query = sql.SQL("SELECT t::text FROM {}.{} AS t").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            rows.extend(f"{schema}.{table}: {r[0]}" for r in conn.execute(query))
    return rows


async def test_a_run_on_a_password_url_persists_no_password(
    store: RunStateStore, secret_url: str
) -> None:
    session = open_session("conversation-1", db=secret_url)
    result = await run_durable(
        make_agent(), "refund", run_id="secret-run", store=store, session=session
    )
    assert result.interruptions
    # the next segment runs on the worker, from the persisted (password-free) inputs
    await approve("secret-run", store=store, resume=True)
    for _ in range(300):
        if (await store.get("secret-run")).status == "done":
            break
        await asyncio.sleep(0.1)
    assert (await store.get("secret-run")).status == "done"
    assert len(await session.get_items()) >= 2  # the worker reopened the session and wrote to it
    text = _all_text(secret_url)
    assert any(line.startswith("dbos.workflow_status") for line in text)
    assert any(line.startswith("public.timestep_runs") for line in text)
    leaked = [line[:200] for line in text if "SECRET" in line]
    assert leaked == []
