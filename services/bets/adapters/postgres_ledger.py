"""The ledger on PostgreSQL (schema "bets"), SQLAlchemy Core over psycopg2. Blocking: call it
from a worker thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from services.bets.domain.ledger import (
    Account,
    EntryView,
    InsufficientFunds,
    LedgerTransaction,
    TransactionKind,
    WalletBalance,
    player_held,
    player_wallet,
)
from services.bets.domain.limits import SevenDayCap
from services.bets.domain.ports import IdempotencyRecord

SCHEMA = "bets"
metadata = sa.MetaData(schema=SCHEMA)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("player_id", sa.Text),
    sa.Column("normal_side", sa.SmallInteger, nullable=False),
    sa.Column("allow_negative", sa.Boolean, nullable=False),
    sa.Column("balance_minor", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)
transactions = sa.Table(
    "transactions",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("external_reference", sa.Text, nullable=False),
    sa.Column("bet_id", sa.Text, nullable=False),
    sa.Column("posted_at", sa.DateTime(timezone=True)),
)
entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("transaction_id", sa.Text, nullable=False),
    sa.Column("account_id", sa.BigInteger, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
)
idempotency_records = sa.Table(
    "idempotency_records",
    metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("transaction_id", sa.Text, nullable=False),
)


# (code, currency) -> id of accounts known to be committed.
_ACCOUNT_IDS: dict[tuple[str, str], int] = {}


class PostgresLedgerSession:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        # Account ids this transaction created or read; cached only once it commits.
        self._fresh: dict[tuple[str, str], int] = {}

    def committed(self) -> None:
        _ACCOUNT_IDS.update(self._fresh)

    def claim_idempotency(
        self, scope: str, key: str, fingerprint: str, transaction_id: str
    ) -> IdempotencyRecord | None:
        # A concurrent insert of the same key blocks here until its transaction ends; under
        # READ COMMITTED the following SELECT then sees what it committed.
        claimed = self.connection.execute(
            pg_insert(idempotency_records)
            .values(scope=scope, key=key, fingerprint=fingerprint, transaction_id=transaction_id)
            .on_conflict_do_nothing(index_elements=["scope", "key"])
            .returning(idempotency_records.c.key)
        ).first()
        if claimed is not None:
            return None
        records = idempotency_records.c
        row = self.connection.execute(
            sa.select(records.fingerprint, records.transaction_id).where(
                records.scope == scope, records.key == key
            )
        ).one()
        return IdempotencyRecord(fingerprint=row.fingerprint, transaction_id=row.transaction_id)

    def _account_ids(self, wanted: list[Account]) -> dict[tuple[str, str], int]:
        ids: dict[tuple[str, str], int] = {}
        missing: list[Account] = []
        for account in wanted:
            key = (account.code, account.currency)
            known = _ACCOUNT_IDS.get(key) or self._fresh.get(key)
            if known is None:
                missing.append(account)
            else:
                ids[key] = known
        if not missing:
            return ids
        for account in missing:
            self.connection.execute(
                pg_insert(accounts)
                .values(
                    code=account.code,
                    currency=account.currency,
                    kind=account.kind.value,
                    player_id=account.player_id,
                    normal_side=account.normal_side,
                    allow_negative=account.allow_negative,
                    balance_minor=0,
                )
                .on_conflict_do_nothing(index_elements=["code", "currency"])
            )
        rows = self.connection.execute(
            sa.select(accounts.c.id, accounts.c.code, accounts.c.currency).where(
                sa.tuple_(accounts.c.code, accounts.c.currency).in_(
                    [(a.code, a.currency) for a in missing]
                )
            )
        )
        found = {(row.code, row.currency): row.id for row in rows}
        self._fresh.update(found)
        ids.update(found)
        return ids

    def post(self, transaction: LedgerTransaction) -> None:
        ids = self._account_ids(list({p.account: None for p in transaction.postings}))
        self.connection.execute(
            sa.insert(transactions).values(
                id=transaction.transaction_id,
                kind=transaction.kind.value,
                external_reference=transaction.external_reference,
                bet_id=transaction.bet_id,
            )
        )
        # Rows are locked in id order by every posting, so two movements never deadlock.
        ordered = sorted(
            transaction.postings, key=lambda p: ids[(p.account.code, p.account.currency)]
        )
        for posting in ordered:
            account_id = ids[(posting.account.code, posting.account.currency)]
            new_balance = accounts.c.balance_minor + accounts.c.normal_side * posting.amount_minor
            updated = self.connection.execute(
                sa.update(accounts)
                .where(accounts.c.id == account_id, accounts.c.allow_negative | (new_balance >= 0))
                .values(balance_minor=new_balance)
                .returning(accounts.c.id)
            ).first()
            if updated is None:
                raise InsufficientFunds(posting.account.code, posting.account.currency)
        self.connection.execute(
            sa.insert(entries),
            [
                {
                    "transaction_id": transaction.transaction_id,
                    "account_id": ids[(p.account.code, p.account.currency)],
                    "amount_minor": p.amount_minor,
                    "currency": p.account.currency,
                }
                for p in ordered
            ],
        )

    def wallet(self, player_id: str, currency: str) -> WalletBalance:
        return read_wallet(self.connection, player_id, currency)

    def deposit_cap(self, player_id: str) -> SevenDayCap:
        row = self.connection.execute(
            sa.text(
                "SELECT deposit_cap_minor, pending_deposit_cap_minor,"
                " pending_deposit_cap_effective_at FROM bets.players"
                " WHERE player_id = :p FOR UPDATE"
            ),
            {"p": player_id},
        ).first()
        return SevenDayCap(None, None, None) if row is None else SevenDayCap(*row)

    def deposited_since(self, player_id: str, currency: str, since: datetime) -> int:
        total = self.connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(-entries.c.amount_minor), 0))
            .select_from(
                entries.join(accounts, accounts.c.id == entries.c.account_id).join(
                    transactions, transactions.c.id == entries.c.transaction_id
                )
            )
            .where(
                accounts.c.code == player_wallet(player_id, currency).code,
                accounts.c.currency == currency,
                transactions.c.kind == TransactionKind.DEPOSIT.value,
                transactions.c.posted_at >= since,
            )
        ).scalar_one()
        return int(total)


def read_wallet(connection: Connection, player_id: str, currency: str) -> WalletBalance:
    wallet_code = player_wallet(player_id, currency).code
    held_code = player_held(player_id, currency).code
    balances = {
        row.code: row.balance_minor
        for row in connection.execute(
            sa.select(accounts.c.code, accounts.c.balance_minor).where(
                accounts.c.code.in_([wallet_code, held_code]), accounts.c.currency == currency
            )
        )
    }
    return WalletBalance(
        player_id=player_id,
        currency=currency,
        balance_minor=balances.get(wallet_code, 0),
        held_minor=balances.get(held_code, 0),
    )


class PostgresLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def session(self) -> Iterator[PostgresLedgerSession]:
        with self.engine.begin() as connection:
            session = PostgresLedgerSession(connection)
            yield session
        session.committed()

    def wallet(self, player_id: str, currency: str) -> WalletBalance:
        with self.engine.connect() as connection:
            return read_wallet(connection, player_id, currency)

    def player_entries(
        self, player_id: str, before_entry_id: int | None, limit: int
    ) -> list[EntryView]:
        query = (
            sa.select(
                entries.c.id,
                entries.c.transaction_id,
                transactions.c.kind,
                accounts.c.code,
                entries.c.amount_minor,
                entries.c.currency,
                transactions.c.posted_at,
                transactions.c.bet_id,
            )
            .select_from(
                entries.join(accounts, accounts.c.id == entries.c.account_id).join(
                    transactions, transactions.c.id == entries.c.transaction_id
                )
            )
            .where(accounts.c.player_id == player_id)
            .order_by(entries.c.id.desc())
            .limit(limit)
        )
        if before_entry_id is not None:
            query = query.where(entries.c.id < before_entry_id)
        with self.engine.connect() as connection:
            return [
                EntryView(
                    entry_id=row.id,
                    transaction_id=row.transaction_id,
                    kind=TransactionKind(row.kind),
                    account=row.code,
                    amount_minor=row.amount_minor,
                    currency=row.currency,
                    posted_at=row.posted_at,
                    bet_id=row.bet_id,
                )
                for row in connection.execute(query)
            ]
