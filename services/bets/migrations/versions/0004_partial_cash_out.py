"""Partial cash-out: what a bet has cashed out so far, and the part of the stake an offer closes.

A partial cash-out lowers the bet's stake to what stays on (settlement, exposure and a later
cash-out all work on that) and keeps the part closed and the amount paid beside it, for the
stake cap and the return-to-player report. Offers are purged once expired: the index finds them.

Revision ID: 0004_partial_cash_out
Revises: 0003_cash_out_offers
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_partial_cash_out"
down_revision: str | None = "0003_cash_out_offers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE bets.bets
            ADD COLUMN cashed_out_stake_minor BIGINT NOT NULL DEFAULT 0
                CHECK (cashed_out_stake_minor >= 0),
            ADD COLUMN cashed_out_minor BIGINT NOT NULL DEFAULT 0 CHECK (cashed_out_minor >= 0)
        """
    )
    # NULL: the whole stake (offers made before partial cash-out existed).
    op.execute("ALTER TABLE bets.cash_out_offers ADD COLUMN stake_minor BIGINT")
    op.execute("CREATE INDEX cash_out_offers_expiry_idx ON bets.cash_out_offers (expires_at)")
    op.execute("CREATE INDEX cash_out_offers_bet_idx ON bets.cash_out_offers (bet_id)")


def downgrade() -> None:
    op.execute("DROP INDEX bets.cash_out_offers_bet_idx")
    op.execute("DROP INDEX bets.cash_out_offers_expiry_idx")
    op.execute("ALTER TABLE bets.cash_out_offers DROP COLUMN stake_minor")
    op.execute(
        "ALTER TABLE bets.bets DROP COLUMN cashed_out_stake_minor, DROP COLUMN cashed_out_minor"
    )
