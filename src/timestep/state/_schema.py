"""SQL tables of the timestep store and the Alembic migrations that create them.

Tables are shared with the TypeScript package (docs/dev/contracts.md). The schema is changed only
by adding a migration under ``migrations/versions``; opening a store checks the revision with one
``SELECT`` and migrates only when the database is behind, so no DDL runs on an ordinary connect.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

from .._errors import StoreSchemaError
from .._versions import timestep_version
from ._engine import display_url

VERSION_TABLE = "timestep_alembic_version"
SESSIONS_TABLE = "timestep_sessions"
SESSION_ITEMS_TABLE = "timestep_session_items"
_MIGRATIONS = Path(__file__).with_name("migrations")

metadata = MetaData()

runs = Table(
    "timestep_runs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("agent_name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("language", Text, nullable=False),
    Column("pending_approvals", Text, nullable=False),
    Column("metadata", Text, nullable=True),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Index("ix_timestep_runs_status", "status"),
    Index("ix_timestep_runs_updated", "updated_at"),
    Index("ix_timestep_runs_status_updated", "status", "updated_at"),
)

run_states = Table(
    "timestep_run_states",
    metadata,
    Column(
        "run_id",
        Text,
        ForeignKey("timestep_runs.run_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("language", Text, nullable=False),
    Column("sdk_version", Text, nullable=False),
    Column("schema_version", Text, nullable=False),
    Column("agent_name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("pending_approvals", Text, nullable=False),
    Column("state_json", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("state_sha256", Text, nullable=True),
)

approvals = Table(
    "timestep_approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Text, nullable=False),
    Column("call_id", Text, nullable=False),
    Column("tool_name", Text, nullable=False),
    Column("decision", Text, nullable=False),
    Column("always", Boolean, nullable=False),
    Column("reason", Text, nullable=True),
    Column("decided_by", Text, nullable=True),
    Column("decided_at", Text, nullable=False),
    Column("state_version", Integer, nullable=False),
    Column("arguments", Text, nullable=True),
    Column("original_arguments", Text, nullable=True),
    Column("output", Text, nullable=True),
    UniqueConstraint("run_id", "call_id", "state_version", name="uq_timestep_approvals_decision"),
    Index("ix_timestep_approvals_run", "run_id"),
)

#: The store's change counter: one row (``id`` 1) whose ``counter`` every write transaction bumps
#: (both languages), so "has anything changed?" is one primary-key read at any size.
changes = Table(
    "timestep_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("counter", BigInteger, nullable=False),
)

_checked: set[str] = set()
_lock = threading.RLock()


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this version of timestep."""
    head = ScriptDirectory.from_config(_config_for_scripts()).get_current_head()
    assert head is not None
    return head


def _config_for_scripts() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def known_revisions() -> list[str]:
    """Every migration revision shipped with this version of timestep, oldest first."""
    script = ScriptDirectory.from_config(_config_for_scripts())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def check_revision(engine: Engine, revision: str | None) -> None:
    """Raise ``StoreSchemaError`` if the database was migrated by a newer timestep."""
    known = known_revisions()
    if revision is not None and revision not in known:
        raise StoreSchemaError(
            f"database {display_url(engine.url)} is at schema revision {revision!r}, which this "
            f"timestep {timestep_version()} does not know (it knows {', '.join(known)}): the "
            "database was migrated by a newer timestep; upgrade timestep to use it"
        )


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for a database without timestep tables."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return ctx.get_current_revision()


def upgrade(engine: Engine) -> str:
    """Migrate the database to the newest revision and return it.

    Alembic keeps its running context in module globals, so migrations in one process are
    serialised; across processes the database's own locking orders them.
    """
    with _lock:
        check_revision(engine, current_revision(engine))
        command.upgrade(_config(engine), "head")
        _checked.add(engine.url.render_as_string(hide_password=True))
    return head_revision()


def ensure_schema(engine: Engine) -> None:
    """Migrate once per process and database when the database is behind; otherwise only read."""
    key = engine.url.render_as_string(hide_password=True)
    with _lock:
        if key in _checked:
            return
        revision = current_revision(engine)
        check_revision(engine, revision)
        if revision != head_revision():
            command.upgrade(_config(engine), "head")
        _checked.add(key)
