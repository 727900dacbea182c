"""Wires the quote replica: settings -> snapshot store and peers -> service layer -> servicer
-> host."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc

from service_runtime import postgres
from service_runtime.channels import ChannelPool
from service_runtime.server import Registration, ServiceHost
from services.quotes.adapters.memory_store import MemorySnapshotStore
from services.quotes.adapters.peers import GrpcSnapshotPeer
from services.quotes.adapters.postgres_store import SCHEMA, PostgresSnapshotStore
from services.quotes.domain.ports import SnapshotStore
from services.quotes.service_layer.handlers import QuoteHandlers
from services.quotes.service_layer.snapshots import SnapshotResolver
from services.quotes.servicer import QuoteServicer
from services.quotes.settings import SNAPSHOTS_SHIPPED, QuotesSettings
from services.quotes.shipped import read_snapshot_file, shipped_snapshots_of

log = logging.getLogger(__name__)

SERVICE_NAME = quote_service_pb2.DESCRIPTOR.services_by_name["QuoteService"].full_name
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: QuotesSettings) -> ServiceHost:
    engine = (
        postgres.create_engine(
            settings.database_url,
            pool_size=4,
            answer_seconds=settings.server.database_answer_seconds,
            idle_in_transaction_seconds=settings.server.database_idle_in_transaction_seconds,
        )
        if settings.database_url
        else None
    )
    store: SnapshotStore = PostgresSnapshotStore(engine) if engine else MemorySnapshotStore()
    channels = ChannelPool()
    peers = [
        GrpcSnapshotPeer(address, channels.get(address), settings.peer_timeout_seconds)
        for address in settings.peers
    ]
    resolver = SnapshotResolver(store, peers)
    handlers = QuoteHandlers(resolver, settings.sport, settings.fault, settings.engine)
    servicer = QuoteServicer(handlers, settings.replica_id)

    async def start() -> None:
        if engine is not None:
            # Before the port opens: no call may reach a schema older than the code.
            await asyncio.to_thread(postgres.migrate, settings.database_url, MIGRATIONS, SCHEMA)
        # The replica's sport's snapshots, fitted on the shipped data (tennis: one per court
        # surface, the hard-court one last and so the newest; the cache makes this a file read
        # after the first start; the launcher warms it while PostgreSQL starts). Replicas of
        # each sport store their own: in a mesh they share the store.
        began = time.perf_counter()
        snapshots = []
        if settings.startup_snapshots == SNAPSHOTS_SHIPPED:
            cache = Path(settings.snapshot_cache) if settings.snapshot_cache else None
            snapshots += await asyncio.to_thread(shipped_snapshots_of, settings.sport, cache)
        # Files after it, so that they are the newest: an operator's (or a test's) choice.
        snapshots += [read_snapshot_file(Path(path)) for path in settings.snapshot_files]
        log.info(
            "start-up snapshots",
            extra={
                "models": ",".join(s.model for s in snapshots),
                "seconds": round(time.perf_counter() - began, 3),
            },
        )
        for snapshot in snapshots:
            await resolver.put(snapshot)

    async def stop() -> None:
        await channels.close()
        if engine is not None:
            engine.dispose()

    return ServiceHost(
        service="betmesh.quotes",
        settings=settings.server,
        registrations=[
            Registration(
                SERVICE_NAME,
                lambda s: quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(servicer, s),
            )
        ],
        on_start=[start],
        on_stop=[stop],
    )
