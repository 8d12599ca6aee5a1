"""Indexes for lists that must not slow down as history grows: runs by update time (all, and
within one status), so listing runs newest first reads the index in order instead of sorting the
table, and the newest update (the inbox's change marker) is one index probe.

Revision ID: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_timestep_runs_updated", "timestep_runs", ["updated_at"])
    op.create_index("ix_timestep_runs_status_updated", "timestep_runs", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_timestep_runs_status_updated", "timestep_runs")
    op.drop_index("ix_timestep_runs_updated", "timestep_runs")
