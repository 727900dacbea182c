"""Wires the oracle: settings -> migrations, PostgreSQL store, event bus -> servicer -> host."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import redis.asyncio as aioredis
from betmesh.oracle.v1 import oracle_service_pb2, oracle_service_pb2_grpc

from service_runtime.auth import AnonymousAuthenticator, Authenticator
from service_runtime.events import EventPublisher
from service_runtime.postgres import create_engine, migrate
from service_runtime.server import Registration, ServiceHost
from services.oracle.adapters.events import ResultEventPublisher
from services.oracle.adapters.postgres_store import PostgresResultStore
from services.oracle.domain.results import Oracle
from services.oracle.servicer import OracleServicer
from services.oracle.settings import OracleSettings

SERVICE_NAME = oracle_service_pb2.DESCRIPTOR.services_by_name["OracleService"].full_name
SCHEMA = "oracle"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)


async def _relay(oracle: Oracle, interval: float) -> None:
    """The outbox relay: events a publish failure or a crash left behind go out eventually."""
    while True:
        try:
            sent = await oracle.announce_pending()
            if sent:
                log.info("pending result events announced", extra={"count": sent})
        except Exception:
            log.warning("event relay pass failed", exc_info=True)
        await asyncio.sleep(interval)


async def build(
    settings: OracleSettings, authenticator: Authenticator | None = None
) -> ServiceHost:
    await asyncio.to_thread(migrate, settings.database_url, MIGRATIONS, SCHEMA)
    engine = create_engine(settings.database_url)
    redis_client = aioredis.from_url(settings.redis_url) if settings.redis_url else None
    events = (
        ResultEventPublisher(EventPublisher(redis_client, "betmesh.oracle"))
        if redis_client is not None
        else None
    )
    oracle = Oracle(PostgresResultStore(engine), settings.required_sources, events)
    servicer = OracleServicer(oracle)
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        if events is not None:
            tasks.append(asyncio.create_task(_relay(oracle, settings.event_relay_interval_seconds)))

    async def stop() -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if redis_client is not None:
            await redis_client.aclose()
        await asyncio.to_thread(engine.dispose)

    return ServiceHost(
        service="betmesh.oracle",
        settings=settings.server,
        registrations=[
            Registration(
                SERVICE_NAME,
                lambda s: oracle_service_pb2_grpc.add_OracleServiceServicer_to_server(servicer, s),
            )
        ],
        authenticator=authenticator or AnonymousAuthenticator(),
        on_start=[start],
        on_stop=[stop],
    )
