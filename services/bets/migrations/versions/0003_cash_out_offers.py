"""Cash-out offers: what was offered, at which prices, until when.

Kept in the database rather than in a signed token so any bets process can honour an offer
another one made, and a caller cannot stretch an offer's life or amount.

Revision ID: 0003_cash_out_offers
Revises: 0002_bets
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_cash_out_offers"
down_revision: str | None = "0002_bets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE bets.cash_out_offers (
            offer_id TEXT PRIMARY KEY,
            bet_id TEXT NOT NULL REFERENCES bets.bets (bet_id),
            amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
            prices TEXT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE bets.cash_out_offers")
