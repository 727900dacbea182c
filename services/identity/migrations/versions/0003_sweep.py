"""The periodic sweep: exclusion-register hits found after sign-up, lapses already announced.

Revision ID: 0003_sweep
Revises: 0002_paid_kyc
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_sweep"
down_revision: str | None = "0002_paid_kyc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE identity.players
            ADD COLUMN register_excluded_at TIMESTAMPTZ,
            -- The last lapse (DEACTIVATED, CLOSED) announced: each is announced once.
            ADD COLUMN lapse_announced TEXT;
        """
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE identity.players DROP COLUMN register_excluded_at,"
        " DROP COLUMN lapse_announced;"
    )
