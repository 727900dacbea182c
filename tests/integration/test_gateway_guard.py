"""The snapshot canary and the integrity guard through the gateway's public API, against three
real quote replicas sharing a real PostgreSQL snapshot store (where new snapshots are put the
way the fitting job puts them).

A snapshot with home and away swapped and one with scoring rates doubled are offered to every
replica: the canary refuses both and nothing is priced from them; forced past the canary, the
doubled one is priced but every market it moves beyond the bound is held (published suspended
at its old price, so bets refuses it), explained to the operator, and published only when
released (bets then takes it)."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from betmesh.bets.v1 import bet_service_pb2 as bets_pb
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.quotes.v1 import snapshot_pb2

from gateway.app import build as build_gateway
from gateway.settings import GatewaySettings
from launcher.mesh import replica_engine
from service_runtime.events import Topic, stream_key
from service_runtime.server import ServiceHost
from services.quotes.app import build as build_quotes
from services.quotes.domain.pricing import price_fixture
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.settings import QuotesSettings
from services.quotes.snapshots import put_snapshot
from tests.integration.test_bets_harness import Mesh as BetsMesh
from tests.integration.test_bets_harness import running, uid
from tests.integration.test_gateway_scheduler import TEAMS, Gateway, football
from tests.support.demo_snapshots import demo_football_snapshot, demo_startup_env
from tests.support.grpc_helpers import rpc_error

DEMO = snapshot_hash(demo_football_snapshot())


def swapped() -> snapshot_pb2.ModelSnapshot:
    """Home and away strengths swapped: the home advantage goes to the away side."""
    snapshot = demo_football_snapshot()
    snapshot.football.home_advantage = -snapshot.football.home_advantage
    return snapshot


def doubled() -> snapshot_pb2.ModelSnapshot:
    """Every team's scoring rate scaled by 2 (log-scale attack + ln 2)."""
    snapshot = demo_football_snapshot()
    for team in snapshot.football.teams:
        team.attack += math.log(2)
    return snapshot


def results_file(path: Path) -> Path:
    """Past results drawn (fixed seed) from the demo model's own match-result probabilities:
    the snapshot that made them scores best on them, as a well-fitted one would."""
    rng = random.Random(7)
    demo = demo_football_snapshot()
    lines = ["kickoff_utc,home,away,ft_home,ft_away"]
    start = datetime(2024, 1, 6, 15, tzinfo=UTC)
    number = 0
    names = {t.participant_id: t.name for t in demo.football.teams}
    for _ in range(2):
        for home, home_name in names.items():
            for away, away_name in names.items():
                if home == away:
                    continue
                fixture = sport_pb2.Fixture(
                    fixture_id="r",
                    sport=sport_pb2.SPORT_FOOTBALL,
                    home=sport_pb2.Participant(participant_id=home),
                    away=sport_pb2.Participant(participant_id=away),
                )
                (result,) = price_fixture(
                    fixture,
                    demo,
                    DEMO,
                    [market_pb2.MARKET_TYPE_MATCH_RESULT],
                    None,
                    sport_pb2.SPORT_FOOTBALL,
                ).markets
                p = {s.selection_id: s.probability_e9 / 1e9 for s in result.selections}
                draw = rng.random()
                score = (
                    (1, 0)
                    if draw < p["home"]
                    else (1, 1)
                    if draw < p["home"] + p["draw"]
                    else (0, 1)
                )
                kickoff = start + timedelta(days=number)
                number += 1
                lines.append(
                    f"{kickoff.isoformat().replace('+00:00', 'Z')},{home_name},{away_name},"
                    f"{score[0]},{score[1]}"
                )
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def clean(database_url: str) -> str:
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS gateway CASCADE"))
        conn.execute(sa.text("DROP SCHEMA IF EXISTS quotes CASCADE"))
    engine.dispose()
    return database_url


@pytest.fixture
async def replicas(clean: str) -> AsyncIterator[list[ServiceHost]]:
    hosts = []
    for i in range(1, 4):
        host = build_quotes(
            QuotesSettings.from_env(
                {
                    "BETMESH_AUTH_MODE": "anonymous",
                    "BETMESH_QUOTES_SPORT": "football",
                    # The hand-set snapshots only: this test pins their hashes.
                    **demo_startup_env(),
                    "BETMESH_QUOTES_REPLICA_ID": f"football-{i}",
                    "BETMESH_QUOTES_ENGINE": replica_engine("football", i),
                    "BETMESH_DATABASE_URL": clean,
                }
            )
        )
        await host.start()
        hosts.append(host)
    yield hosts
    for host in hosts:
        await host.stop(0)


