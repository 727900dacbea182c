"""Model snapshots by content hash, with their canonical bytes.

Revision ID: 0001_quotes
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0001_quotes"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE quotes.model_snapshots (
            -- "sha256:" + hex of snapshot; checked again by every replica that loads it
            snapshot_hash TEXT PRIMARY KEY,
            sport SMALLINT NOT NULL,
            model TEXT NOT NULL,
            -- canonical bytes of betmesh.quotes.v1.ModelSnapshot
            snapshot BYTEA NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX model_snapshots_newest ON quotes.model_snapshots (sport, created_at DESC);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE quotes.model_snapshots")
