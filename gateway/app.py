"""Wires the gateway: replica clients per sport -> consensus core -> scheduler -> servicers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import (
    consensus_gateway_service_pb2,
    consensus_gateway_service_pb2_grpc,
    fixture_service_pb2,
    fixture_service_pb2_grpc,
)

from gateway.adapters.bets_rtp import BetsYearFigures
from gateway.adapters.events import QuoteSetAnnouncer
from gateway.adapters.guard_store import MemoryHolds, MemoryReviews, PostgresHolds, PostgresReviews
from gateway.adapters.memory import (
    MemoryDissents,
    MemoryFixtures,
    MemoryQuoteSets,
    memory_units,
)
from gateway.adapters.postgres_store import (
    SCHEMA,
    PostgresDissents,
    PostgresFixtures,
    PostgresQuoteSets,
    PostgresUnitOfWork,
)
from gateway.adapters.replica_client import GrpcReplicaClient
from gateway.adapters.results_file import ResultsFiles
from gateway.adapters.snapshot_catalog import FittedAt, GrpcSnapshotCatalog
from gateway.domain.ports import (
    DissentRepository,
    FixtureRepository,
    HoldRepository,
    QuoteSetRepository,
    ReviewRepository,
)
from gateway.domain.replicas import HealthPolicy
from gateway.metrics import ConsensusMetrics, GuardMetrics, RtpMetrics
from gateway.service_layer.canary import SnapshotCanary
from gateway.service_layer.consensus import ConsensusGateway
from gateway.service_layer.guard import PriceGuard
from gateway.service_layer.handlers import FixtureHandlers, GatewayHandlers, snapshot_vetting
from gateway.service_layer.ports import UnitOfWork
from gateway.service_layer.rtp_steering import RtpSteering
from gateway.service_layer.scheduler import PreMatchScheduler
from gateway.servicer import ConsensusGatewayServicer, FixtureServicer
from gateway.settings import GatewaySettings
from service_runtime import postgres
from service_runtime.background import every
from service_runtime.channels import ChannelPool
from service_runtime.events import EventPublisher
from service_runtime.redis_client import connect as redis_client_for
from service_runtime.server import Registration, ServiceHost
from service_runtime.telemetry import meter

CONSENSUS = consensus_gateway_service_pb2.DESCRIPTOR.services_by_name[
    "ConsensusGatewayService"
].full_name
FIXTURES = fixture_service_pb2.DESCRIPTOR.services_by_name["FixtureService"].full_name
MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def build(settings: GatewaySettings) -> ServiceHost:
    channels = ChannelPool()
    sets = []
    catalogs: dict[sport_pb2.Sport.ValueType, list[GrpcSnapshotCatalog]] = {}
    for config in settings.replica_sets:
        sport = sport_pb2.Sport.Name(config.sport).removeprefix("SPORT_").lower()
        ids = [f"{sport}-{i}" for i in range(1, len(config.addresses) + 1)]
        engines = config.engines or ("",) * len(config.addresses)
        clients = [
            GrpcReplicaClient(rid, address, channels.get(address), engine)
            for rid, address, engine in zip(ids, config.addresses, engines, strict=True)
        ]
        catalogs[config.sport] = [
            GrpcSnapshotCatalog(rid, channels.get(address), config.sport)
            for rid, address in zip(ids, config.addresses, strict=True)
        ]
        sets.append((config.sport, config.quorum, clients))

    engine = (
        postgres.create_engine(
            settings.database_url,
            answer_seconds=settings.server.database_answer_seconds,
            idle_in_transaction_seconds=settings.server.database_idle_in_transaction_seconds,
        )
        if settings.database_url
        else None
    )
    fixtures: FixtureRepository
    quote_sets: QuoteSetRepository
    dissents: DissentRepository
    holds: HoldRepository
    reviews: ReviewRepository
    units: Callable[[], UnitOfWork]
    if engine is not None:
        fixtures, quote_sets, dissents = (
            PostgresFixtures(engine),
            PostgresQuoteSets(engine),
            PostgresDissents(engine),
        )
        holds, reviews = PostgresHolds(engine), PostgresReviews(engine)
        units = partial(PostgresUnitOfWork, engine)
    else:
        memory_sets, memory_holds = MemoryQuoteSets(), MemoryHolds()
        fixtures, quote_sets, dissents = MemoryFixtures(), memory_sets, MemoryDissents()
        holds, reviews = memory_holds, MemoryReviews()
        units = memory_units(memory_sets, memory_holds)

    redis_client = (
        redis_client_for(settings.redis_url, settings.server.redis_answer_seconds)
        if settings.redis_url
        else None
    )
    announcer = (
        QuoteSetAnnouncer(EventPublisher(redis_client, "betmesh.gateway"))
        if redis_client is not None
        else None
    )

    gateway = ConsensusGateway.create(
        sets,
        settings.deadline_seconds,
        settings.max_in_flight_per_sport,
        HealthPolicy(
            settings.quarantine_after,
            settings.readmit_after,
            rest_after=settings.rest_after_timeouts,
            rest_seconds=settings.rest_seconds,
        ),
        quote_sets,
        dissents,
        units,
        min_engines_by_sport={c.sport: c.min_engines for c in settings.replica_sets},
    )
    gateway.hedge_after = settings.hedge_seconds
    for replica_set in gateway.replica_sets.values():
        replica_set.hedge_budget.ratio = settings.hedge_budget_percent / 100
    gateway.on_accepted = announcer.announce if announcer is not None else None
    gateway.on_decision = ConsensusMetrics(meter("betmesh.gateway"), gateway).record

    canary = (
        SnapshotCanary(
            settings.guard.canary,
            reviews,
            gateway.agree,
            fixtures,
            quote_sets,
            ResultsFiles(settings.guard.canary_results),
            FittedAt(catalogs, settings.deadline_seconds),
        )
        if settings.guard.canary_enabled
        else None
    )
    guard_metrics = GuardMetrics(meter("betmesh.gateway"))

    guard = PriceGuard(
        settings.guard.policy,
        holds,
        quote_sets,
        snapshot_vetting(settings.pinned_snapshots.values(), canary),
        units,
        on_released=gateway.released,
        on_hold=guard_metrics.held,
    )
    if settings.guard.enabled:
        gateway.guard = guard
    scheduler = PreMatchScheduler(
        gateway,
        fixtures,
        quote_sets,
        dict(catalogs),
        settings.pinned_snapshots,
        settings.horizon_days,
        settings.scheduler_concurrency,
        canary=canary,
    )
    steering = None
    if settings.bets_address:
        steering = RtpSteering(
            settings.rtp,
            BetsYearFigures(channels.get(settings.bets_address)),
            on_change=lambda _: scheduler.wake(),
        )
        gateway.margin_scale = steering.scale_e4
        RtpMetrics(meter("betmesh.gateway"), steering)
    else:
        log.warning("no BETMESH_GATEWAY_BETS_ADDRESS: the return-to-player controller is off")
    consensus = ConsensusGatewayServicer(
        GatewayHandlers(gateway, scheduler, dissents, holds, reviews, guard, canary)
    )
    fixture_servicer = FixtureServicer(FixtureHandlers(fixtures, scheduler))
    # Pre-match pricing passes on a timer, and at once when fixtures change (scheduler.wake).
    background = (
        [
            every(
                "pre-match pricing",
                settings.scheduler_interval_seconds,
                scheduler.run_pass,
                wake=scheduler.woken,
            )
        ]
        if settings.scheduler_interval_seconds > 0
        else []
    )
    if steering is not None:
        background.append(
            every(
                "return-to-player steering",
                settings.rtp.interval_seconds,
                steering.step,
                retry=settings.rtp.retry_seconds,
                max_backoff=settings.rtp.retry_seconds,
            )
        )

    async def start() -> None:
        if engine is not None:
            # Before the port opens: no call may reach a schema older than the code.
            await asyncio.to_thread(postgres.migrate, settings.database_url, MIGRATIONS, SCHEMA)

    async def close() -> None:
        await channels.close()
        if redis_client is not None:
            await redis_client.aclose()
        if engine is not None:
            await asyncio.to_thread(engine.dispose)

    return ServiceHost(
        service="betmesh.gateway",
        settings=settings.server,
        registrations=[
            Registration(
                CONSENSUS,
                lambda s: (
                    consensus_gateway_service_pb2_grpc.add_ConsensusGatewayServiceServicer_to_server(
                        consensus, s
                    )
                ),
            ),
            Registration(
                FIXTURES,
                lambda s: fixture_service_pb2_grpc.add_FixtureServiceServicer_to_server(
                    fixture_servicer, s
                ),
            ),
        ],
        on_start=[start],
        on_stop=[close],
        background=background,
    )
