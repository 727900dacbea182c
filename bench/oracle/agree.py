"""Two agreeing sources for a fixture, straight through the oracle's service layer."""

from __future__ import annotations

from services.oracle.adapters.postgres_store import PostgresResultStore
from tests.support.oracle import agree_on_football_result


async def agree(store: PostgresResultStore, fixture: str) -> None:
    await agree_on_football_result(store, fixture, 2, 1)
