"""Wires the bets service: settings -> PostgreSQL ledger and bets, price book, event feeds,
payment provider -> wallet and bets cores -> host."""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from betmesh.bets.v1 import (
    bet_service_pb2,
    bet_service_pb2_grpc,
    dead_letter_service_pb2,
    dead_letter_service_pb2_grpc,
)

from service_runtime import postgres, table_statistics
from service_runtime.auth import AnonymousAuthenticator, Authenticator
from service_runtime.background import Background, every, forever
from service_runtime.channels import ChannelPool
from service_runtime.dead_letters import DeadLetterStore
from service_runtime.events import EventPublisher
from service_runtime.redis_client import connect as redis_client_for
from service_runtime.server import Registration, ServiceHost
from service_runtime.telemetry import meter
from services.bets.adapters.async_postgres import AsyncConnections
from services.bets.adapters.chain_reader import ChainResultReader
from services.bets.adapters.chain_results_store import ChainResultStore
from services.bets.adapters.feeds import Feeds, GatewayPrices, OutboxPublisher, run_consumer
from services.bets.adapters.postgres_bets import (
    PREPARE_PLACE_BET,
    PostgresBetStore,
    placing_engine,
)
from services.bets.adapters.postgres_feed_state import PostgresFeedState
from services.bets.adapters.postgres_ledger import SCHEMA, PostgresLedger
from services.bets.adapters.postgres_outbox import PostgresOutbox
from services.bets.adapters.postgres_reports import PostgresReports
from services.bets.adapters.sandbox_payments import SandboxPaymentProvider
from services.bets.dead_letter_servicer import DeadLetterServicer
from services.bets.domain.chain_results import ClaimedResult
from services.bets.domain.prices import PriceBook
from services.bets.metrics import BetsMetrics
from services.bets.service_layer import commands
from services.bets.service_layer.feeds import FeedHandlers
from services.bets.service_layer.handlers import BetsService
from services.bets.service_layer.wallet import WalletService
from services.bets.servicer import BetServicer
from services.bets.settings import BetsSettings

SERVICE_NAME = bet_service_pb2.DESCRIPTOR.services_by_name["BetService"].full_name
DEAD_LETTER_SERVICE_NAME = dead_letter_service_pb2.DESCRIPTOR.services_by_name[
    "DeadLetterService"
].full_name
MIGRATIONS = Path(__file__).parent / "migrations"
# The outbox relay and the due-bets poll, idle, wait up to this many intervals between passes
# (BETS_DECISION_POLL_SECONDS each): 8 idle passes a second become 2 at the default 0.25 s.
IDLE_POLLS = 4
log = logging.getLogger(__name__)


