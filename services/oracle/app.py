"""Wires the oracle: settings -> migrations, PostgreSQL store, event bus, chain -> service layer
-> servicer -> host, and declares its background passes (the event relay, chain publishing)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from betmesh.oracle.v1 import oracle_service_pb2, oracle_service_pb2_grpc

from service_runtime.auth import AnonymousAuthenticator, Authenticator
from service_runtime.background import Background, every
from service_runtime.channels import ChannelPool
from service_runtime.events import EventPublisher
from service_runtime.postgres import create_engine, migrate
from service_runtime.redis_client import connect as redis_client_for
from service_runtime.server import Registration, ServiceHost
from services.oracle.adapters.chain.contract import bind
from services.oracle.adapters.chain.publisher import ChainPublisher, PublisherConfig
from services.oracle.adapters.chain.remote_signers import RemoteSignerPool
from services.oracle.adapters.chain.rpc import FailoverProvider
from services.oracle.adapters.events import FinalEventPublisher, ResultEventPublisher
from services.oracle.adapters.outbox import PostgresOutbox
from services.oracle.adapters.postgres_store import PostgresResultStore
from services.oracle.adapters.wallet_lease import WalletLease
from services.oracle.service_layer.handlers import OracleHandlers
from services.oracle.service_layer.publishing import Publishing
from services.oracle.servicer import OracleServicer
from services.oracle.settings import OracleSettings

SERVICE_NAME = oracle_service_pb2.DESCRIPTOR.services_by_name["OracleService"].full_name
SCHEMA = "oracle"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MAX_RETRY_SECONDS = 60.0


def make_publisher(
    settings: OracleSettings, store: PostgresResultStore, channels: ChannelPool
) -> ChainPublisher:
    """The chain side: the transmitter key (the only one held here) and the signer processes,
    asked over gRPC on this event loop (remote_signers.py)."""
    from eth_account import Account
    from web3 import Web3

    w3 = Web3(FailoverProvider(settings.rpc_urls, quota_probe_seconds=settings.quota_probe_seconds))
    contract = bind(w3, settings.contract_address)
    signers = RemoteSignerPool(
        settings.signer_addresses,
        asyncio.get_running_loop(),
        channels,
        lambda: [str(a) for a in contract.functions.signers().call()],
    )
    transmitter = Account.from_key(Path(settings.transmitter_key_file).read_text().strip())
    return ChainPublisher(
        w3,
        settings.contract_address,
        transmitter,
        signers,
        PostgresOutbox(store.engine),
        store.load_many,
        PublisherConfig(
            confirmations=settings.confirmations,
            max_fee_per_gas=settings.max_fee_gwei * 10**9,
            replace_after_seconds=settings.replace_after_seconds,
            batch_size=settings.batch_size,
            log_chunk_blocks=settings.log_chunk_blocks,
            start_block=settings.start_block,
            batch_wait_seconds=settings.batch_wait_seconds,
            drop_after_seconds=settings.drop_after_seconds,
            idle_check_seconds=settings.idle_check_seconds,
            finalise_transactions=settings.finalise_transactions,
        ),
    )


async def build(
    settings: OracleSettings, authenticator: Authenticator | None = None
) -> ServiceHost:
    await asyncio.to_thread(migrate, settings.database_url, MIGRATIONS, SCHEMA)
    engine = create_engine(
        settings.database_url,
        answer_seconds=settings.server.database_answer_seconds,
        idle_in_transaction_seconds=settings.server.database_idle_in_transaction_seconds,
    )
    redis_client = (
        redis_client_for(settings.redis_url, settings.server.redis_answer_seconds)
        if settings.redis_url
        else None
    )
    events = (
        ResultEventPublisher(EventPublisher(redis_client, "betmesh.oracle"))
        if redis_client is not None
        else None
    )
    store = PostgresResultStore(engine, publishing=settings.publishing)
    oracle = OracleHandlers(store, settings.required_sources, events)
    channels = ChannelPool()  # the oracle's own client credential: signers answer it only
    publisher = make_publisher(settings, store, channels) if settings.publishing else None
    final_events = (
        FinalEventPublisher(EventPublisher(redis_client, "betmesh.oracle"))
        if redis_client is not None
        else None
    )
    servicer = OracleServicer(oracle)
    lease = WalletLease(engine, publisher.wallet) if publisher is not None else None
    background: list[Background] = []
    if events is not None:
        background.append(
            every(
                "result event relay",
                settings.event_relay_interval_seconds,
                oracle.relay_once,
            )
        )
    if publisher is not None:
        # The chain id is learnt by the first publishing pass: a provider down (or out of
        # quota) at start-up must not stop the service from taking observations.
        servicer.chain_ids = lambda: publisher.known_chain_id
        servicer.contract_address = publisher.contract.address
        background.append(
            every(
                "chain publishing",
                settings.publish_interval_seconds,
                Publishing(publisher, store, final_events, lease).publish_once,
                max_backoff=min(MAX_RETRY_SECONDS, settings.idle_check_seconds),
            )
        )

    async def stop() -> None:
        if lease is not None:
            await asyncio.to_thread(lease.release)
        await channels.close()
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
        on_stop=[stop],
        background=background,
    )
