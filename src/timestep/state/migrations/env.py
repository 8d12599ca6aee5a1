"""Alembic environment: runs timestep's migrations on the engine handed over by schema.upgrade."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from timestep.state._schema import VERSION_TABLE

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        # Processes opening a fresh or older database at once migrate it one after the other
        # (the same lock the TypeScript package takes to create the schema).
        connection.execute(text("SELECT pg_advisory_xact_lock(7201512)"))
    context.configure(
        connection=connection,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
