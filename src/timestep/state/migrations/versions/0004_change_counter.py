"""The store's change counter: ``timestep_changes``, one row bumped by every write transaction.

The inbox's live-events poll (``RunStateStore.change_marker``) used to aggregate every run row
(``count(*)``, ``sum(latest_version)``: a full scan, ~100 ms at 100,000 runs); it now reads this
row. Writers of both languages bump it at the end of each transaction that changes a run or a
decision, so the marker moves exactly when the change becomes visible.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    changes = op.create_table(
        "timestep_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("counter", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(changes, [{"id": 1, "counter": 0}])


def downgrade() -> None:
    op.drop_table("timestep_changes")
