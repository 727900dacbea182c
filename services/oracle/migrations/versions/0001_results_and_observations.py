"""Results and the observations behind them.

Revision ID: 0001
Revises:
Create Date: 2024-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATES = ("AWAITING_SOURCES", "AGREED", "HELD", "RESOLVED")


def upgrade() -> None:
    # Tables land in the service schema: env.py sets the search_path to it.
    op.create_table(
        "results",
        sa.Column("fixture_id", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        # The agreed or resolved MatchResult, deterministic protobuf bytes; the score columns
        # repeat it for people reading the table.
        sa.Column("result", sa.LargeBinary, nullable=True),
        sa.Column("result_status", sa.Text, nullable=True),
        sa.Column("home_score", sa.Integer, nullable=True),
        sa.Column("away_score", sa.Integer, nullable=True),
        sa.Column("sources_hash", sa.Text, nullable=False, server_default=""),
        sa.Column("resolution_note", sa.Text, nullable=False, server_default=""),
        sa.Column("resolved_by", sa.Text, nullable=False, server_default=""),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_pending", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(f"state IN {STATES!r}", name="results_state_known"),
        sa.CheckConstraint(
            "(state IN ('AGREED', 'RESOLVED')) = (result IS NOT NULL AND sources_hash <> '')",
            name="results_validated_have_result",
        ),
        sa.CheckConstraint(
            "state <> 'RESOLVED' OR resolution_note <> ''", name="results_resolution_noted"
        ),
    )
    op.create_index(
        "results_held", "results", ["fixture_id"], postgresql_where=sa.text("state = 'HELD'")
    )
    op.create_index(
        "results_event_pending",
        "results",
        ["fixture_id"],
        postgresql_where=sa.text("event_pending"),
    )
    op.create_table(
        "observations",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "fixture_id",
            sa.Text,
            sa.ForeignKey("results.fixture_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source_id", sa.Text, nullable=False),
        # The Observation exactly as recorded (deterministic protobuf bytes): the sources hash
        # is computed over these, so they are the truth; the columns after are for reading.
        sa.Column("observation", sa.LargeBinary, nullable=False),
        sa.Column("sport", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("home_score", sa.Integer, nullable=False),
        sa.Column("away_score", sa.Integer, nullable=False),
        sa.Column("set_games", postgresql.ARRAY(sa.Integer), nullable=False),
        sa.Column("home_half_time_score", sa.Integer, nullable=False),
        sa.Column("away_half_time_score", sa.Integer, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_reference", sa.Text, nullable=False, server_default=""),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("fixture_id", "source_id", name="observations_one_per_source"),
    )


def downgrade() -> None:
    op.drop_table("observations")
    op.drop_table("results")
