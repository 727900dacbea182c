"""Chain publication: per-result publication state and the transaction outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PUBLICATION_STATES = ("PENDING", "SUBMITTED", "CONFIRMED", "FINAL", "FAILED")
TX_STATES = ("SENT", "CONFIRMED", "SUPERSEDED", "DROPPED", "REVERTED")


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column(
            "fixture_id",
            sa.Text,
            sa.ForeignKey("results.fixture_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        # keccak256 of the fixture id: how the contract and its events name the fixture.
        sa.Column("fixture_key", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("submit_tx_id", sa.BigInteger, nullable=True),
        sa.Column("finalise_tx_id", sa.BigInteger, nullable=True),
        sa.Column("transaction_hash", sa.Text, nullable=False, server_default=""),
        sa.Column("block_number", sa.BigInteger, nullable=True),
        sa.Column("block_hash", sa.Text, nullable=False, server_default=""),
        sa.Column("final_at", sa.DateTime(timezone=True), nullable=True),
        # Set with FINAL, cleared once ResultFinalised is on the bus (outbox).
        sa.Column("final_event_pending", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("failure", sa.Text, nullable=False, server_default=""),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(f"status IN {PUBLICATION_STATES!r}", name="publications_status_known"),
    )
    op.create_index(
        "publications_open",
        "publications",
        ["status"],
        postgresql_where=sa.text("status IN ('PENDING', 'SUBMITTED', 'CONFIRMED')"),
    )
    op.create_table(
        "chain_transactions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("wallet", sa.Text, nullable=False),
        sa.Column("nonce", sa.BigInteger, nullable=False),
        # 'submit' (a batch of reports) or 'finalise'.
        sa.Column("kind", sa.Text, nullable=False),
        # The signed transaction exactly as broadcast: a re-broadcast sends these bytes again,
        # so a retry can never become a second publication.
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("tx_hash", sa.Text, nullable=False, unique=True),
        sa.Column("report_digest", sa.LargeBinary, nullable=False),
        sa.Column("fixture_ids", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("max_fee_per_gas", sa.Numeric(78, 0), nullable=False),
        sa.Column("max_priority_fee_per_gas", sa.Numeric(78, 0), nullable=False),
        sa.Column("gas", sa.BigInteger, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=True),
        sa.Column("block_hash", sa.Text, nullable=False, server_default=""),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(f"state IN {TX_STATES!r}", name="chain_transactions_state_known"),
        sa.CheckConstraint("kind IN ('submit', 'finalise')", name="chain_transactions_kind"),
    )
    op.create_index("chain_transactions_nonce", "chain_transactions", ["wallet", "nonce"])
    op.create_table(
        "chain_cursors",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("block_hash", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chain_cursors")
    op.drop_table("chain_transactions")
    op.drop_table("publications")
