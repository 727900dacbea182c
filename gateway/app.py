"""Wires the gateway: replica clients per sport -> consensus core -> servicers -> host."""

from __future__ import annotations

import redis.asyncio as aioredis
from betmesh.common.v1 import sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.gateway.v1 import (
    consensus_gateway_service_pb2,
    consensus_gateway_service_pb2_grpc,
    fixture_service_pb2,
    fixture_service_pb2_grpc,
)

from gateway.adapters.replica_client import GrpcReplicaClient
from gateway.domain.gateway import Accepted, ConsensusGateway
from gateway.domain.replicas import HealthPolicy
from gateway.servicer import ConsensusGatewayServicer, FixtureServicer
from gateway.settings import GatewaySettings
from service_runtime.channels import ChannelPool
from service_runtime.events import EventPublisher, Topic
from service_runtime.server import Registration, ServiceHost

CONSENSUS = consensus_gateway_service_pb2.DESCRIPTOR.services_by_name[
    "ConsensusGatewayService"
].full_name
FIXTURES = fixture_service_pb2.DESCRIPTOR.services_by_name["FixtureService"].full_name


def build(settings: GatewaySettings) -> ServiceHost:
    channels = ChannelPool()
    sets = []
    for config in settings.replica_sets:
        sport = sport_pb2.Sport.Name(config.sport).removeprefix("SPORT_").lower()
        clients = [
            GrpcReplicaClient(f"{sport}-{i}", address, channels.get(address))
            for i, address in enumerate(config.addresses, start=1)
        ]
        sets.append((config.sport, config.quorum, clients))

    redis_client = aioredis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    publisher = EventPublisher(redis_client, "betmesh.gateway") if redis_client else None

    async def announce(accepted: Accepted) -> None:
        if publisher is None:
            return
        votes = [v for v in accepted.decision.votes if v.digest == accepted.digest]
        await publisher.publish(
            Topic.QUOTE_SET_ACCEPTED,
            events_pb2.EventEnvelope(
                quote_set_accepted=events_pb2.QuoteSetAccepted(
                    quote_set=accepted.quote_set,
                    digest=accepted.digest,
                    agreeing_replicas=len(votes),
                    quorum=accepted.decision.quorum,
                )
            ),
        )

    gateway = ConsensusGateway.create(
        sets,
        settings.deadline_seconds,
        settings.max_in_flight_per_sport,
        HealthPolicy(settings.quarantine_after, settings.readmit_after),
        announce,
    )
    consensus = ConsensusGatewayServicer(gateway)
    fixtures = FixtureServicer()

    async def close() -> None:
        await channels.close()
        if redis_client is not None:
            await redis_client.aclose()

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
                    fixtures, s
                ),
            ),
        ],
        on_stop=[close],
    )
