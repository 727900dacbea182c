"""The 7-day deposit cap as the stake cap is kept: in force, and a raise waiting out its 48 h.

Each cap has its own "said at": identity announces them in separate events, and an older
word on one cap must not be taken as newer than the other.

Revision ID: 0006_deposit_cap
Revises: 0005_place_bet
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_deposit_cap"
down_revision: str | None = "0005_place_bet"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE bets.players
            ADD COLUMN pending_deposit_cap_minor BIGINT,
            ADD COLUMN pending_deposit_cap_effective_at TIMESTAMPTZ,
            ADD COLUMN deposit_limits_said_at TIMESTAMPTZ
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE bets.players
            DROP COLUMN pending_deposit_cap_minor,
            DROP COLUMN pending_deposit_cap_effective_at,
            DROP COLUMN deposit_limits_said_at
        """
    )
