"""Shared mistakes against real processes started by the launcher (tokens on, the demo
operator's credential): a snapshot with home and away swapped and one with scoring rates
doubled, put in the replicas' store the way the fitting job puts snapshots, are refused by the
gateway's canary; forced past it, the doubled one is priced but its moves are held by the
integrity guard; a single live event injected through live's ingestion that moves a price beyond
the bound without cause is held, not published; operators release and reject holds."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import fixture_service_pb2, fixture_service_pb2_grpc
from betmesh.live.v1 import live_odds_service_pb2 as live_pb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from betmesh.live.v1 import match_event_pb2 as me
from google.protobuf import timestamp_pb2

from launcher.mesh import Mesh, MeshConfig
from services.quotes.domain.snapshots import snapshot_bytes, snapshot_hash
from tests.integration.test_gateway_guard import DEMO, doubled, results_file, swapped
from tests.support.demo_snapshots import demo_startup_env

from .auth import Operator

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [
    ("fb:arsenal", "fb:chelsea"),
    ("fb:liverpool", "fb:man-city"),
    ("fb:newcastle", "fb:tottenham"),
    ("fb:aston-villa", "fb:man-united"),
]
LIVE = market_pb2.PRICING_PHASE_LIVE
PRE = market_pb2.PRICING_PHASE_PRE_MATCH


@pytest.fixture(scope="module")
def mesh(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, redis_url: str
) -> Iterator[Mesh]:
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS gateway CASCADE"))
        conn.execute(sa.text("DROP SCHEMA IF EXISTS quotes CASCADE"))
    engine.dispose()
    state = Path(tmp_path_factory.mktemp("guard"))
    running = Mesh(
        MeshConfig(
            state_dir=state,
            database_url=database_url,
            redis_url=redis_url,
            chain_rpc_urls=("http://127.0.0.1:9",),
            replicas={"football": 3},
            only=frozenset({"quotes", "gateway", "live"}),
            log_stream=None,
            extra_env={
                # The replicas start on the hand-set demo snapshot the faults are made from.
                **demo_startup_env(),
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                "BETMESH_GATEWAY_CANARY_RESULTS": f"football={results_file(state / 'r.csv')}",
                "BETMESH_LIVE_BUSY_REPRICE_SECONDS": "3600",
                "BETMESH_LIVE_QUIET_REPRICE_SECONDS": "3600",
            },
        )
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def operator(mesh: Mesh) -> Operator:
    identity = mesh.address_of("identity")
    assert identity is not None
    return Operator(identity, mesh.demo_client_id, mesh.demo_secret)


def at(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def fixture(fixture_id: str, home: str, away: str, start: datetime) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_FOOTBALL,
        home=sport_pb2.Participant(participant_id=home, name=home),
        away=sport_pb2.Participant(participant_id=away, name=away),
        start_time=at(start),
        status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
    )


def put(snapshot_file: Path, database_url: str) -> str:
    """The snapshot publish path: `python -m services.quotes.snapshots put FILE`."""
    done = subprocess.run(
        [sys.executable, "-m", "services.quotes.snapshots", "put", str(snapshot_file)],
        cwd=ROOT,
        env={"BETMESH_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def published(
    stub: object, fixture_id: str, phase: market_pb2.PricingPhase.ValueType
) -> dict[str, market_pb2.Market]:
    answer = stub.GetAcceptedQuoteSet(  # type: ignore[attr-defined]
        pb.GetAcceptedQuoteSetRequest(fixture_id=fixture_id, phase=phase), timeout=20
    )
    return {m.market_id: m for m in answer.accepted.quote_set.markets}


def wait_for(check: object, timeout: float = 30.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()  # type: ignore[operator]
        except grpc.RpcError:
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.2)


def test_shared_mistakes_are_refused_or_held(
    mesh: Mesh, operator: Operator, database_url: str, tmp_path: Path
) -> None:
    gateway_address = mesh.address_of("gateway")
    live_address = mesh.address_of("live")
    assert gateway_address is not None and live_address is not None
    soon = datetime.now(UTC) + timedelta(days=2)
    fixtures = [
        fixture(f"pg-{i}", h, a, soon + timedelta(hours=i)) for i, (h, a) in enumerate(PAIRS)
    ]
    with operator.channel(gateway_address) as channel, operator.channel(live_address) as lc:
        from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc

        stub = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(channel)
        fixture_service_pb2_grpc.FixtureServiceStub(channel).UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=fixtures), timeout=20
        )
        first = stub.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=120)
        assert first.snapshot_hashes["football"] == DEMO
        before = {f.fixture_id: published(stub, f.fixture_id, PRE) for f in fixtures}

        # 1. A single live event that moves prices without cause: held, not published.
        live = live_odds_service_pb2_grpc.LiveOddsServiceStub(lc)
        fid = fixtures[0].fixture_id
        result = f"{fid}/MATCH_RESULT"
        events = [
            (me.MATCH_EVENT_TYPE_MATCH_STARTED, 0, 1),
            (me.MATCH_EVENT_TYPE_CLOCK, 300, 1),
            (me.MATCH_EVENT_TYPE_PERIOD_ENDED, 2700, 1),
            (me.MATCH_EVENT_TYPE_PERIOD_STARTED, 2700, 2),
            (me.MATCH_EVENT_TYPE_CLOCK, 2760, 2),
            (me.MATCH_EVENT_TYPE_CLOCK, 88 * 60, 2),  # the fault: 46' to 88', no goal
        ]
        for sequence, (kind, elapsed, period) in enumerate(events, start=1):
            event = me.MatchEvent(
                fixture_id=fid,
                sport=sport_pb2.SPORT_FOOTBALL,
                sequence=sequence,
                type=kind,
                elapsed_seconds=elapsed,
                period=period,
                source="e2e",
            )
            if kind == me.MATCH_EVENT_TYPE_MATCH_STARTED:
                event.fixture.CopyFrom(fixtures[0])
            live.IngestMatchEvent(live_pb.IngestMatchEventRequest(event=event), timeout=20)
            # One price per event, in order (each is screened against the one before).
            wait_for(
                lambda s=sequence: (
                    stub.GetAcceptedQuoteSet(
                        pb.GetAcceptedQuoteSetRequest(fixture_id=fid, phase=LIVE), timeout=20
                    ).accepted.quote_set.event_sequence
                    >= s
                )
            )
        now = published(stub, fid, LIVE)
        assert now[result].status == market_pb2.MARKET_STATUS_SUSPENDED
        holds = stub.ListPriceHolds(pb.ListPriceHoldsRequest(fixture_id=fid), timeout=20)
        hold = next(h for h in holds.holds if h.market_id == result)
        assert hold.phase == LIVE and hold.event_sequence == len(events)
        assert list(now[result].selections) == list(hold.published_market.selections)
        assert {v.rule for v in hold.violations} == {"MOVE_TOO_LARGE"}

        # 2. Swapped and doubled snapshots: refused by the canary, nothing priced from them.
        for bad in (swapped(), doubled()):
            path = tmp_path / f"{snapshot_hash(bad)[7:15]}.snapshot"
            path.write_bytes(snapshot_bytes(bad))
            assert put(path, database_url) == snapshot_hash(bad)
            again = stub.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=300)
            assert again.snapshot_hashes["football"] == DEMO
            reviews = stub.ListSnapshotReviews(
                pb.ListSnapshotReviewsRequest(sport=sport_pb2.SPORT_FOOTBALL), timeout=20
            )
            review = next(r for r in reviews.reviews if r.snapshot_hash == snapshot_hash(bad))
            assert review.verdict == pb.SNAPSHOT_VERDICT_REFUSED, review
            assert review.reasons
        for f in fixtures[1:]:
            assert published(stub, f.fixture_id, PRE) == before[f.fixture_id]

        # 3. Forced past the canary: priced, and the guard holds what it moves.
        stub.ForceSnapshot(
            pb.ForceSnapshotRequest(
                sport=sport_pb2.SPORT_FOOTBALL, snapshot_hash=snapshot_hash(doubled())
            ),
            timeout=20,
        )
        third = stub.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=120)
        assert third.snapshot_hashes["football"] == snapshot_hash(doubled())
        target = fixtures[1].fixture_id
        total = f"{target}/TOTAL_GOALS/250"
        now = published(stub, target, PRE)
        assert now[total].status == market_pb2.MARKET_STATUS_SUSPENDED
        assert list(now[total].selections) == list(before[target][total].selections)
        holds = stub.ListPriceHolds(
            pb.ListPriceHoldsRequest(
                fixture_id=target, status=pb.PRICE_HOLD_STATUS_OPEN, page_size=500
            ),
            timeout=20,
        )
        hold = next(h for h in holds.holds if h.market_id == total)
        released = stub.ReleasePriceHold(
            pb.ReleasePriceHoldRequest(hold_id=hold.hold_id, note="e2e"), timeout=20
        )
        assert released.published
        assert released.hold.decided_by  # the operator's subject
        assert published(stub, target, PRE)[total] == hold.held_market
