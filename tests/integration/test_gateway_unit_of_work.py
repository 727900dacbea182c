"""The gateway's units of work on a real PostgreSQL, through the public API: a use case's
writes are kept together or not at all.

Every price here is held by the guard (the payout floor is set above the demo prices' payout),
so a consensus call writes a hold and then the quote set that shows its market suspended; a
release closes the hold and then writes the set that publishes its market. A CHECK constraint
the test adds to gateway.quote_sets (NOT VALID: new rows only) makes the second write fail; the
first must not be kept."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import grpc
import pytest
import sqlalchemy as sa
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc

from gateway.app import build as build_gateway
from gateway.settings import GatewaySettings
from service_runtime.server import ServiceHost
from tests.integration.test_gateway_consensus import ONE_X_TWO, SNAPSHOT, fixture, start_replica
from tests.support.grpc_helpers import rpc_error


class Gateway:
    def __init__(self, host: ServiceHost, replicas: list[ServiceHost]) -> None:
        self.host = host
        self.replicas = replicas
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{host.port}")
        self.stub = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(self.channel)

    async def price(self, fixture_id: str) -> pb.GetConsensusQuoteResponse:
        request = pb.GetConsensusQuoteRequest(
            fixture=fixture(), snapshot_hash=SNAPSHOT, market_types=ONE_X_TWO
        )
        request.fixture.fixture_id = fixture_id
        response: pb.GetConsensusQuoteResponse = await self.stub.GetConsensusQuote(
            request, timeout=30
        )
        return response

    async def holds(self, fixture_id: str) -> list[pb.PriceHold]:
        listed = await self.stub.ListPriceHolds(
            pb.ListPriceHoldsRequest(fixture_id=fixture_id, page_size=100), timeout=10
        )
        return list(listed.holds)


@pytest.fixture
async def gateway(private_database_url: str) -> AsyncIterator[Gateway]:
    replicas = [await start_replica("football", f"football-{i}") for i in (1, 2, 3)]
    addresses = ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    host = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": f"football={addresses}",
                "BETMESH_DATABASE_URL": private_database_url,
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                "BETMESH_GATEWAY_DEADLINE_MS": "5000",
                "BETMESH_GRACE_SECONDS": "0",
                # The demo prices pay about 85%: every market is held on its first price.
                "BETMESH_GATEWAY_GUARD_PAYOUT_MIN_E4": "9700",
            }
        )
    )
    await host.start()
    running = Gateway(host, replicas)
    yield running
    await running.channel.close()
    await host.stop(0)
    for replica in replicas:
        await replica.stop(0)


@contextmanager
def quote_sets_refused(database_url: str, fixture_id: str) -> Iterator[None]:
    """New gateway.quote_sets rows of `fixture_id` are refused by PostgreSQL itself."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "ALTER TABLE gateway.quote_sets ADD CONSTRAINT test_refused "
                    f"CHECK (fixture_id <> '{fixture_id}') NOT VALID"
                )
            )
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.text("ALTER TABLE gateway.quote_sets DROP CONSTRAINT IF EXISTS test_refused")
            )
        engine.dispose()


async def test_a_hold_is_not_kept_when_the_price_it_suspends_cannot_be_stored(
    gateway: Gateway, private_database_url: str
) -> None:
    with quote_sets_refused(private_database_url, "uow-held"):
        code, _, _ = await rpc_error(lambda: gateway.price("uow-held"))
        assert code != grpc.StatusCode.OK
        # The hold was written first, in the same transaction: rolled back with the set.
        assert await gateway.holds("uow-held") == []
    missing, _, _ = await rpc_error(
        lambda: gateway.stub.GetAcceptedQuoteSet(
            pb.GetAcceptedQuoteSetRequest(fixture_id="uow-held"), timeout=10
        )
    )
    assert missing == grpc.StatusCode.NOT_FOUND  # nothing was published either

    # Asked again once the store takes it: held again (fail closed), hold and set together.
    published = (await gateway.price("uow-held")).accepted
    (hold,) = await gateway.holds("uow-held")
    assert hold.status == pb.PRICE_HOLD_STATUS_OPEN
    assert "PAYOUT_OUT_OF_BOUNDS" in {v.rule for v in hold.violations}
    assert [m.market_id for m in published.quote_set.markets] == []  # never published: left out
    latest = await gateway.stub.GetAcceptedQuoteSet(
        pb.GetAcceptedQuoteSetRequest(fixture_id="uow-held"), timeout=10
    )
    assert latest.accepted.digest == published.digest


async def test_a_release_is_not_kept_when_the_market_it_publishes_cannot_be_stored(
    gateway: Gateway, private_database_url: str
) -> None:
    await gateway.price("uow-release")
    (hold,) = await gateway.holds("uow-release")
    release = pb.ReleasePriceHoldRequest(hold_id=hold.hold_id, note="checked")
    with quote_sets_refused(private_database_url, "uow-release"):
        code, _, _ = await rpc_error(lambda: gateway.stub.ReleasePriceHold(release, timeout=10))
        assert code != grpc.StatusCode.OK
    # Closed first, in the same transaction: still open, so the operator can release it again.
    (still,) = await gateway.holds("uow-release")
    assert still.status == pb.PRICE_HOLD_STATUS_OPEN and not still.decided_by
    latest = await gateway.stub.GetAcceptedQuoteSet(
        pb.GetAcceptedQuoteSetRequest(fixture_id="uow-release"), timeout=10
    )
    assert latest.accepted.quote_set.markets == []

    released = await gateway.stub.ReleasePriceHold(release, timeout=10)
    assert released.published and released.hold.status == pb.PRICE_HOLD_STATUS_RELEASED
    latest = await gateway.stub.GetAcceptedQuoteSet(
        pb.GetAcceptedQuoteSetRequest(fixture_id="uow-release"), timeout=10
    )
    assert [m.market_id for m in latest.accepted.quote_set.markets] == [hold.market_id]
