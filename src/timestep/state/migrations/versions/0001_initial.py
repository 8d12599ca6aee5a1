"""Initial schema: runs, run state versions, approvals audit, sessions.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timestep_runs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("agent_name", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("pending_approvals", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=True),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_index("ix_timestep_runs_status", "timestep_runs", ["status"])
    op.create_table(
        "timestep_run_states",
        sa.Column(
            "run_id",
            sa.Text,
            sa.ForeignKey("timestep_runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("sdk_version", sa.Text, nullable=False),
        sa.Column("schema_version", sa.Text, nullable=False),
        sa.Column("agent_name", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("pending_approvals", sa.Text, nullable=False),
        sa.Column("state_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "timestep_approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("call_id", sa.Text, nullable=False),
        sa.Column("tool_name", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("always", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("decided_by", sa.Text, nullable=True),
        sa.Column("decided_at", sa.Text, nullable=False),
        sa.Column("state_version", sa.Integer, nullable=False),
        sa.UniqueConstraint(
            "run_id", "call_id", "state_version", name="uq_timestep_approvals_decision"
        ),
    )
    op.create_index("ix_timestep_approvals_run", "timestep_approvals", ["run_id"])
    # Conversation history, in the layout of the SDK's SQLAlchemySession (used with these names).
    op.create_table(
        "timestep_sessions",
        sa.Column("session_id", sa.String, primary_key=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=False),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=False),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
    )
    op.create_table(
        "timestep_session_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "session_id",
            sa.String,
            sa.ForeignKey("timestep_sessions.session_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("message_data", sa.Text, nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=False),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "idx_timestep_session_items_session_time",
        "timestep_session_items",
        ["session_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("timestep_session_items")
    op.drop_table("timestep_sessions")
    op.drop_table("timestep_approvals")
    op.drop_table("timestep_run_states")
    op.drop_table("timestep_runs")
