"""One sender per wallet: the oracle instance that publishes holds a PostgreSQL lease on its
transmitter's address. A second instance on the same database and key stays idle (its RPCs still
serve) until the holder's connection ends, so two senders never race for one nonce sequence.
Instances on other wallets (a transmitter rotation's overlap) send side by side; the outbox's
claim on each result (PostgresOutbox.record) keeps each result to one transaction."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


class WalletLease:
    def __init__(self, engine: Engine, wallet: str) -> None:
        self.engine = engine
        self.key = f"oracle-sender:{wallet.lower()}"
        self._connection: Connection | None = None

    def try_hold(self) -> bool:
        """True while this instance holds the lease (taking it if free)."""
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("SELECT 1"))
                self._connection.commit()
                return True
            except sa.exc.DBAPIError:
                # The session (and the lock with it) is gone: try again from scratch.
                self._connection = None
        connection = self.engine.connect()
        held = connection.execute(
            sa.text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": self.key}
        ).scalar_one()
        # A session-level lock outlives the transaction: end it so the session is not left
        # idle in a transaction.
        connection.commit()
        if held:
            self._connection = connection
            return True
        connection.close()
        return False

    def release(self) -> None:
        if self._connection is not None:
            # Closing only returns the session to the pool, lock and all: unlock first.
            try:
                self._connection.execute(
                    sa.text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": self.key}
                )
                self._connection.commit()
            finally:
                self._connection.close()
                self._connection = None
