"""State checksums: ``timestep_run_states.state_sha256`` (NULL for versions saved before).

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("timestep_run_states", sa.Column("state_sha256", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timestep_run_states") as batch:
        batch.drop_column("state_sha256")
