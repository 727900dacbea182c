from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from service_runtime.settings import Env, ServerSettings

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class BetsSettings:
    server: ServerSettings
    database_url: str
    # The one ISO 4217 currency wallets are kept in.
    currency: str
    # Caps one deposit well below BIGINT so balances cannot overflow in SQL.
    max_deposit_minor: int
    database_pool_size: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BetsSettings:
        env = Env(dict(environ)) if environ is not None else Env()
        currency = env.str("BETS_CURRENCY", "EUR")
        if not _CURRENCY.match(currency):
            env.problems.append(
                f"BETMESH_BETS_CURRENCY={currency!r} is not an upper-case ISO 4217 code"
            )
        max_deposit = env.int("BETS_MAX_DEPOSIT_MINOR", 10_000_000)
        if max_deposit <= 0:
            env.problems.append("BETMESH_BETS_MAX_DEPOSIT_MINOR must be positive")
        pool_size = env.int("BETS_DATABASE_POOL_SIZE", 10)
        if pool_size <= 0:
            env.problems.append("BETMESH_BETS_DATABASE_POOL_SIZE must be positive")
        settings = cls(
            server=ServerSettings.read(env),
            database_url=env.str("DATABASE_URL"),
            currency=currency,
            max_deposit_minor=max_deposit,
            database_pool_size=pool_size,
        )
        env.check()
        return settings
