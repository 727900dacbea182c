"""Wires the live service: settings -> Redis store -> servicer -> host."""

from __future__ import annotations

import redis.asyncio as aioredis
from betmesh.live.v1 import live_odds_service_pb2, live_odds_service_pb2_grpc

from service_runtime.server import Registration, ServiceHost
from services.live.adapters.redis_store import RedisLiveStore
from services.live.servicer import LiveOddsServicer
from services.live.settings import LiveSettings

SERVICE = "betmesh.live"
SERVICE_NAME = live_odds_service_pb2.DESCRIPTOR.services_by_name["LiveOddsService"].full_name


def build(settings: LiveSettings) -> ServiceHost:
    client = aioredis.Redis.from_url(settings.redis_url)
    store = RedisLiveStore(client, producer=SERVICE, hold_seconds=settings.hold_seconds)
    servicer = LiveOddsServicer(store)

    async def check_redis() -> None:
        # Fail at start, not on the first event, when Redis is unreachable.
        await client.ping()

    async def close_redis() -> None:
        # redis 5+ has aclose; the type stubs predate it.
        await client.aclose()  # type: ignore[attr-defined]

    return ServiceHost(
        service=SERVICE,
        settings=settings.server,
        registrations=[
            Registration(
                SERVICE_NAME,
                lambda s: live_odds_service_pb2_grpc.add_LiveOddsServiceServicer_to_server(
                    servicer, s
                ),
            )
        ],
        on_start=[check_redis],
        on_stop=[close_redis],
    )
