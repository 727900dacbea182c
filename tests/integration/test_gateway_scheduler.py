"""Fixtures store, scheduled pre-match pricing and persistence of accepted prices, against real
quote replica servers and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import (
    consensus_gateway_service_pb2_grpc,
    fixture_service_pb2,
    fixture_service_pb2_grpc,
)
from google.protobuf import timestamp_pb2

from gateway.app import build as build_gateway
from gateway.settings import GatewaySettings
from launcher.mesh import replica_engine
from service_runtime.server import ServiceHost
from services.quotes.app import build as build_quotes
from services.quotes.settings import QuotesSettings
from tests.support.grpc_helpers import rpc_error

TEAMS = ["fb:arsenal", "fb:chelsea", "fb:liverpool", "fb:man-city", "fb:newcastle", "fb:tottenham"]


def at(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def football(
    fixture_id: str,
    home: str,
    away: str,
    start: datetime,
    status: sport_pb2.FixtureStatus.ValueType = sport_pb2.FIXTURE_STATUS_SCHEDULED,
) -> sport_pb2.Fixture:
    return sport_pb2.Fixture(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_FOOTBALL,
        competition_id="epl",
        competition_name="Premier League",
        home=sport_pb2.Participant(participant_id=home, name=home.removeprefix("fb:").title()),
        away=sport_pb2.Participant(participant_id=away, name=away.removeprefix("fb:").title()),
        start_time=at(start),
        status=status,
    )


@dataclass
class Gateway:
    host: ServiceHost
    channel: grpc.aio.Channel

    @property
    def consensus(self) -> consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub:
        return consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(self.channel)

    @property
    def fixtures(self) -> fixture_service_pb2_grpc.FixtureServiceStub:
        return fixture_service_pb2_grpc.FixtureServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()
        await self.host.stop(0)


@pytest.fixture
async def replicas() -> AsyncIterator[list[ServiceHost]]:
    hosts = []
    for i in range(1, 4):
        host = build_quotes(
            QuotesSettings.from_env(
                {
                    "BETMESH_AUTH_MODE": "anonymous",
                    "BETMESH_QUOTES_SPORT": "football",
                    "BETMESH_QUOTES_REPLICA_ID": f"football-{i}",
                    # Two engines, as every replica set runs: the gateway requires them.
                    "BETMESH_QUOTES_ENGINE": replica_engine("football", i),
                }
            )
        )
        await host.start()
        hosts.append(host)
    yield hosts
    for host in hosts:
        await host.stop(0)


@pytest.fixture
def clean_schema(database_url: str) -> str:
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS gateway CASCADE"))
    engine.dispose()
    return database_url


async def start_gateway(replicas: list[ServiceHost], database_url: str) -> Gateway:
    addresses = ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    host = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": f"football={addresses}",
                "BETMESH_DATABASE_URL": database_url,
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0",
                "BETMESH_GATEWAY_DEADLINE_MS": "5000",
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await host.start()
    return Gateway(host, grpc.aio.insecure_channel(f"127.0.0.1:{host.port}"))


def week(now: datetime) -> list[sport_pb2.Fixture]:
    fixtures = []
    for day in range(7):
        for n in range(len(TEAMS) // 2):
            home, away = TEAMS[(day + 2 * n) % len(TEAMS)], TEAMS[(day + 2 * n + 1) % len(TEAMS)]
            start = now + timedelta(days=day, hours=2 + n)
            fixtures.append(football(f"wk-{day}-{n}", home, away, start))
    return fixtures


async def test_a_week_is_priced_once_and_only_what_changed_is_repriced(
    replicas: list[ServiceHost], clean_schema: str
) -> None:
    now = datetime.now(UTC)
    gateway = await start_gateway(replicas, clean_schema)
    try:
        fixtures = week(now)
        beyond = football("later", TEAMS[0], TEAMS[1], now + timedelta(days=10))
        ended = football(
            "ended",
            TEAMS[2],
            TEAMS[3],
            now + timedelta(days=1),
            status=sport_pb2.FIXTURE_STATUS_ENDED,
        )
        unknown_team = football("unknown", "fb:nobody", TEAMS[0], now + timedelta(days=2))
        loaded = await gateway.fixtures.UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(
                fixtures=[*fixtures, beyond, ended, unknown_team]
            ),
            timeout=10,
        )
        assert (loaded.created_count, loaded.updated_count) == (len(fixtures) + 3, 0)

        first = await gateway.consensus.RunPreMatchPricing(
            pb.RunPreMatchPricingRequest(), timeout=60
        )
        assert (
            first.fixture_count == len(fixtures) + 1
        )  # the week and the unknown team; not later/ended
        assert first.priced_count == len(fixtures)
        assert [(f.reason, f.count) for f in first.failures] == [("UNKNOWN_PARTICIPANT", 1)]
        assert first.snapshot_hashes["football"].startswith("sha256:")

        second = await gateway.consensus.RunPreMatchPricing(
            pb.RunPreMatchPricingRequest(), timeout=60
        )
        assert (second.priced_count, second.unchanged_count) == (0, len(fixtures))

        moved = football(fixtures[0].fixture_id, TEAMS[5], TEAMS[4], now + timedelta(hours=5))
        again = await gateway.fixtures.UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=[moved, fixtures[1]]), timeout=10
        )
        assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 1, 1)
        third = await gateway.consensus.RunPreMatchPricing(
            pb.RunPreMatchPricingRequest(), timeout=60
        )
        assert (third.priced_count, third.unchanged_count) == (1, len(fixtures) - 1)
        repriced = await gateway.consensus.GetAcceptedQuoteSet(
            pb.GetAcceptedQuoteSetRequest(fixture_id=moved.fixture_id), timeout=10
        )
        one_x_two = next(
            m
            for m in repriced.accepted.quote_set.markets
            if m.type == market_pb2.MARKET_TYPE_MATCH_RESULT
        )
        names = {s.selection_id: s.name for s in one_x_two.selections}
        assert names["home"] == "Tottenham"  # priced from the fixture as it is now
    finally:
        await gateway.close()


async def test_accepted_prices_and_evidence_survive_a_gateway_restart(
    replicas: list[ServiceHost], clean_schema: str
) -> None:
    now = datetime.now(UTC)
    gateway = await start_gateway(replicas, clean_schema)
    fixture = football("persist-1", TEAMS[0], TEAMS[1], now + timedelta(days=1))
    await gateway.fixtures.UpsertFixtures(
        fixture_service_pb2.UpsertFixturesRequest(fixtures=[fixture]), timeout=10
    )
    await gateway.consensus.RunPreMatchPricing(pb.RunPreMatchPricingRequest(), timeout=60)
    before = await gateway.consensus.GetAcceptedQuoteSet(
        pb.GetAcceptedQuoteSetRequest(fixture_id="persist-1"), timeout=10
    )
    await gateway.close()

    restarted = await start_gateway(replicas, clean_schema)
    try:
        after = await restarted.consensus.GetAcceptedQuoteSet(
            pb.GetAcceptedQuoteSetRequest(
                fixture_id="persist-1", phase=market_pb2.PRICING_PHASE_PRE_MATCH
            ),
            timeout=10,
        )
        assert after.accepted == before.accepted
        assert (
            len([v for v in after.accepted.evidence.votes if v.outcome == pb.VOTE_OUTCOME_AGREED])
            >= 2
        )
        got = await restarted.fixtures.GetFixture(
            fixture_service_pb2.GetFixtureRequest(fixture_id="persist-1"), timeout=10
        )
        assert got.fixture == fixture
        nothing_new = await restarted.consensus.RunPreMatchPricing(
            pb.RunPreMatchPricingRequest(), timeout=60
        )
        assert nothing_new.unchanged_count == 1
    finally:
        await restarted.close()


async def test_fixture_store_lists_pages_and_refuses_bad_fixtures(
    replicas: list[ServiceHost], clean_schema: str
) -> None:
    now = datetime(2030, 5, 1, 12, tzinfo=UTC)
    gateway = await start_gateway(replicas, clean_schema)
    try:
        fixtures = [
            football(f"list-{i}", TEAMS[0], TEAMS[1], now + timedelta(hours=i)) for i in range(5)
        ]
        await gateway.fixtures.UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=fixtures), timeout=10
        )
        page = await gateway.fixtures.ListFixtures(
            fixture_service_pb2.ListFixturesRequest(
                sports=[sport_pb2.SPORT_FOOTBALL],
                starts_after=at(now + timedelta(hours=1)),
                page_size=2,
            ),
            timeout=10,
        )
        assert [f.fixture_id for f in page.fixtures] == ["list-1", "list-2"]
        rest = await gateway.fixtures.ListFixtures(
            fixture_service_pb2.ListFixturesRequest(
                starts_after=at(now + timedelta(hours=1)),
                page_size=2,
                page_token=page.next_page_token,
            ),
            timeout=10,
        )
        assert [f.fixture_id for f in rest.fixtures] == [
            "list-3",
            "list-4",
        ] and not rest.next_page_token

        bad = {
            "FIXTURE_ID_REQUIRED": football("", TEAMS[0], TEAMS[1], now),
            "SAME_PARTICIPANTS": football("x", TEAMS[0], TEAMS[0], now),
            "START_TIME_REQUIRED": sport_pb2.Fixture(
                fixture_id="x",
                sport=sport_pb2.SPORT_FOOTBALL,
                home=sport_pb2.Participant(participant_id="a"),
                away=sport_pb2.Participant(participant_id="b"),
            ),
            "INVALID_BEST_OF_SETS": sport_pb2.Fixture(
                fixture_id="t",
                sport=sport_pb2.SPORT_TENNIS,
                start_time=at(now),
                best_of_sets=4,
                home=sport_pb2.Participant(participant_id="a"),
                away=sport_pb2.Participant(participant_id="b"),
            ),
            "BASKETBALL_RULES_NOT_FOR_SPORT": football("x", TEAMS[0], TEAMS[1], now),
            "SURFACE_NOT_FOR_SPORT": football("x", TEAMS[0], TEAMS[1], now),
            "BEST_OF_SETS_NOT_FOR_SPORT": football("x", TEAMS[0], TEAMS[1], now),
        }
        # A sport's own field on another sport's fixture: refused, not silently ignored.
        bad["BASKETBALL_RULES_NOT_FOR_SPORT"].basketball_rules = sport_pb2.BASKETBALL_RULES_FIBA
        bad["SURFACE_NOT_FOR_SPORT"].surface = sport_pb2.TENNIS_SURFACE_CLAY
        bad["BEST_OF_SETS_NOT_FOR_SPORT"].best_of_sets = 5
        for reason, fixture in bad.items():
            request = fixture_service_pb2.UpsertFixturesRequest(fixtures=[fixture])
            code, info, _ = await rpc_error(
                partial(gateway.fixtures.UpsertFixtures, request, timeout=10)
            )
            assert code == grpc.StatusCode.INVALID_ARGUMENT
            assert info is not None and info.reason == reason
        code, info, _ = await rpc_error(
            lambda: gateway.fixtures.GetFixture(
                fixture_service_pb2.GetFixtureRequest(fixture_id="nope"), timeout=10
            )
        )
        assert (
            code == grpc.StatusCode.NOT_FOUND
            and info is not None
            and info.reason == "FIXTURE_NOT_FOUND"
        )
        listed = await gateway.fixtures.ListFixtures(
            fixture_service_pb2.ListFixturesRequest(), timeout=10
        )
        assert len(listed.fixtures) == 5  # nothing half-written by the refused requests
    finally:
        await gateway.close()


async def test_the_timer_prices_new_fixtures_without_being_asked(
    replicas: list[ServiceHost], clean_schema: str
) -> None:
    addresses = ",".join(f"127.0.0.1:{r.port}" for r in replicas)
    host = build_gateway(
        GatewaySettings.from_env(
            {
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_GATEWAY_REPLICAS": f"football={addresses}",
                "BETMESH_DATABASE_URL": clean_schema,
                "BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "3600",
                "BETMESH_GRACE_SECONDS": "0",
            }
        )
    )
    await host.start()
    gateway = Gateway(host, grpc.aio.insecure_channel(f"127.0.0.1:{host.port}"))
    try:
        fixture = football("timer-1", TEAMS[2], TEAMS[3], datetime.now(UTC) + timedelta(days=1))
        await gateway.fixtures.UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(fixtures=[fixture]), timeout=10
        )
        # The upsert wakes the scheduler; no explicit pass is requested, and nobody asks for
        # the price (that would price it on demand): the store is read directly.
        engine = sa.create_engine(clean_schema)
        try:
            for _ in range(200):
                with engine.connect() as conn:
                    stored = conn.execute(
                        sa.text("SELECT count(*) FROM gateway.quote_sets WHERE fixture_id = :id"),
                        {"id": "timer-1"},
                    ).scalar_one()
                if stored:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the scheduler never priced the new fixture")
        finally:
            engine.dispose()
    finally:
        await gateway.close()


async def test_a_price_asked_for_before_any_pass_is_made_on_demand_through_consensus(
    replicas: list[ServiceHost], clean_schema: str
) -> None:
    gateway = await start_gateway(replicas, clean_schema)  # timer off
    try:
        soon = datetime.now(UTC) + timedelta(days=1)
        await gateway.fixtures.UpsertFixtures(
            fixture_service_pb2.UpsertFixturesRequest(
                fixtures=[
                    football("demand-1", TEAMS[0], TEAMS[1], soon),
                    football(
                        "demand-off",
                        TEAMS[2],
                        TEAMS[3],
                        soon,
                        status=sport_pb2.FIXTURE_STATUS_CANCELLED,
                    ),
                ]
            ),
            timeout=10,
        )
        found = await gateway.consensus.GetAcceptedQuoteSet(
            pb.GetAcceptedQuoteSetRequest(fixture_id="demand-1"), timeout=10
        )
        assert found.accepted.quote_set.fixture_id == "demand-1"
        agreed = [v for v in found.accepted.evidence.votes if v.outcome == pb.VOTE_OUTCOME_AGREED]
        assert len(agreed) >= 2
        again = await gateway.consensus.GetAcceptedQuoteSet(
            pb.GetAcceptedQuoteSetRequest(fixture_id="demand-1"), timeout=10
        )
        assert again.accepted.digest == found.accepted.digest
        # Not in the store, not scheduled, or asked for live: nothing to price.
        for fixture_id, phase in (
            ("unknown", market_pb2.PRICING_PHASE_UNSPECIFIED),
            ("demand-off", market_pb2.PRICING_PHASE_UNSPECIFIED),
            ("demand-1", market_pb2.PRICING_PHASE_LIVE),
        ):
            code, info, _ = await rpc_error(
                partial(
                    gateway.consensus.GetAcceptedQuoteSet,
                    pb.GetAcceptedQuoteSetRequest(fixture_id=fixture_id, phase=phase),
                    timeout=10,
                )
            )
            assert code == grpc.StatusCode.NOT_FOUND and info is not None
            assert info.reason == "QUOTE_SET_NOT_FOUND"
    finally:
        await gateway.close()


async def test_fixtures_load_from_a_json_file_through_the_cli(
    replicas: list[ServiceHost],
    clean_schema: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gateway import fixtures_cli

    gateway = await start_gateway(replicas, clean_schema)
    start = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    day = {
        "fixtures": [
            {
                "fixtureId": "cli-1",
                "sport": "SPORT_FOOTBALL",
                "startTime": start,
                "status": "FIXTURE_STATUS_SCHEDULED",
                "home": {"participantId": "fb:arsenal", "name": "Arsenal"},
                "away": {"participantId": "fb:chelsea", "name": "Chelsea"},
            },
        ]
    }
    (tmp_path / "day.json").write_text(json.dumps(day))
    (tmp_path / "bad.json").write_text('{"fixtures": [{"sport": "CURLING"}]}')
    address = f"127.0.0.1:{gateway.host.port}"
    try:
        code = await asyncio.to_thread(
            fixtures_cli.main, ["load", str(tmp_path / "day.json"), "--address", address, "--price"]
        )
        assert code == 0
        out = capsys.readouterr().out
        assert "1 created" in out and "1 priced" in out
        bad = await asyncio.to_thread(
            fixtures_cli.main, ["load", str(tmp_path / "bad.json"), "--address", address]
        )
        assert bad == 2
    finally:
        await gateway.close()
