"""Wires the live service: settings -> Redis store -> servicer -> host."""

from __future__ import annotations

import logging
import os
import socket
import time

import redis.asyncio as aioredis
from betmesh.live.v1 import live_odds_service_pb2, live_odds_service_pb2_grpc
from opentelemetry.metrics import MeterProvider

from service_runtime.background import Background, every
from service_runtime.channels import ChannelPool
from service_runtime.redis_client import bounded
from service_runtime.server import Registration, ServiceHost
from service_runtime.telemetry import meter
from services.live.adapters.gateway_fixtures import GatewayFixtures
from services.live.adapters.gateway_pricing import GrpcPricingGateway
from services.live.adapters.redis_journal import StreamJournal
from services.live.adapters.redis_liveness import RedisLiveness
from services.live.adapters.redis_store import RedisLiveStore
from services.live.domain.repricing import Cadence
from services.live.service_layer.handlers import LiveHandlers
from services.live.service_layer.holds import HeldFixtures
from services.live.service_layer.repricing import Repricer
from services.live.service_layer.streams import StreamService
from services.live.servicer import LiveOddsServicer
from services.live.settings import LiveSettings

log = logging.getLogger(__name__)

SERVICE = "betmesh.live"
SERVICE_NAME = live_odds_service_pb2.DESCRIPTOR.services_by_name["LiveOddsService"].full_name
# The longest wait after failed watchdog or repricing passes.
BACKOFF_SECONDS = 5.0
# The held-fixtures gauge is read again every this many feed checks (5 s by default).
HOLDS_EVERY_CHECKS = 5


def build(settings: LiveSettings, meters: MeterProvider | None = None) -> ServiceHost:
    # A blocking pool: a burst of commands (a thousand partners connecting at once, each
    # claiming its stream) waits for a connection instead of failing with "Too many
    # connections", which would fail ingests and reprices too.
    client = aioredis.Redis.from_pool(
        aioredis.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_connections,
            timeout=settings.redis_wait_seconds,
            **bounded(settings.server.redis_answer_seconds),
        )
    )
    store = RedisLiveStore(client, producer=SERVICE)
    liveness = RedisLiveness(
        client, producer=SERVICE, deadline_seconds=settings.feed_deadline_seconds
    )
    # StreamOdds reads only the bus; the gateway is asked for fixture names, when known.
    channels = ChannelPool()
    gateway_channel = channels.get(settings.gateway_address) if settings.gateway_address else None
    journal = StreamJournal.build(
        client,
        settings.stream.prefix,
        GatewayFixtures(gateway_channel) if gateway_channel is not None else None,
        settings.stream.resume_window_seconds,
        settings.stream.lease_seconds,
        settings.bet_delays,
        settings.stream.lookback_seconds,
    )
    streams = StreamService(journal, settings.stream, meters, liveness)
    # In-play repricing through the consensus gateway (service_layer/repricing.py), if any.
    repricer = None
    if gateway_channel is not None:
        config = settings.repricing
        repricer = Repricer(
            store=store,
            gateway=GrpcPricingGateway(gateway_channel, config.gateway_timeout_seconds),
            cadence=Cadence(
                config.busy_reprice_seconds,
                config.quiet_reprice_seconds,
                config.busy_window_seconds,
            ),
            owner=f"{socket.gethostname()}:{os.getpid()}:{id(store):x}",
            lease_seconds=config.lease_seconds,
            clock=time.time,
        )
    handlers = LiveHandlers(store, settings.hold_seconds, liveness=liveness, repricer=repricer)
    servicer = LiveOddsServicer(handlers, streams)

    async def check_redis() -> None:
        # Fail at start, not on the first event, when Redis is unreachable.
        await client.ping()

    # Every process watches: a dead feed is caught even when the process that ingested its
    # events is gone. A suspension is one transaction; two processes never double it. Retried
    # within seconds after a failure (Redis back): a dead feed's markets must not stay open.
    background: list[Background] = [
        every(
            "feed liveness",
            settings.feed_check_seconds,
            liveness.sweep,
            max_backoff=max(settings.feed_check_seconds, BACKOFF_SECONDS),
        )
    ]
    # Positive evidence for bets that someone alive watches each in-play fixture: a frozen or
    # dead live process suspends nothing, so its silence must (bets refuses in-play bets
    # without this word). Any process may say it; several saying it changes nothing.
    background.append(
        every(
            "live heartbeat",
            settings.watch.heartbeat_seconds,
            liveness.heartbeat,
            max_backoff=settings.watch.heartbeat_seconds,
        )
    )
    # What keeps live fixtures closed, for the operator's alerts (service_layer/holds.py): a
    # pass every five watchdog passes, which reads every live fixture's hold.
    held = HeldFixtures(
        liveness.holds,
        meter(SERVICE) if meters is None else meters.get_meter(SERVICE),
    )
    background.append(
        every(
            "live holds",
            settings.feed_check_seconds * HOLDS_EVERY_CHECKS,
            held.refresh,
            max_backoff=max(settings.feed_check_seconds, BACKOFF_SECONDS),
        )
    )
    background.extend(streams.background())
    if repricer is not None:
        background.append(
            every(
                "live repricing",
                settings.repricing.tick_seconds,
                repricer.run_due,
                max_backoff=max(settings.repricing.tick_seconds, BACKOFF_SECONDS),
            )
        )

    async def stop_repricing() -> None:
        if repricer is not None:
            await repricer.close()

    async def stop_streams() -> None:
        await streams.stop()
        await channels.close()

    async def close_redis() -> None:
        # redis 5+ has aclose; the type stubs predate it.
        await client.aclose()  # type: ignore[attr-defined]

    return ServiceHost(
        service=SERVICE,
        settings=settings.server,
        registrations=[
            Registration(
                SERVICE_NAME,
                # StreamOdds writes updates already encoded (services/live/domain/stream/
                # wire.py); the host's serializer passes bytes through.
                lambda s: live_odds_service_pb2_grpc.add_LiveOddsServiceServicer_to_server(
                    servicer, s
                ),
            )
        ],
        on_start=[check_redis, streams.start],
        on_stop=[stop_repricing, stop_streams, close_redis],
        background=background,
    )
