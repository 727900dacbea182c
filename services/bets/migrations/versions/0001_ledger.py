"""Double-entry ledger: accounts, transactions, entries, idempotency records.

The database guards the invariants as well as the code: a transaction's entries must sum to zero
per currency (checked at commit by a deferred constraint trigger), an account that may not run a
deficit never goes below zero (CHECK), and posted entries and transactions are append-only.

Revision ID: 0001_ledger
Revises:
Create Date: 2025-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0001_ledger"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE bets.accounts (
            id BIGSERIAL PRIMARY KEY,
            code TEXT NOT NULL,
            currency CHAR(3) NOT NULL,
            kind TEXT NOT NULL,
            player_id TEXT,
            normal_side SMALLINT NOT NULL CHECK (normal_side IN (1, -1)),
            allow_negative BOOLEAN NOT NULL,
            -- normal_side * sum(entries.amount_minor), kept in step by every posting
            balance_minor BIGINT NOT NULL DEFAULT 0,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT accounts_code_currency_key UNIQUE (code, currency),
            CONSTRAINT accounts_no_overdraft CHECK (allow_negative OR balance_minor >= 0),
            CONSTRAINT accounts_player_owned CHECK (
                (kind IN ('player_wallet', 'player_held')) = (player_id IS NOT NULL)
            )
        )
        """
    )
    op.execute("CREATE INDEX accounts_player_idx ON bets.accounts (player_id)")
    op.execute(
        """
        CREATE TABLE bets.transactions (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            external_reference TEXT NOT NULL DEFAULT '',
            bet_id TEXT NOT NULL DEFAULT '',
            posted_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bets.entries (
            id BIGSERIAL PRIMARY KEY,
            transaction_id TEXT NOT NULL REFERENCES bets.transactions (id),
            account_id BIGINT NOT NULL REFERENCES bets.accounts (id),
            amount_minor BIGINT NOT NULL CHECK (amount_minor <> 0),
            currency CHAR(3) NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX entries_account_idx ON bets.entries (account_id, id DESC)")
    op.execute("CREATE INDEX entries_transaction_idx ON bets.entries (transaction_id)")
    op.execute(
        """
        CREATE TABLE bets.idempotency_records (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            -- Deferred: the record is claimed before the transaction it points to is posted.
            transaction_id TEXT NOT NULL REFERENCES bets.transactions (id)
                DEFERRABLE INITIALLY DEFERRED,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION bets.check_transaction_balanced() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (
                SELECT 1 FROM bets.entries
                WHERE transaction_id = NEW.transaction_id
                GROUP BY currency
                HAVING sum(amount_minor) <> 0
            ) THEN
                RAISE EXCEPTION 'ledger transaction % does not balance', NEW.transaction_id
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER entries_balanced
        AFTER INSERT ON bets.entries
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION bets.check_transaction_balanced()
        """
    )
    op.execute(
        """
        CREATE FUNCTION bets.refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'bets.% is append-only', TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation';
        END
        $$
        """
    )
    for table in ("entries", "transactions"):
        op.execute(
            f"""
            CREATE TRIGGER {table}_append_only
            BEFORE UPDATE OR DELETE ON bets.{table}
            FOR EACH ROW EXECUTE FUNCTION bets.refuse_change()
            """
        )


def downgrade() -> None:
    op.execute("DROP TABLE bets.idempotency_records")
    op.execute("DROP TABLE bets.entries")
    op.execute("DROP TABLE bets.transactions")
    op.execute("DROP TABLE bets.accounts")
    op.execute("DROP FUNCTION bets.check_transaction_balanced()")
    op.execute("DROP FUNCTION bets.refuse_change()")
