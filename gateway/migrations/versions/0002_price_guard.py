"""The integrity guard's price holds, the snapshot canary's reviews, and the game state a live
quote set was priced from (what the guard's next live check compares against).

Revision ID: 0002_price_guard
Revises: 0001_gateway
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_price_guard"
down_revision: str | None = "0001_gateway"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE gateway.quote_sets ADD COLUMN game_state BYTEA NOT NULL DEFAULT '';

        CREATE TABLE gateway.price_holds (
            id BIGSERIAL PRIMARY KEY,
            fixture_id TEXT NOT NULL,
            sport SMALLINT NOT NULL,
            phase SMALLINT NOT NULL,
            market_id TEXT NOT NULL,
            -- the rules broken, comma-separated, and every violation with its values (JSON)
            rules TEXT NOT NULL,
            evidence JSONB NOT NULL,
            snapshot_hash TEXT NOT NULL,
            event_sequence BIGINT NOT NULL,
            quote_set_digest TEXT NOT NULL,
            -- betmesh.common.v1.Market as agreed, and as last published (empty if never)
            held_market BYTEA NOT NULL,
            published_market BYTEA NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('OPEN', 'RELEASED', 'REJECTED')),
            held_at TIMESTAMPTZ NOT NULL,
            decided_at TIMESTAMPTZ,
            decided_by TEXT NOT NULL DEFAULT '',
            note TEXT NOT NULL DEFAULT ''
        );
        -- one open hold per market: the guard keeps a held market held until it is decided
        CREATE UNIQUE INDEX price_holds_open
            ON gateway.price_holds (fixture_id, phase, market_id) WHERE status = 'OPEN';
        CREATE INDEX price_holds_recent ON gateway.price_holds (held_at DESC, id DESC);

        CREATE TABLE gateway.snapshot_reviews (
            snapshot_hash TEXT PRIMARY KEY,
            sport SMALLINT NOT NULL,
            verdict TEXT NOT NULL
                CHECK (verdict IN ('APPROVED', 'REFUSED', 'FORCED', 'BASELINE')),
            -- betmesh.gateway.v1.SnapshotReview: scores, the price-difference report, reasons
            review BYTEA NOT NULL,
            reviewed_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX snapshot_reviews_recent ON gateway.snapshot_reviews (reviewed_at DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE gateway.snapshot_reviews;
        DROP TABLE gateway.price_holds;
        ALTER TABLE gateway.quote_sets DROP COLUMN game_state;
        """
    )
