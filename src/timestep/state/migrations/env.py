"""Alembic environment: runs timestep's migrations on the engine handed over by schema.upgrade."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from timestep.state._schema import VERSION_TABLE

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
