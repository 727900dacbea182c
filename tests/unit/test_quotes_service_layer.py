"""Quotes' service layer on in-memory fakes of its ports (a memory snapshot store, peers in
process): what a price asks of the resolver, a batch's refusals, the snapshot a replica serves
(never its peers'), and the drills' faults. The same paths through gRPC on PostgreSQL:
tests/integration/test_quotes_service.py."""

from __future__ import annotations

import pytest
from betmesh.common.v1 import market_pb2, sport_pb2

from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from services.quotes.adapters.memory_store import MemorySnapshotStore
from services.quotes.domain.pricing import quote_digest
from services.quotes.domain.snapshots import snapshot_bytes, snapshot_hash
from services.quotes.service_layer.commands import (
    GetModelSnapshot,
    ListModelSnapshots,
    PriceFixture,
)
from services.quotes.service_layer.handlers import NotPriced, Priced, QuoteHandlers
from services.quotes.service_layer.snapshots import SnapshotResolver
from tests.support.demo_snapshots import demo_football_snapshot, demo_tennis_snapshot


class Peer:
    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.name = "peer"
        self.blobs = blobs
        self.asked: list[str] = []

    async def fetch(self, snapshot_hash: str) -> bytes | None:
        self.asked.append(snapshot_hash)
        return self.blobs.get(snapshot_hash)


def tennis_fixture(fixture_id: str = "ao-sin-run") -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_TENNIS,
        home=sport_pb2.Participant(participant_id="tn:sinner", name="Sinner"),
        away=sport_pb2.Participant(participant_id="tn:rune", name="Rune"),
        best_of_sets=3,
    )


def price(key: str, fixture: sport_pb2.Fixture | None = None) -> PriceFixture:
    return PriceFixture(fixture or tennis_fixture(), key, (), None, 0)


async def tennis_handlers(fault: str = "", peers: list[Peer] | None = None) -> QuoteHandlers:
    resolver = SnapshotResolver(MemorySnapshotStore(), peers or [])
    await resolver.put(demo_tennis_snapshot())
    return QuoteHandlers(resolver, sport_pb2.SPORT_TENNIS, fault)


def quote_set(data: bytes) -> market_pb2.QuoteSet:
    found = market_pb2.QuoteSet()
    found.ParseFromString(data)
    return found


def prices(data: bytes) -> dict[tuple[str, str], int]:
    return {
        (m.market_id, s.selection_id): s.odds_e4
        for m in quote_set(data).markets
        for s in m.selections
    }


async def test_a_fixture_is_priced_from_the_stored_snapshot_with_the_sports_engine() -> None:
    handlers = await tennis_handlers()
    assert handlers.engine  # the sport's first engine when none is set
    priced = await handlers.price_fixture(price(snapshot_hash(demo_tennis_snapshot())))
    assert priced.digest == quote_digest(priced.quote_set)
    assert min(p for p in prices(priced.quote_set).values() if p) > 10_000


async def test_a_snapshot_nobody_holds_refuses_the_price() -> None:
    handlers = await tennis_handlers()
    with pytest.raises(FailedPrecondition) as refused:
        await handlers.price_fixture(price(snapshot_hash(demo_football_snapshot())))
    assert refused.value.reason == "SNAPSHOT_NOT_FOUND"


async def test_a_batch_reports_each_refusal_and_prices_the_rest_in_order() -> None:
    handlers = await tennis_handlers()
    key = snapshot_hash(demo_tennis_snapshot())
    results = await handlers.price_fixtures(
        [price(key, tennis_fixture("one")), price("sha256:nope", tennis_fixture("two")), price(key)]
    )
    assert [type(r) for r in results] == [Priced, NotPriced, Priced]
    refused = results[1]
    assert isinstance(refused, NotPriced)
    assert (refused.fixture_id, refused.reason) == ("two", "INVALID_SNAPSHOT_HASH")


async def test_the_skew_fault_makes_the_first_price_n_hundredths_more_generous() -> None:
    key = snapshot_hash(demo_tennis_snapshot())
    honest = await (await tennis_handlers()).price_fixture(price(key))
    skewed = await (await tennis_handlers("skew-odds:3")).price_fixture(price(key))
    moved = {
        key: (before, prices(skewed.quote_set)[key])
        for key, before in prices(honest.quote_set).items()
        if prices(skewed.quote_set)[key] != before
    }
    assert [after - before for before, after in moved.values()] == [300]
    assert skewed.digest != honest.digest


async def test_a_replica_serves_only_the_snapshots_it_holds_and_never_asks_its_peers() -> None:
    football = demo_football_snapshot()
    peer = Peer({snapshot_hash(football): snapshot_bytes(football)})
    handlers = await tennis_handlers(peers=[peer])
    tennis_key = snapshot_hash(demo_tennis_snapshot())
    assert await handlers.model_snapshot(GetModelSnapshot(tennis_key)) == snapshot_bytes(
        demo_tennis_snapshot()
    )
    with pytest.raises(NotFound) as missing:
        await handlers.model_snapshot(GetModelSnapshot(snapshot_hash(football)))
    assert missing.value.reason == "SNAPSHOT_NOT_FOUND"
    assert peer.asked == []
    with pytest.raises(InvalidArgument) as bad:
        await handlers.model_snapshot(GetModelSnapshot(""))
    assert bad.value.reason == "SNAPSHOT_REQUIRED"


async def test_snapshots_are_listed_newest_first_by_sport() -> None:
    handlers = await tennis_handlers()
    await handlers.snapshots.put(demo_football_snapshot())
    every = await handlers.model_snapshots(ListModelSnapshots(sport_pb2.SPORT_UNSPECIFIED, 10, 0))
    assert [s.sport for s in every] == [sport_pb2.SPORT_FOOTBALL, sport_pb2.SPORT_TENNIS]
    tennis = await handlers.model_snapshots(ListModelSnapshots(sport_pb2.SPORT_TENNIS, 10, 0))
    assert [s.snapshot_hash for s in tennis] == [snapshot_hash(demo_tennis_snapshot())]
    assert await handlers.model_snapshots(
        ListModelSnapshots(sport_pb2.SPORT_UNSPECIFIED, 10, 1)
    ) == [every[1]]
