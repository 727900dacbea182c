"""One sender per wallet, held in PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from services.oracle.adapters.wallet_lease import WalletLease


def test_only_one_instance_holds_a_wallet_and_the_next_takes_over(database_url: str) -> None:
    first_engine, second_engine = sa.create_engine(database_url), sa.create_engine(database_url)
    first = WalletLease(first_engine, "0xAbC0000000000000000000000000000000000001")
    second = WalletLease(second_engine, "0xabc0000000000000000000000000000000000001")
    other_wallet = WalletLease(second_engine, "0xabc0000000000000000000000000000000000002")
    try:
        assert first.try_hold()
        assert first.try_hold()  # still held, idempotent
        assert not second.try_hold()  # same wallet, whatever the case of the address
        assert other_wallet.try_hold()  # another wallet is independent
        first.release()  # the holder stops (or dies: its session ends)
        assert second.try_hold()
    finally:
        for lease in (first, second, other_wallet):
            lease.release()
        first_engine.dispose()
        second_engine.dispose()
