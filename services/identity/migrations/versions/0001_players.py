"""Players, their verified identity and limits; FranceConnect login attempts and sessions.

Personal data is the minimum the ANJ rules need (the identity pivot, for age and the exclusion
register). Login attempts and logout states are single-use: taking one deletes it.

Revision ID: 0001_players
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0001_players"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE identity.players (
            player_id UUID PRIMARY KEY,
            kyc_status TEXT NOT NULL CHECK (kyc_status IN
                ('PROVISIONAL', 'PENDING', 'VERIFIED', 'REJECTED', 'DEACTIVATED', 'CLOSED')),
            kyc_method TEXT NOT NULL
                CHECK (kyc_method IN ('NONE', 'FRANCECONNECT', 'PAID_PROVIDER')),
            display_name TEXT NOT NULL DEFAULT '',
            created_at TIMESTAMPTZ NOT NULL,
            verified_at TIMESTAMPTZ,
            self_excluded_until TIMESTAMPTZ
        );
        CREATE TABLE identity.verified_identities (
            player_id UUID PRIMARY KEY REFERENCES identity.players (player_id),
            method TEXT NOT NULL,
            -- the provider's pairwise subject: one player per provider identity
            subject TEXT NOT NULL,
            given_name TEXT NOT NULL,
            family_name TEXT NOT NULL,
            birthdate DATE NOT NULL,
            gender TEXT NOT NULL,
            birthplace TEXT NOT NULL,
            birthcountry TEXT NOT NULL,
            verified_at TIMESTAMPTZ NOT NULL,
            CONSTRAINT verified_identities_subject_key UNIQUE (method, subject)
        );
        CREATE TABLE identity.limits (
            player_id UUID NOT NULL REFERENCES identity.players (player_id),
            kind TEXT NOT NULL CHECK (kind IN ('deposit_7d', 'stake_7d')),
            amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
            currency CHAR(3) NOT NULL,
            pending_minor BIGINT CHECK (pending_minor >= 0),
            pending_effective_at TIMESTAMPTZ,
            PRIMARY KEY (player_id, kind)
        );
        CREATE TABLE identity.login_attempts (
            state TEXT PRIMARY KEY,
            attempt_id UUID NOT NULL UNIQUE,
            nonce TEXT NOT NULL,
            acr TEXT NOT NULL,
            return_to TEXT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE identity.franceconnect_sessions (
            session_id UUID PRIMARY KEY,
            player_id UUID NOT NULL REFERENCES identity.players (player_id),
            id_token TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE identity.logout_states (
            state TEXT PRIMARY KEY,
            session_id UUID NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE identity.logout_states;
        DROP TABLE identity.franceconnect_sessions;
        DROP TABLE identity.login_attempts;
        DROP TABLE identity.limits;
        DROP TABLE identity.verified_identities;
        DROP TABLE identity.players;
        """
    )
