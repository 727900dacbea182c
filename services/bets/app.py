"""Wires the bets service: settings -> PostgreSQL ledger + payment provider -> wallet -> host."""

from __future__ import annotations

import asyncio
from pathlib import Path

from betmesh.bets.v1 import bet_service_pb2, bet_service_pb2_grpc

from service_runtime import postgres
from service_runtime.server import Registration, ServiceHost
from services.bets.adapters.postgres_ledger import SCHEMA, PostgresLedger
from services.bets.adapters.sandbox_payments import SandboxPaymentProvider
from services.bets.domain.wallet import WalletService
from services.bets.servicer import BetServicer
from services.bets.settings import BetsSettings

SERVICE_NAME = bet_service_pb2.DESCRIPTOR.services_by_name["BetService"].full_name
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: BetsSettings) -> ServiceHost:
    engine = postgres.create_engine(settings.database_url, pool_size=settings.database_pool_size)
    wallets = WalletService(
        PostgresLedger(engine),
        SandboxPaymentProvider(),
        settings.currency,
        settings.max_deposit_minor,
    )
    servicer = BetServicer(wallets)

    async def migrate() -> None:
        # Before the port opens: no call may reach a schema older than the code.
        await asyncio.to_thread(postgres.migrate, settings.database_url, MIGRATIONS, SCHEMA)

    async def close() -> None:
        await asyncio.to_thread(engine.dispose)

    return ServiceHost(
        service="betmesh.bets",
        settings=settings.server,
        registrations=[
            Registration(
                SERVICE_NAME,
                lambda s: bet_service_pb2_grpc.add_BetServiceServicer_to_server(servicer, s),
            )
        ],
        on_start=[migrate],
        on_stop=[close],
    )
