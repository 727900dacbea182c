"""Fixture names from the gateway's FixtureService, cached: looked up once per fixture by the
journal writer, never per message."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

import grpc
from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import fixture_service_pb2, fixture_service_pb2_grpc

if TYPE_CHECKING:
    Stub = fixture_service_pb2_grpc.FixtureServiceAsyncStub


class GatewayFixtures:
    def __init__(
        self, channel: grpc.aio.Channel, ttl_seconds: float = 300.0, miss_seconds: float = 30.0
    ) -> None:
        self._stub = cast("Stub", fixture_service_pb2_grpc.FixtureServiceStub(channel))
        self.ttl_seconds = ttl_seconds
        self.miss_seconds = miss_seconds
        self._cache: dict[str, tuple[float, sport_pb2.Fixture | None]] = {}

    async def __call__(self, fixture_id: str) -> sport_pb2.Fixture | None:
        now = time.monotonic()
        cached = self._cache.get(fixture_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            reply = await self._stub.GetFixture(
                fixture_service_pb2.GetFixtureRequest(fixture_id=fixture_id), timeout=2.0
            )
            fixture: sport_pb2.Fixture | None = reply.fixture
            expires = now + self.ttl_seconds
        except grpc.aio.AioRpcError:
            # Unknown to the gateway, or the gateway is away: the skeleton serves meanwhile.
            fixture, expires = None, now + self.miss_seconds
        self._cache[fixture_id] = (expires, fixture)
        return fixture
