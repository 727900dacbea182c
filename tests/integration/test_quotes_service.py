"""QuoteService through gRPC on real servers: PostgreSQL snapshots, peers, errors with reasons."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.quotes.v1 import quote_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2_grpc, snapshot_pb2

from service_runtime.digest import digest_bytes
from service_runtime.errors import Unimplemented
from service_runtime.server import ServiceHost
from services.quotes import snapshots as snapshots_cli
from services.quotes.app import build
from services.quotes.domain.snapshots import snapshot_bytes, snapshot_hash
from services.quotes.settings import QuotesSettings
from tests.support.demo_snapshots import (
    demo_basketball_snapshot,
    demo_football_snapshot,
    demo_startup_env,
    demo_tennis_snapshot,
)
from tests.support.grpc_helpers import rpc_error


def settings(sport: str, replica: str, **extra: str) -> QuotesSettings:
    return QuotesSettings.from_env(
        {
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_QUOTES_SPORT": sport,
            # The hand-set snapshots only: this test pins their hashes.
            **demo_startup_env(),
            "BETMESH_QUOTES_REPLICA_ID": replica,
            "BETMESH_GRACE_SECONDS": "0",
            **{f"BETMESH_{k.upper()}": v for k, v in extra.items()},
        }
    )


class Replica:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        self.address = f"127.0.0.1:{host.port}"
        self.channel = grpc.aio.insecure_channel(self.address)
        self.stub = quote_service_pb2_grpc.QuoteServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()
        await self.host.stop(0)


async def start(config: QuotesSettings) -> Replica:
    host = build(config)
    await host.start()
    return Replica(host)


@pytest.fixture
async def tennis(database_url: str) -> AsyncIterator[Replica]:
    replica = await start(settings("tennis", "tennis-1", database_url=database_url))
    yield replica
    await replica.close()


def tennis_fixture(best_of: int = 3, away: str = "tn:rune") -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id="ao-sin-run",
        sport=sport_pb2.SPORT_TENNIS,
        home=sport_pb2.Participant(participant_id="tn:sinner", name="Sinner"),
        away=sport_pb2.Participant(participant_id=away, name="Rune"),
        best_of_sets=best_of,
    )


async def test_a_tennis_replica_prices_the_full_market_set(tennis: Replica) -> None:
    key = snapshot_hash(demo_tennis_snapshot())
    response = await tennis.stub.PriceFixture(
        pb.PriceFixtureRequest(fixture=tennis_fixture(5), snapshot_hash=key)
    )
    assert response.digest == digest_bytes(response.quote_set)
    assert response.replica_id == "tennis-1"
    quote_set = market_pb2.QuoteSet.FromString(response.quote_set)
    assert quote_set.snapshot_hash == key
    types = {m.type for m in quote_set.markets}
    assert types == {
        market_pb2.MARKET_TYPE_MATCH_WINNER,
        market_pb2.MARKET_TYPE_SET_BETTING,
        market_pb2.MARKET_TYPE_TOTAL_GAMES,
        market_pb2.MARKET_TYPE_GAMES_HANDICAP,
    }
    set_betting = next(m for m in quote_set.markets if m.type == market_pb2.MARKET_TYPE_SET_BETTING)
    assert [s.selection_id for s in set_betting.selections] == [
        "0-3", "1-3", "2-3", "3-0", "3-1", "3-2"
    ]  # fmt: skip
    # At the policy's 85% target, unless a short favourite is floored at 1.01.
    assert all(
        0 < m.payout_e4 <= 8_500 or any(s.odds_e4 == 10_100 for s in m.selections)
        for m in quote_set.markets
    )
    # The gateway controller's margin scale travels in the request and cuts every payout.
    steered = market_pb2.QuoteSet.FromString(
        (
            await tennis.stub.PriceFixture(
                pb.PriceFixtureRequest(
                    fixture=tennis_fixture(5), snapshot_hash=key, margin_scale_e4=15_000
                )
            )
        ).quote_set
    )
    before = {m.market_id: m.payout_e4 for m in quote_set.markets}
    assert all(m.payout_e4 < before[m.market_id] for m in steered.markets if m.payout_e4 < 8_500)
    assert max(m.payout_e4 for m in steered.markets if m.payout_e4 < 8_500) <= 7_900


async def test_bad_requests_get_reasons(tennis: Replica) -> None:
    key = snapshot_hash(demo_tennis_snapshot())
    cases = [
        (
            pb.PriceFixtureRequest(fixture=tennis_fixture(), snapshot_hash="sha256:" + "1" * 64),
            grpc.StatusCode.FAILED_PRECONDITION,
            "SNAPSHOT_NOT_FOUND",
        ),
        (
            pb.PriceFixtureRequest(fixture=tennis_fixture(away="tn:nobody"), snapshot_hash=key),
            grpc.StatusCode.INVALID_ARGUMENT,
            "UNKNOWN_PARTICIPANT",
        ),
        (
            pb.PriceFixtureRequest(fixture=tennis_fixture(best_of=4), snapshot_hash=key),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_BEST_OF_SETS",
        ),
        (
            pb.PriceFixtureRequest(
                fixture=sport_pb2.Fixture(
                    fixture_id="x",
                    sport=sport_pb2.SPORT_FOOTBALL,
                    home=sport_pb2.Participant(participant_id="fb:arsenal"),
                    away=sport_pb2.Participant(participant_id="fb:chelsea"),
                ),
                snapshot_hash=snapshot_hash(demo_football_snapshot()),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "SPORT_MISMATCH",
        ),
        (
            pb.PriceFixtureRequest(
                fixture=tennis_fixture(), snapshot_hash=snapshot_hash(demo_football_snapshot())
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "SNAPSHOT_SPORT_MISMATCH",
        ),
        (
            pb.PriceFixtureRequest(
                fixture=tennis_fixture(),
                snapshot_hash=key,
                market_types=[market_pb2.MARKET_TYPE_TOTAL_GOALS],
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "MARKET_TYPE_NOT_FOR_SPORT",
        ),
        (
            pb.PriceFixtureRequest(fixture=tennis_fixture(), snapshot_hash="sha256:nope"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_REQUEST_FIELDS",  # the contract's pattern (buf.validate)
        ),
        (
            pb.PriceFixtureRequest(
                fixture=tennis_fixture(),
                snapshot_hash=key,
                # In play, the game state must be the fixture's sport's.
                game_state=game_state_pb2.GameState(event_sequence=4),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "GAME_STATE_SPORT_MISMATCH",
        ),
    ]
    for request, code, reason in cases:

        async def call(r: pb.PriceFixtureRequest = request) -> object:
            return await tennis.stub.PriceFixture(r)

        got, info, _ = await rpc_error(call)
        assert (got, info.reason if info else None) == (code, reason)


async def test_batches_report_each_failure_in_order(tennis: Replica) -> None:
    key = snapshot_hash(demo_tennis_snapshot())
    response = await tennis.stub.PriceFixtures(
        pb.PriceFixturesRequest(
            requests=[
                pb.PriceFixtureRequest(fixture=tennis_fixture(), snapshot_hash=key),
                pb.PriceFixtureRequest(fixture=tennis_fixture(away="tn:x"), snapshot_hash=key),
            ]
        )
    )
    first, second = response.results
    assert first.WhichOneof("result") == "priced"
    assert second.failure.reason == "UNKNOWN_PARTICIPANT"


async def test_snapshots_are_stored_listed_newest_first_and_served_by_hash(
    tennis: Replica, database_url: str, tmp_path: Path
) -> None:
    fitted = demo_tennis_snapshot()
    fitted.model = "barnett-clarke-markov/test-put"
    fitted.tennis.players[0].serve_point_win = 0.72
    path = tmp_path / "snapshot.bin"
    path.write_bytes(snapshot_bytes(fitted))
    assert snapshots_cli.main(["put", str(path), "--database-url", database_url]) == 0
    key = snapshot_hash(fitted)

    listing = await tennis.stub.ListModelSnapshots(
        pb.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_TENNIS, page_size=1)
    )
    assert [s.snapshot_hash for s in listing.snapshots] == [key]
    assert listing.snapshots[0].model == "barnett-clarke-markov/test-put"
    assert listing.next_page_token
    rest = await tennis.stub.ListModelSnapshots(
        pb.ListModelSnapshotsRequest(
            sport=sport_pb2.SPORT_TENNIS, page_size=50, page_token=listing.next_page_token
        )
    )
    assert snapshot_hash(demo_tennis_snapshot()) in {s.snapshot_hash for s in rest.snapshots}

    served = await tennis.stub.GetModelSnapshot(pb.GetModelSnapshotRequest(snapshot_hash=key))
    assert digest_bytes(served.snapshot) == key
    priced = await tennis.stub.PriceFixture(
        pb.PriceFixtureRequest(fixture=tennis_fixture(), snapshot_hash=key)
    )
    assert market_pb2.QuoteSet.FromString(priced.quote_set).snapshot_hash == key

    code, info, _ = await rpc_error(
        lambda: tennis.stub.GetModelSnapshot(
            pb.GetModelSnapshotRequest(snapshot_hash="sha256:" + "2" * 64)
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND and info is not None
    assert info.reason == "SNAPSHOT_NOT_FOUND"
    info_response = await tennis.stub.GetReplicaInfo(pb.GetReplicaInfoRequest())
    assert info_response.sport == sport_pb2.SPORT_TENNIS
    assert info_response.replica_id == "tennis-1"


def test_the_cli_refuses_a_file_that_is_no_snapshot(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "junk.bin"
    path.write_bytes(b"\xff\xff\xff")
    assert snapshots_cli.main(["put", str(path), "--database-url", database_url]) == 2


class LyingPeer(quote_service_pb2_grpc.QuoteServiceServicer):
    """A replica whose GetModelSnapshot sends other bytes than the hash names."""

    async def GetModelSnapshot(
        self, request: pb.GetModelSnapshotRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetModelSnapshotResponse:
        return pb.GetModelSnapshotResponse(
            snapshot=snapshot_bytes(demo_basketball_snapshot()),
            snapshot_hash=request.snapshot_hash,
        )

    async def PriceFixture(self, request: object, context: object) -> pb.PriceFixtureResponse:
        raise Unimplemented("NOT_IMPLEMENTED", "a peer that only lies about snapshots")

    async def PriceFixtures(self, request: object, context: object) -> pb.PriceFixturesResponse:
        raise Unimplemented("NOT_IMPLEMENTED", "a peer that only lies about snapshots")

    async def ListModelSnapshots(
        self, request: object, context: object
    ) -> pb.ListModelSnapshotsResponse:
        raise Unimplemented("NOT_IMPLEMENTED", "a peer that only lies about snapshots")

    async def GetReplicaInfo(self, request: object, context: object) -> pb.GetReplicaInfoResponse:
        raise Unimplemented("NOT_IMPLEMENTED", "a peer that only lies about snapshots")


async def test_a_replica_fetches_a_missing_snapshot_from_a_peer_and_refuses_a_liar(
    private_database_url: str,
) -> None:
    database_url = private_database_url
    holder = await start(settings("basketball", "basketball-1", database_url=database_url))
    special = demo_basketball_snapshot()
    special.model = "normal-margin-total/peer-only"
    special.basketball.margin_sigma = 11.0
    key = snapshot_hash(special)
    snapshots_cli.put_snapshot(special, database_url)

    liar_server = grpc.aio.server()
    quote_service_pb2_grpc.add_QuoteServiceServicer_to_server(LyingPeer(), liar_server)
    liar_port = liar_server.add_insecure_port("127.0.0.1:0")
    await liar_server.start()
    # No database: only the peers can provide a snapshot it lacks.
    lonely = await start(
        settings("basketball", "basketball-2", quotes_peers=f"127.0.0.1:{liar_port}")
    )
    fetcher = await start(
        settings(
            "basketball",
            "basketball-3",
            quotes_peers=f"127.0.0.1:{liar_port},{holder.address}",
        )
    )
    try:
        request = pb.PriceFixtureRequest(
            fixture=sport_pb2.Fixture(
                fixture_id="nba-bos-sas",
                sport=sport_pb2.SPORT_BASKETBALL,
                home=sport_pb2.Participant(participant_id="bb:celtics"),
                away=sport_pb2.Participant(participant_id="bb:spurs"),
            ),
            snapshot_hash=key,
        )
        code, info, _ = await rpc_error(lambda: lonely.stub.PriceFixture(request))
        assert code == grpc.StatusCode.FAILED_PRECONDITION and info is not None
        assert info.reason == "SNAPSHOT_HASH_MISMATCH"

        fetched = await fetcher.stub.PriceFixture(request)
        direct = await holder.stub.PriceFixture(request)
        assert fetched.quote_set == direct.quote_set
        assert fetched.digest == direct.digest
        # Kept: the fetcher now serves it to others.
        served = await fetcher.stub.GetModelSnapshot(pb.GetModelSnapshotRequest(snapshot_hash=key))
        assert snapshot_pb2.ModelSnapshot.FromString(served.snapshot).model.endswith("peer-only")
    finally:
        for replica in (lonely, fetcher, holder):
            await replica.close()
        await liar_server.stop(0)


async def test_the_skew_fault_still_changes_one_price() -> None:
    clean = await start(settings("football", "football-1"))
    faulty = await start(settings("football", "football-2", quotes_fault="skew-odds"))
    try:
        request = pb.PriceFixtureRequest(
            fixture=sport_pb2.Fixture(
                fixture_id="epl-ars-che",
                sport=sport_pb2.SPORT_FOOTBALL,
                home=sport_pb2.Participant(participant_id="fb:arsenal"),
                away=sport_pb2.Participant(participant_id="fb:chelsea"),
            ),
            snapshot_hash=snapshot_hash(demo_football_snapshot()),
            market_types=[market_pb2.MARKET_TYPE_MATCH_RESULT],
        )
        a = await clean.stub.PriceFixture(request)
        b = await faulty.stub.PriceFixture(request)
        assert a.digest != b.digest
    finally:
        await clean.close()
        await faulty.close()
