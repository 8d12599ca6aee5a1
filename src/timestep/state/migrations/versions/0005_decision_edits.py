"""Edited and answered decisions: ``timestep_approvals.arguments`` (the edited arguments an
approval ran the tool with), ``original_arguments`` (the model's, kept for the audit trail) and
``output`` (an answer given to the model instead of running the tool). NULL for older rows.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = ("arguments", "original_arguments", "output")


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("timestep_approvals", sa.Column(name, sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timestep_approvals") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
