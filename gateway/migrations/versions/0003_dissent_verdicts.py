"""Dissent records that say who was outvoted by whom: the verdict, the outvoting replicas, the
decision they belong to (refused and partial decisions are recorded with every vote) and the
replica's engine.

Revision ID: 0003_dissent_verdicts
Revises: 0002_price_guard
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_dissent_verdicts"
down_revision: str | None = "0002_price_guard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE gateway.dissents
            ADD COLUMN verdict TEXT NOT NULL DEFAULT 'REPLICA_FAULTY',
            ADD COLUMN outvoted_by TEXT[] NOT NULL DEFAULT '{}',
            ADD COLUMN decision_id TEXT NOT NULL DEFAULT '',
            ADD COLUMN decision TEXT NOT NULL DEFAULT 'ACCEPTED',
            ADD COLUMN engine TEXT NOT NULL DEFAULT '',
            ADD COLUMN error TEXT NOT NULL DEFAULT '';
        CREATE INDEX dissents_decision ON gateway.dissents (decision_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX gateway.dissents_decision;
        ALTER TABLE gateway.dissents DROP COLUMN verdict, DROP COLUMN outvoted_by,
            DROP COLUMN decision_id, DROP COLUMN decision, DROP COLUMN engine, DROP COLUMN error;
        """
    )