def build(settings: BetsSettings, authenticator: Authenticator | None = None) -> ServiceHost:
    answer_seconds = settings.server.database_answer_seconds
    idle_seconds = settings.server.database_idle_in_transaction_seconds
    engine = postgres.create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        answer_seconds=answer_seconds,
        idle_in_transaction_seconds=idle_seconds,
    )
    placing = placing_engine(
        settings.database_url, settings.database_pool_size, answer_seconds, idle_seconds
    )
    async_placing = AsyncConnections(
        settings.database_url,
        settings.database_pool_size,
        prepare=[PREPARE_PLACE_BET],
        answer_seconds=answer_seconds,
        idle_in_transaction_seconds=idle_seconds,
    )
    store = PostgresBetStore(engine, placing, async_placing)
    reports = PostgresReports(engine)
    feed_state = PostgresFeedState(engine)

    def kyc_status(player_id: str) -> str | None:
        standing = feed_state.kyc_status(player_id)
        return None if standing is None else standing.kyc_status

    wallets = WalletService(
        PostgresLedger(engine),
        SandboxPaymentProvider(),
        settings.currency,
        settings.max_deposit_minor,
        kyc_status=kyc_status,
    )
    prices = PriceBook()
    channels = ChannelPool()
    gateway = (
        GatewayPrices(channels, settings.gateway_address) if settings.gateway_address else None
    )
    metrics = BetsMetrics(
        meter("betmesh.bets"), reports.return_to_player, settings.currency, reports.open_liability
    )
    settle_from_chain = settings.settle_from == "chain"
    if not settle_from_chain:
        log.warning("settling from result announcements, not from the chain (tests only)")

    async def result_finalised(claimed: ClaimedResult) -> None:
        await service.result_finalised(claimed)

    feed_handlers = FeedHandlers(prices, feed_state, settings.stake_cap_raise_delay_seconds)
    feeds = Feeds(prices, gateway, feed_handlers, result_finalised)
    redis_client = (
        redis_client_for(settings.redis_url, settings.server.redis_answer_seconds)
        if settings.redis_url
        else None
    )
    service = BetsService(
        wallets,
        store,
        reports,
        prices,
        settings.rules,
        settings.currency,
        feeds,
        metrics,
        chain_results=ChainResultStore(engine),
        settle_from_chain=settle_from_chain,
        chain_reader=ChainResultReader(
            list(settings.chain_rpc_urls),
            settings.result_contract_address,
            settings.chain_confirmations,
        )
        if settle_from_chain and settings.chain_rpc_urls
        else None,
        chain_wait_seconds=settings.chain_wait_seconds,
        # BetSettled and BetsVoided reach the bus only from the outbox.
        outbox=PostgresOutbox(engine),
        bus=OutboxPublisher(EventPublisher(redis_client, "betmesh.bets"))
        if redis_client is not None
        else None,
    )
    servicer = BetServicer(service)
    # Background work (service_runtime.background): started once the port is open, stopped
    # (cancelled, bounded) before the pools close. What a stopped step was doing is committed or
    # rolled back, and redelivered events are idempotent.
    background: list[Background] = []
    if redis_client is not None:
        for consumer in feeds.consumers(
            redis_client,
            settings.consumer_group,
            settings.consumer_name,
            settings.event_block_ms,
            settings.event_policy,
        ):
            background.append(
                forever(
                    f"events {consumer.topic.value} ({consumer.group})",
                    functools.partial(run_consumer, consumer),
                    stop=consumer.stop,
                )
            )
        # True from a pass: more may be queued, again at once. While the outbox is idle the
        # relay backs off (up to IDLE_POLLS times the interval); this process's own
        # settlements wake it at once, another process's wait at most that long.
        background.append(
            every(
                "outbox relay",
                settings.decision_poll_seconds,
                service.relay_outbox,
                wake=service.outbox_queued,
                idle_max=IDLE_POLLS * settings.decision_poll_seconds,
            )
        )
    # Live bets whose caller did not wait, or whose process died during the delay; backs off
    # the same way while none is due (a due bet is decided at most that much later).
    background.append(
        every(
            "due live bets",
            settings.decision_poll_seconds,
            lambda: service.decide_due_bets(commands.DecideDueBets()),
            idle_max=IDLE_POLLS * settings.decision_poll_seconds,
        )
    )
    if settle_from_chain:
        # Announced results the chain did not show yet (lagging finality, a slow provider).
        background.append(
            every("chain recheck", settings.chain_recheck_seconds, service.recheck_chain)
        )
    background.append(
        every(
            "cash-out offer purge", settings.cash_out_purge_interval_seconds, service.purge_offers
        )
    )
    # place_bet's statements are planned once and cached: on a server whose autovacuum is
    # off, their plans would stay those made on an empty book (table_statistics.py).
    background.append(
        every(
            "planner statistics",
            settings.statistics_seconds,
            functools.partial(
                asyncio.to_thread, table_statistics.analyze_stale_tables, engine, SCHEMA
            ),
        )
    )

    async def start() -> None:
        # Every database call runs in a worker thread; the default pool (cores + 4) would queue
        # calls while connections sit idle, so each connection gets a worker.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(settings.database_pool_size, thread_name_prefix="bets-db")
        )
        # Before the port opens: no call may reach a schema older than the code.
        await asyncio.to_thread(postgres.migrate, settings.database_url, MIGRATIONS, SCHEMA)
        await feed_handlers.load()

    async def stop() -> None:
        await channels.close()
        if redis_client is not None:
            await redis_client.aclose()
        await asyncio.to_thread(engine.dispose)
        await asyncio.to_thread(placing.dispose)
        async_placing.close()

    registrations = [
        Registration(
            SERVICE_NAME,
            lambda s: bet_service_pb2_grpc.add_BetServiceServicer_to_server(servicer, s),
        )
    ]
    if redis_client is not None:
        # The mesh's dead letters (one stream), for operators; here because bets consumes.
        dead_letters = DeadLetterServicer(DeadLetterStore(redis_client))
        registrations.append(
            Registration(
                DEAD_LETTER_SERVICE_NAME,
                lambda s: dead_letter_service_pb2_grpc.add_DeadLetterServiceServicer_to_server(
                    dead_letters, s
                ),
            )
        )
    return ServiceHost(
        service="betmesh.bets",
        settings=settings.server,
        registrations=registrations,
        authenticator=authenticator or AnonymousAuthenticator(),
        on_start=[start],
        on_stop=[stop],
        background=background,
    )
