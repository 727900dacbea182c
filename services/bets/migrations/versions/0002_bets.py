"""Bets, their legs' index, player standing, exposure, game states, bet stops, outbox.

A bet is one row (its legs as JSON: they change together); `bet_legs` only indexes which bets
touch which markets, for settlement. (player_id, idempotency_key) is unique: the database, not
the code, decides which of two concurrent retries places the bet.

Revision ID: 0002_bets
Revises: 0001_ledger
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_bets"
down_revision: str | None = "0001_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE bets.bets (
            bet_id TEXT PRIMARY KEY,
            player_id TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            status TEXT NOT NULL,
            rejection TEXT,
            rejection_message TEXT NOT NULL DEFAULT '',
            live BOOLEAN NOT NULL,
            acceptance TEXT NOT NULL,
            stake_minor BIGINT NOT NULL CHECK (stake_minor > 0),
            currency CHAR(3) NOT NULL,
            odds_e4 BIGINT NOT NULL,
            potential_payout_minor BIGINT NOT NULL,
            payout_minor BIGINT NOT NULL DEFAULT 0 CHECK (payout_minor >= 0),
            liability_minor BIGINT NOT NULL DEFAULT 0,
            settlement_count INTEGER NOT NULL DEFAULT 0,
            placed_at TIMESTAMPTZ NOT NULL,
            decided_at TIMESTAMPTZ,
            decide_after TIMESTAMPTZ,
            settled_at TIMESTAMPTZ,
            legs JSONB NOT NULL,
            CONSTRAINT bets_player_key UNIQUE (player_id, idempotency_key)
        )
        """
    )
    op.execute(
        "CREATE INDEX bets_player_placed_idx ON bets.bets (player_id, placed_at DESC, bet_id DESC)"
    )
    op.execute("CREATE INDEX bets_pending_idx ON bets.bets (decide_after) WHERE status = 'PENDING'")
    op.execute(
        "CREATE INDEX bets_settled_idx ON bets.bets (settled_at) WHERE settled_at IS NOT NULL"
    )
    op.execute(
        """
        CREATE TABLE bets.bet_legs (
            bet_id TEXT NOT NULL REFERENCES bets.bets (bet_id),
            fixture_id TEXT NOT NULL,
            market_id TEXT NOT NULL,
            placed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (bet_id, fixture_id, market_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX bet_legs_market_idx ON bets.bet_legs (fixture_id, market_id, placed_at)"
    )
    op.execute(
        """
        CREATE TABLE bets.players (
            player_id TEXT PRIMARY KEY,
            kyc_status TEXT NOT NULL DEFAULT 'UNSPECIFIED',
            of_age BOOLEAN NOT NULL DEFAULT false,
            excluded BOOLEAN NOT NULL DEFAULT false,
            provisional_since TIMESTAMPTZ,
            kyc_said_at TIMESTAMPTZ,
            stake_cap_minor BIGINT,
            pending_stake_cap_minor BIGINT,
            pending_stake_cap_effective_at TIMESTAMPTZ,
            deposit_cap_minor BIGINT,
            limits_said_at TIMESTAMPTZ
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bets.fixture_exposure (
            fixture_id TEXT PRIMARY KEY
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bets.selection_exposure (
            fixture_id TEXT NOT NULL,
            market_id TEXT NOT NULL,
            selection_id TEXT NOT NULL,
            liability_minor BIGINT NOT NULL,
            stakes_minor BIGINT NOT NULL,
            PRIMARY KEY (fixture_id, market_id, selection_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bets.game_states (
            fixture_id TEXT PRIMARY KEY,
            event_sequence BIGINT NOT NULL,
            home_score INTEGER NOT NULL,
            away_score INTEGER NOT NULL,
            home_red_cards INTEGER NOT NULL,
            away_red_cards INTEGER NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bets.market_status (
            fixture_id TEXT NOT NULL,
            -- '' : every market of the fixture
            market_id TEXT NOT NULL,
            status TEXT NOT NULL,
            event_sequence BIGINT NOT NULL,
            said_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (fixture_id, market_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bets.outbox (
            id BIGSERIAL PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            bet_id TEXT NOT NULL,
            player_id TEXT NOT NULL,
            status TEXT NOT NULL,
            payout_minor BIGINT NOT NULL,
            currency CHAR(3) NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bets.operations (
            key TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            result BIGINT
        )
        """
    )


def downgrade() -> None:
    for table in (
        "operations",
        "outbox",
        "market_status",
        "game_states",
        "selection_exposure",
        "fixture_exposure",
        "players",
        "bet_legs",
        "bets",
    ):
        op.execute(f"DROP TABLE bets.{table}")
