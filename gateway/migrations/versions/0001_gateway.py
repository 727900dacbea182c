"""Fixtures, accepted quote sets with their quorum evidence, and recorded dissents.

Revision ID: 0001_gateway
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0001_gateway"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE gateway.fixtures (
            fixture_id TEXT PRIMARY KEY,
            sport SMALLINT NOT NULL,
            start_time TIMESTAMPTZ NOT NULL,
            status SMALLINT NOT NULL,
            -- canonical bytes of betmesh.common.v1.Fixture and their digest
            fixture BYTEA NOT NULL,
            fixture_digest TEXT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX fixtures_start ON gateway.fixtures (start_time, sport);

        CREATE TABLE gateway.quote_sets (
            id BIGSERIAL PRIMARY KEY,
            fixture_id TEXT NOT NULL,
            sport SMALLINT NOT NULL,
            phase SMALLINT NOT NULL,
            digest TEXT NOT NULL,
            snapshot_hash TEXT NOT NULL,
            -- digest of the fixture as it was priced: a changed fixture is re-priced
            fixture_digest TEXT NOT NULL,
            quote_set BYTEA NOT NULL,
            -- betmesh.gateway.v1.QuorumEvidence
            evidence BYTEA NOT NULL,
            accepted_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX quote_sets_latest
            ON gateway.quote_sets (fixture_id, phase, accepted_at DESC, id DESC);

        CREATE TABLE gateway.dissents (
            id BIGSERIAL PRIMARY KEY,
            fixture_id TEXT NOT NULL,
            sport SMALLINT NOT NULL,
            replica_id TEXT NOT NULL,
            address TEXT NOT NULL,
            outcome TEXT NOT NULL,
            digest TEXT NOT NULL,
            majority_digest TEXT NOT NULL,
            first_difference TEXT NOT NULL,
            latency_micros BIGINT NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX dissents_recent ON gateway.dissents (recorded_at DESC, id DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP TABLE gateway.dissents; DROP TABLE gateway.quote_sets; DROP TABLE gateway.fixtures;"
    )
