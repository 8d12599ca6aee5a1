"""Sessions in the store's database, and schema migrations that run once, never on connect."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from agents import Agent
from agents.testing import ScriptedModel, assistant_message
from sqlalchemy import event

from timestep import RunStateStore, open_session, run_agent
from timestep.state import _schema as schema
from timestep.state._engine import get_engine


async def test_session_history_persists_in_the_database(db_target: str) -> None:
    model = ScriptedModel([[assistant_message("Hi Ada.")], [assistant_message("You are Ada.")]])
    agent = Agent(name="chat", model=model)
    await run_agent(agent, "My name is Ada.", session=open_session("user-1", db_target))
    # A new session object (as a new process would make) sees the same history.
    result = await run_agent(agent, "Who am I?", session=open_session("user-1", db_target))
    assert result.final_output == "You are Ada."
    second_input = model.calls[1].input
    texts = [str(item.get("content")) for item in second_input if isinstance(item, dict)]
    assert any("My name is Ada." in t for t in texts)
    assert any("Hi Ada." in t for t in texts)
    items = await open_session("user-1", db_target).get_items()
    assert len(items) == 4
    assert await open_session("someone-else", db_target).get_items() == []


async def test_session_id_string_uses_the_default_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'default.db'}"
    monkeypatch.setenv("TIMESTEP_DB", url)
    model = ScriptedModel([[assistant_message("one")], [assistant_message("two")]])
    agent = Agent(name="chat", model=model)
    await run_agent(agent, "first", session="s1")
    await run_agent(agent, "second", session="s1")
    assert len(await open_session("s1", url).get_items()) == 4


async def test_fresh_database_is_migrated_to_head(db_target: str) -> None:
    await RunStateStore(db_target).list_runs()
    engine = get_engine(db_target)
    assert schema.current_revision(engine) == schema.head_revision() == "0005"


async def test_reopening_runs_no_ddl(db_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await RunStateStore(db_target).list_runs()
    monkeypatch.setattr(schema, "_checked", set())  # as in a new process
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.strip().split()[0].upper())

    engine = get_engine(db_target)
    event.listen(engine, "before_cursor_execute", record)
    try:
        await RunStateStore(db_target).list_runs()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements, "the store should have read the schema revision"
    assert not {"CREATE", "ALTER", "DROP"} & set(statements)


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'up.db'}")
    assert schema.current_revision(engine) is None
    assert schema.upgrade(engine) == "0005"
    assert schema.upgrade(engine) == "0005"
    assert schema.current_revision(engine) == "0005"


async def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    """Alembic keeps globals: stores opened at once on a fresh database must not race."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    stores = [RunStateStore(url) for _ in range(8)]
    results = await asyncio.gather(*(store.list_runs() for store in stores))
    assert results == [[]] * 8
    assert schema.current_revision(get_engine(url)) == "0005"


async def test_revision_0003_database_gains_the_decision_edit_columns(tmp_path: Path) -> None:
    """0005 adds the edited-arguments and answer columns; decisions recorded before read as
    plain approvals (NULL extras)."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = get_engine(url)
    command.upgrade(schema._config(engine), "0003")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO timestep_approvals (run_id, call_id, tool_name, decision, always, "
                "decided_at, state_version) VALUES ('old', 'c1', 'refund', 'approve', false, "
                "'2026-01-01T00:00:00Z', 1)"
            )
        )
    schema._checked.discard(engine.url.render_as_string(hide_password=True))
    [old] = await RunStateStore(url).decisions("old")
    assert (old.decision, old.arguments, old.original_arguments, old.output) == (
        "approve",
        None,
        None,
        None,
    )
    assert schema.current_revision(engine) == "0005"
