"""A sender that never strands a result, and corrections.

publications: `attempts` (reverted sends, bounded), `first_accepted_at` (the block time the chain
accepted version 1: the dispute window runs from it, so finality is known without asking the
chain), `announced_version` (the version last put on results.finalised: one announcement per
version), `ready_at` (when it became sendable: batches wait for company until a bound).
corrections: every operator correction, for the audit trail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "publications", sa.Column("attempts", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column("publications", sa.Column("first_accepted_at", sa.BigInteger, nullable=True))
    op.add_column(
        "publications",
        sa.Column("announced_version", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.add_column(
        "publications",
        sa.Column(
            "ready_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "corrections",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "fixture_id",
            sa.Text,
            sa.ForeignKey("results.fixture_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("previous", sa.LargeBinary, nullable=False),
        sa.Column("result", sa.LargeBinary, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("corrected_by", sa.Text, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("fixture_id", "version", name="corrections_once_per_version"),
    )


def downgrade() -> None:
    op.drop_table("corrections")
    for column in ("ready_at", "announced_version", "first_accepted_at", "attempts"):
        op.drop_column("publications", column)