@pytest.fixture
async def gateway(
    replicas: list[ServiceHost], clean: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[Gateway]:
    addresses = ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    host = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": f"football={addresses}",
                "BETMESH_DATABASE_URL": clean,
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                "BETMESH_GATEWAY_DEADLINE_MS": "5000",
                "BETMESH_GATEWAY_CANARY_RESULTS": f"football={results_file(tmp_path / 'r.csv')}",
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await host.start()
    found = Gateway(host, grpc.aio.insecure_channel(f"127.0.0.1:{host.port}"))
    yield found
    await found.close()


async def load_week(gateway: Gateway) -> list[str]:
    from betmesh.gateway.v1 import fixture_service_pb2

    soon = datetime.now(UTC) + timedelta(days=2)
    pairs = [*zip(TEAMS[::2], TEAMS[1::2], strict=True), (TEAMS[1], TEAMS[2])]
    fixtures = [
        football(f"g{i}", h, a, soon + timedelta(hours=i)) for i, (h, a) in enumerate(pairs)
    ]
    await gateway.fixtures.UpsertFixtures(
        fixture_service_pb2.UpsertFixturesRequest(fixtures=fixtures), timeout=10
    )
    return [f.fixture_id for f in fixtures]


async def published(gateway: Gateway, fixture_id: str) -> dict[str, market_pb2.Market]:
    answer = await gateway.consensus.GetAcceptedQuoteSet(
        pb.GetAcceptedQuoteSetRequest(
            fixture_id=fixture_id, phase=market_pb2.PRICING_PHASE_PRE_MATCH
        ),
        timeout=10,
    )
    return {m.market_id: m for m in answer.accepted.quote_set.markets}


async def prices_reached(bets: BetsMesh) -> None:
    """Bets has handled every quote set the gateway announced so far."""
    last: Any = await bets.bus.client.xrevrange(stream_key(Topic.QUOTE_SET_ACCEPTED), count=1)
    await bets.bus.consumed(Topic.QUOTE_SET_ACCEPTED, last[0][0])


async def test_canary_refuses_swapped_and_doubled_snapshots_and_the_guard_holds_a_forced_one(
    gateway: Gateway, clean: str, redis_url: str
) -> None:
    async with running(clean, redis_url, uid("guard")) as bets:
        await canary_and_guard(gateway, clean, bets)


async def canary_and_guard(gateway: Gateway, clean: str, bets: BetsMesh) -> None:
    fixture_ids = await load_week(gateway)
    first = await gateway.consensus.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=120)
    assert first.snapshot_hashes["football"] == DEMO
    assert first.priced_count == len(fixture_ids)
    before = {f: await published(gateway, f) for f in fixture_ids}

    for bad in (swapped(), doubled()):
        put = put_snapshot(bad, clean)
        again = await gateway.consensus.RunPreMatchPricing(
            pb.RunPreMatchPricingRequest(), timeout=300
        )
        # Refused: nothing is priced from it, every published price stays as it was.
        assert again.snapshot_hashes["football"] == DEMO
        assert again.priced_count == 0
        reviews = await gateway.consensus.ListSnapshotReviews(
            pb.ListSnapshotReviewsRequest(sport=sport_pb2.SPORT_FOOTBALL), timeout=10
        )
        review = next(r for r in reviews.reviews if r.snapshot_hash == put)
        assert review.verdict == pb.SNAPSHOT_VERDICT_REFUSED
        assert review.current_snapshot_hash == DEMO
        assert review.compared_fixtures == len(fixture_ids)
        assert review.backtest_matches >= 10
        assert any(r.startswith("PRICES_MOVED") for r in review.reasons)
        for f in fixture_ids:
            assert await published(gateway, f) == before[f]
    baseline = next(r for r in reviews.reviews if r.snapshot_hash == DEMO)
    assert baseline.verdict == pb.SNAPSHOT_VERDICT_BASELINE

    # Scoring rates doubled is worse on the back-test too.
    doubled_hash = snapshot_hash(doubled())
    review = next(r for r in reviews.reviews if r.snapshot_hash == doubled_hash)
    assert review.candidate_score_e9 > review.current_score_e9

    # An operator forces the doubled snapshot through: priced from, but its moves are held.
    forced = await gateway.consensus.ForceSnapshot(
        pb.ForceSnapshotRequest(
            sport=sport_pb2.SPORT_FOOTBALL, snapshot_hash=doubled_hash, note="trust me"
        ),
        timeout=10,
    )
    assert forced.review.verdict == pb.SNAPSHOT_VERDICT_FORCED
    third = await gateway.consensus.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=120)
    assert third.snapshot_hashes["football"] == doubled_hash
    assert third.priced_count == len(fixture_ids)

    holds = await gateway.consensus.ListPriceHolds(
        pb.ListPriceHoldsRequest(status=pb.PRICE_HOLD_STATUS_OPEN, page_size=500), timeout=10
    )
    assert holds.open_count == holds.held_total == len(holds.holds) > 0
    held = {(h.fixture_id, h.market_id): h for h in holds.holds}
    for fixture_id in fixture_ids:
        assert (fixture_id, f"{fixture_id}/TOTAL_GOALS/250") in held
        now = await published(gateway, fixture_id)
        for market_id, market in now.items():
            if (fixture_id, market_id) in held:
                # Held: the old price, suspended; the doubled one is not offered.
                assert market.status == market_pb2.MARKET_STATUS_SUSPENDED
                assert list(market.selections) == list(before[fixture_id][market_id].selections)
            else:
                assert market.status == market_pb2.MARKET_STATUS_ACTIVE
    hold = held[(fixture_ids[0], f"{fixture_ids[0]}/TOTAL_GOALS/250")]
    assert hold.snapshot_hash == doubled_hash
    assert hold.violations[0].rule == "MOVE_TOO_LARGE"
    assert hold.violations[0].values["cause"] == "UNVETTED_SNAPSHOT"
    assert hold.published_market == before[fixture_ids[0]][hold.market_id]
    assert any(c.rule == "MOVE_TOO_LARGE" and c.count == len(held) for c in holds.counts)

    # Bets (fed by the gateway's announcements) refuses the held market, takes the others.
    await prices_reached(bets)
    player = await bets.player()
    total = f"{fixture_ids[0]}/TOTAL_GOALS/250"
    old_under = {s.selection_id: s.odds_e4 for s in before[fixture_ids[0]][total].selections}[
        "under"
    ]
    refused = await bets.place(player, [(fixture_ids[0], total, "under", old_under)])
    assert refused.status == bets_pb.BET_STATUS_REJECTED
    assert refused.rejection_reason == bets_pb.REJECTION_REASON_BETTING_SUSPENDED

    # Released: published as agreed. Rejected: stays held back.
    released = await gateway.consensus.ReleasePriceHold(
        pb.ReleasePriceHoldRequest(hold_id=hold.hold_id, note="checked"), timeout=10
    )
    assert released.published
    assert released.hold.status == pb.PRICE_HOLD_STATUS_RELEASED
    now = await published(gateway, fixture_ids[0])
    assert now[hold.market_id] == hold.held_market
    assert now[hold.market_id].status == market_pb2.MARKET_STATUS_ACTIVE
    await prices_reached(bets)
    # The doubled snapshot's under 2.5 (its over is too short to offer).
    new_under = {s.selection_id: s.odds_e4 for s in hold.held_market.selections}["under"]
    taken = await bets.place(player, [(fixture_ids[0], total, "under", new_under)])
    assert taken.status == bets_pb.BET_STATUS_ACCEPTED, taken.rejection_message

    other = held[(fixture_ids[1], f"{fixture_ids[1]}/TOTAL_GOALS/250")]
    rejected = await gateway.consensus.RejectPriceHold(
        pb.RejectPriceHoldRequest(hold_id=other.hold_id), timeout=10
    )
    assert rejected.hold.status == pb.PRICE_HOLD_STATUS_REJECTED
    assert (await published(gateway, fixture_ids[1]))[other.market_id].status == (
        market_pb2.MARKET_STATUS_SUSPENDED
    )

    # Decided once only; unknown and malformed ids are the caller's mistake.
    for call, code, reason in (
        (
            lambda: gateway.consensus.ReleasePriceHold(
                pb.ReleasePriceHoldRequest(hold_id=other.hold_id), timeout=10
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "HOLD_ALREADY_DECIDED",
        ),
        (
            lambda: gateway.consensus.RejectPriceHold(
                pb.RejectPriceHoldRequest(hold_id="999999"), timeout=10
            ),
            grpc.StatusCode.NOT_FOUND,
            "HOLD_NOT_FOUND",
        ),
        (
            lambda: gateway.consensus.RejectPriceHold(
                pb.RejectPriceHoldRequest(hold_id="9" * 30), timeout=10
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_REQUEST_FIELDS",
        ),
    ):
        got, info, _ = await rpc_error(call)
        assert got == code
        assert info is not None and info.reason == reason
