"""Paid KYC provider: verification sessions and the webhook events already handled.

Revision ID: 0002_paid_kyc
Revises: 0001_players
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_paid_kyc"
down_revision: str | None = "0001_players"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE identity.kyc_verifications (
            provider TEXT NOT NULL,
            session_id TEXT NOT NULL,
            player_id UUID NOT NULL REFERENCES identity.players (player_id),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (provider, session_id)
        );
        CREATE TABLE identity.kyc_webhook_events (
            provider TEXT NOT NULL,
            event_id TEXT NOT NULL,
            received_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (provider, event_id)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE identity.kyc_webhook_events; DROP TABLE identity.kyc_verifications;")
