"""The shared runtime against real servers: health, reflection, error mapping, shutdown,
and the Redis Streams event path."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

import grpc
import psycopg2.errors
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from betmesh.events.v1 import events_pb2
from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from service_runtime.channels import ChannelPool
from service_runtime.errors import InvalidArgument
from service_runtime.events import EventConsumer, EventPublisher, Topic, stream_key
from service_runtime.server import Registration, ServiceHost
from service_runtime.telemetry import configure_tracing
from tests.support.grpc_helpers import local_server_settings, rpc_error

SERVICE = "betmesh.quotes.v1.QuoteService"


class Misbehaving(quote_service_pb2_grpc.QuoteServiceServicer):
    def __init__(self) -> None:
        self.peers: list[str] = []

    async def GetReplicaInfo(
        self, request: pb.GetReplicaInfoRequest, context: Any
    ) -> pb.GetReplicaInfoResponse:
        raise InvalidArgument("BAD_THING", "the caller sent a bad thing", {"field": "x"})

    async def ListModelSnapshots(self, request: Any, context: Any) -> Any:
        raise RuntimeError("secret internals: password=hunter2")

    async def PriceFixture(self, request: Any, context: Any) -> Any:
        self.peers.append(context.peer())
        await asyncio.sleep(0.3)
        return pb.PriceFixtureResponse(digest="slow")

    async def PriceFixtures(self, request: Any, context: Any) -> Any:
        raise NotImplementedError  # what the generated base does: must read UNIMPLEMENTED

    async def GetModelSnapshot(self, request: Any, context: Any) -> Any:
        # A dependency down or saturated, as redis-py and psycopg2 raise it.
        if request.snapshot_hash == REDIS_DOWN:
            raise redis.exceptions.ConnectionError("No connection available.")
        if request.snapshot_hash == DATABASE_DOWN:
            raise psycopg2.errors.AdminShutdown("terminating connection at db.internal:5432")
        raise NotImplementedError


REDIS_DOWN = "sha256:" + "a" * 64
DATABASE_DOWN = "sha256:" + "b" * 64


async def start(servicer: quote_service_pb2_grpc.QuoteServiceServicer) -> ServiceHost:
    host = ServiceHost(
        "betmesh.test",
        local_server_settings(),
        [
            Registration(
                SERVICE,
                lambda s: quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(servicer, s),
            )
        ],
    )
    await host.start()
    return host


async def test_health_reflection_and_error_mapping() -> None:
    host = await start(Misbehaving())
    async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = [s.name async for r in responses for s in r.list_services_response.service]
        assert SERVICE in names and "grpc.health.v1.Health" in names

        stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
        code, info, status = await rpc_error(
            lambda: stub.GetReplicaInfo(pb.GetReplicaInfoRequest(), timeout=5)
        )
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert info is not None and info.reason == "BAD_THING" and info.domain == "betmesh"
        assert dict(info.metadata) == {"field": "x"}

        code, info, status = await rpc_error(
            lambda: stub.ListModelSnapshots(pb.ListModelSnapshotsRequest(), timeout=5)
        )
        assert (
            code == grpc.StatusCode.INTERNAL
            and info is not None
            and info.reason == "INTERNAL_ERROR"
        )
        assert status is not None and "hunter2" not in status.message

        code, info, _ = await rpc_error(
            lambda: stub.GetModelSnapshot(pb.GetModelSnapshotRequest(), timeout=5)
        )
        assert (
            code == grpc.StatusCode.UNIMPLEMENTED
            and info is not None
            and info.reason == "NOT_IMPLEMENTED"
        )
        # An outage is UNAVAILABLE (clients retry it), never INTERNAL, and names no internals.
        for digest, dependency in ((REDIS_DOWN, "redis"), (DATABASE_DOWN, "postgresql")):
            code, info, status = await rpc_error(
                lambda digest=digest: stub.GetModelSnapshot(  # type: ignore[misc]
                    pb.GetModelSnapshotRequest(snapshot_hash=digest), timeout=5
                )
            )
            assert code == grpc.StatusCode.UNAVAILABLE, code
            assert info is not None and info.reason == "DEPENDENCY_UNAVAILABLE"
            assert dict(info.metadata) == {"dependency": dependency}
            assert status is not None and "db.internal" not in status.message
    await host.stop(0)


async def test_graceful_shutdown_finishes_in_flight_calls_and_reports_not_serving() -> None:
    host = await start(Misbehaving())
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{host.port}")
    stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
    assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
    in_flight = asyncio.ensure_future(stub.PriceFixture(pb.PriceFixtureRequest(), timeout=5))
    await asyncio.sleep(0.1)
    stopping = asyncio.ensure_future(host.stop(2.0))
    assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert (await in_flight).digest == "slow"
    await stopping
    await channel.close()


@pytest.fixture
def tracing() -> TracerProvider:
    return configure_tracing("betmesh.test")


async def test_events_are_delivered_with_trace_context_and_redelivered_until_acknowledged(
    redis_url: str, tracing: TracerProvider
) -> None:
    client = aioredis.Redis.from_url(redis_url)
    topic = Topic.BET_SETTLED
    await client.delete(stream_key(topic))
    publisher = EventPublisher(client, "betmesh.test")
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("producer work") as span:
        producer_trace = span.get_span_context().trace_id
        event_id = await publisher.publish(
            topic,
            events_pb2.EventEnvelope(
                bet_settled=events_pb2.BetSettled(
                    bet_id="b1", player_id="p1", status="BET_STATUS_WON"
                )
            ),
        )

    seen: list[tuple[str, int]] = []
    failures = {"left": 1}

    async def handler(envelope: events_pb2.EventEnvelope) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("transient failure")
        seen.append(
            (envelope.bet_settled.bet_id, trace.get_current_span().get_span_context().trace_id)
        )

    group = f"g-{uuid.uuid4().hex[:6]}"
    first = EventConsumer(client, topic, group, "c1", handler, block_ms=50, reclaim_idle_ms=100)
    await first.ensure_group()
    assert await first.poll_once() == 0  # handler failed: stays pending, not acknowledged
    pending = await client.xpending(stream_key(topic), group)
    assert pending["pending"] == 1

    # Another consumer reclaims it after the idle time and handles it.
    second = EventConsumer(client, topic, group, "c2", handler, block_ms=50, reclaim_idle_ms=100)
    await asyncio.sleep(0.15)
    assert await second.poll_once() == 1
    assert seen == [("b1", producer_trace)]
    assert (await client.xpending(stream_key(topic), group))["pending"] == 0

    # A duplicate delivery of the same event id is skipped.
    await publisher.publish(
        topic,
        events_pb2.EventEnvelope(event_id=event_id, bet_settled=events_pb2.BetSettled(bet_id="b1")),
    )
    assert await second.poll_once() == 1
    assert len(seen) == 1
    await client.aclose()


async def test_a_consumer_recreates_its_group_when_the_stream_vanished(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    topic = Topic.KYC_STATUS_CHANGED
    await client.delete(stream_key(topic))
    publisher = EventPublisher(client, "betmesh.test")
    seen: list[str] = []

    async def handler(envelope: events_pb2.EventEnvelope) -> None:
        seen.append(envelope.kyc_status_changed.player_id)

    consumer = EventConsumer(client, topic, f"g-{uuid.uuid4().hex[:6]}", "c1", handler, block_ms=50)
    running = asyncio.ensure_future(consumer.run())

    async def until(count: int) -> None:
        for _ in range(750):
            if len(seen) >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"handled {seen}, expected {count}")

    try:
        await publisher.publish(
            topic,
            events_pb2.EventEnvelope(
                kyc_status_changed=events_pb2.KycStatusChanged(player_id="p1")
            ),
        )
        await until(1)
        await client.delete(stream_key(topic))  # the group goes with the stream
        await publisher.publish(
            topic,
            events_pb2.EventEnvelope(
                kyc_status_changed=events_pb2.KycStatusChanged(player_id="p2")
            ),
        )
        await until(2)
        assert seen == ["p1", "p2"]
    finally:
        consumer.stop()
        await asyncio.wait_for(running, 5)
        await client.aclose()


async def test_every_call_gets_a_client_and_a_server_span_linked_across_the_wire(
    tracing: TracerProvider,
) -> None:
    exporter = InMemorySpanExporter()
    tracing.add_span_processor(SimpleSpanProcessor(exporter))
    host = await start(Misbehaving())
    pool = ChannelPool(tokens=None)
    try:
        channel = pool.get(f"127.0.0.1:{host.port}")
        stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
        assert (await stub.PriceFixture(pb.PriceFixtureRequest(), timeout=5)).digest == "slow"
        await rpc_error(lambda: stub.GetReplicaInfo(pb.GetReplicaInfoRequest(), timeout=5))
        await rpc_error(lambda: stub.ListModelSnapshots(pb.ListModelSnapshotsRequest(), timeout=5))
        health = health_pb2_grpc.HealthStub(channel)
        await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    finally:
        await pool.close()
        await host.stop(0)

    spans = {(s.name, s.kind): s for s in exporter.get_finished_spans()}
    assert not any("Health" in name for name, _ in spans)  # probes are never traced
    for method, code, server_error in (
        ("PriceFixture", 0, False),
        ("GetReplicaInfo", 3, False),  # the caller's mistake: not a server error
        ("ListModelSnapshots", 13, True),
    ):
        name = f"/{SERVICE}/{method}"
        client, server = spans[(name, SpanKind.CLIENT)], spans[(name, SpanKind.SERVER)]
        assert server.parent is not None and server.parent.span_id == client.context.span_id
        assert server.context.trace_id == client.context.trace_id
        assert server.attributes is not None and client.attributes is not None
        assert server.attributes["rpc.service"] == SERVICE
        assert server.attributes["rpc.method"] == method
        assert server.attributes["rpc.grpc.status_code"] == code
        assert client.attributes["rpc.grpc.status_code"] == code
        assert (server.status.status_code == StatusCode.ERROR) is server_error
        assert (client.status.status_code == StatusCode.ERROR) is (code != 0)


async def test_connections_age_out_but_open_streams_run_on() -> None:
    settings = dataclasses.replace(local_server_settings(), max_connection_age_seconds=0.5)
    servicer = Misbehaving()
    host = ServiceHost(
        "betmesh.test",
        settings,
        [
            Registration(
                SERVICE,
                lambda s: quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(servicer, s),
            )
        ],
    )
    await host.start()
    assert host._health is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        watch = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
        await stub.PriceFixture(pb.PriceFixtureRequest(), timeout=5)
        await asyncio.sleep(1.5)  # three connection ages
        # New calls go out on a new connection (another client port)...
        await stub.PriceFixture(pb.PriceFixtureRequest(), timeout=5)
        assert servicer.peers[0] != servicer.peers[1]
        # ...and the stream opened on the aged one still hears its updates.
        await host._health.set(SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
        update = await asyncio.wait_for(watch.read(), 5)
        assert update.status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()
    await host.stop(0)
