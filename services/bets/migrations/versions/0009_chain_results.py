"""Results as bets checked them against the chain: one row per (fixture, version) the oracle
announced, with what the chain held at the configured finality. WAITING until the chain shows
that version, then SETTLED (the chain agrees), HELD (it does not: the evidence is kept for the
operator) or SUPERSEDED (a later version took over).

Revision ID: 0009_chain_results
Revises: 0008_outbox_topics
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_chain_results"
down_revision: str | None = "0008_outbox_topics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("WAITING", "SETTLED", "HELD", "SUPERSEDED")


def upgrade() -> None:
    op.create_table(
        "chain_results",
        sa.Column("fixture_id", sa.Text, primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        # What the oracle announced.
        sa.Column("claimed_status", sa.Text, nullable=False),
        sa.Column("claimed_home", sa.BigInteger, nullable=False),
        sa.Column("claimed_away", sa.BigInteger, nullable=False),
        sa.Column("claimed_sources_hash", sa.Text, nullable=False),
        sa.Column("set_games", postgresql.ARRAY(sa.Integer), nullable=False),
        sa.Column("transaction_hash", sa.Text, nullable=False),
        # What the chain held when it was judged.
        sa.Column("chain_status", sa.Text, nullable=False, server_default=""),
        sa.Column("chain_home", sa.BigInteger, nullable=True),
        sa.Column("chain_away", sa.BigInteger, nullable=True),
        sa.Column("chain_version", sa.BigInteger, nullable=True),
        sa.Column("chain_sources_hash", sa.Text, nullable=False, server_default=""),
        sa.Column("block_number", sa.BigInteger, nullable=True),
        sa.Column("signers", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("config_version", sa.BigInteger, nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(f"state IN {STATES!r}", name="chain_results_state_known"),
        schema="bets",
    )
    op.create_index(
        "chain_results_open",
        "chain_results",
        ["state", "updated_at"],
        schema="bets",
        postgresql_where=sa.text("state IN ('WAITING', 'HELD')"),
    )


def downgrade() -> None:
    op.drop_table("chain_results", schema="bets")
