"""Wires the quote replica: settings -> snapshot store -> servicer -> host."""

from __future__ import annotations

from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc

from service_runtime.server import Registration, ServiceHost
from services.quotes.domain.snapshots import SnapshotStore, demo_football_snapshot
from services.quotes.servicer import QuoteServicer
from services.quotes.settings import QuotesSettings

SERVICE_NAME = quote_service_pb2.DESCRIPTOR.services_by_name["QuoteService"].full_name


def build(settings: QuotesSettings) -> ServiceHost:
    store = SnapshotStore()
    store.put(demo_football_snapshot())
    servicer = QuoteServicer(store, settings.sport, settings.replica_id, settings.fault)
    return ServiceHost(
        service="betmesh.quotes",
        settings=settings.server,
        registrations=[
            Registration(
                SERVICE_NAME,
                lambda s: quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(servicer, s),
            )
        ],
    )
