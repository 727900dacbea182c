"""Shared harness for the bets tests: a real bets host on PostgreSQL and Redis, and the events
its producers (gateway, live, identity, oracle) would publish, sent through real streams."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import grpc
import redis.asyncio as aioredis
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.bets.v1 import bet_service_pb2_grpc
from betmesh.common.v1 import game_state_pb2, market_pb2, money_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from google.protobuf import timestamp_pb2

from service_runtime.auth import Principal
from service_runtime.events import EventPublisher, Topic, stream_key
from service_runtime.server import ServiceHost
from services.bets.app import build
from services.bets.settings import BetsSettings

if TYPE_CHECKING:
    from betmesh.bets.v1.bet_service_pb2_grpc import BetServiceAsyncStub as Stub

CONSUMER = "bets-test"
# One group per test session: another session on the same Redis database must not take our
# events (a consumer group hands each entry to one of its consumers).
GROUP = f"betmesh.bets.{uuid.uuid4().hex[:8]}"
SUBJECT_HEADER = "x-test-subject"
ROLE_HEADER = "x-test-role"

LIMITS = {
    "BETMESH_BETS_MIN_STAKE_MINOR": "10",
    "BETMESH_BETS_MAX_STAKE_MINOR": "100000",
    "BETMESH_BETS_MAX_PAYOUT_MINOR": "1000000",
    "BETMESH_BETS_MAX_MARKET_LIABILITY_MINOR": "2000000",
    "BETMESH_BETS_MAX_FIXTURE_LIABILITY_MINOR": "3000000",
    "BETMESH_BETS_MAX_PLAYER_OPEN_STAKE_MINOR": "500000",
}


class HeaderAuthenticator:
    """Stands in for the identity token check: the caller named in two headers; no header is an
    internal service (these tests drive bets as the other services do unless they name a
    caller; an unknown caller is refused: tests/integration/test_auth_fail_closed.py)."""

    async def authenticate(self, method: str, metadata: Mapping[str, str]) -> Principal | None:
        if metadata.get(ROLE_HEADER) == "anonymous":
            return None  # an unknown caller, as BETMESH_AUTH_MODE=anonymous admits one
        subject = metadata.get(SUBJECT_HEADER)
        if not subject:
            return Principal(subject="svc-bets-harness", role="service")
        return Principal(subject=subject, role=metadata.get(ROLE_HEADER, "player"))


def as_player(player_id: str) -> tuple[tuple[str, str], ...]:
    return ((SUBJECT_HEADER, player_id), (ROLE_HEADER, "player"))


OPERATOR = ((SUBJECT_HEADER, "ops"), (ROLE_HEADER, "operator"))
ANONYMOUS = ((ROLE_HEADER, "anonymous"),)


def settings(
    database_url: str, redis_url: str, consumer: str = CONSUMER, **extra: str
) -> BetsSettings:
    env = {
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_PORT": "0",
        "BETMESH_DATABASE_URL": database_url,
        "BETMESH_REDIS_URL": redis_url,
        "BETMESH_BETS_CONSUMER_GROUP": GROUP,
        "BETMESH_BETS_CONSUMER_NAME": consumer,
        "BETMESH_BETS_LIVE_DELAY_SECONDS": "football=0.3,tennis=0.3,basketball=0.3",
        "BETMESH_BETS_DECISION_POLL_SECONDS": "0.05",
        "BETMESH_BETS_EVENT_BLOCK_MS": "50",
        # Bus.prices vouches once for an in-play fixture, as live's heartbeat would: the word
        # lasts the test (the silence itself: test_bets_live_silence_stream.py).
        "BETMESH_BETS_LIVE_SILENCE_SECONDS": "600",
        # These tests play the oracle's announcements themselves (no chain here); settlement
        # from the chain has its own tests (test_results_from_chain.py).
        "BETMESH_BETS_SETTLE_FROM": "announcement",
        "BETMESH_GRACE_SECONDS": "0.2",
        **LIMITS,
        **extra,
    }
    return BetsSettings.from_env(env)


def eur(amount: int) -> money_pb2.Money:
    return money_pb2.Money(amount_minor=amount, currency="EUR")


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def stamp(when: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(when)
    return out


@dataclass
class Market:
    market_id: str
    type: int
    prices: dict[str, int]
    line_e2: int = 0
    status: int = market_pb2.MARKET_STATUS_ACTIVE
    withdrawn: frozenset[str] = frozenset()


def football(fixture_id: str, **overrides: dict[str, int]) -> list[Market]:
    markets = [
        Market(
            f"{fixture_id}/MATCH_RESULT",
            market_pb2.MARKET_TYPE_MATCH_RESULT,
            overrides.get("match", {"home": 20_000, "draw": 34_000, "away": 40_000}),
        ),
        Market(
            f"{fixture_id}/TOTAL_GOALS/225",
            market_pb2.MARKET_TYPE_TOTAL_GOALS,
            {"over": 19_000, "under": 19_000},
            line_e2=225,
        ),
        Market(
            f"{fixture_id}/ASIAN_HANDICAP/-75",
            market_pb2.MARKET_TYPE_ASIAN_HANDICAP,
            {"home": 21_000, "away": 17_500},
            line_e2=-75,
        ),
        Market(
            f"{fixture_id}/CORRECT_SCORE",
            market_pb2.MARKET_TYPE_CORRECT_SCORE,
            {"1-0": 70_000, "2-1": 0, "9-9": 1_000_000},
            withdrawn=frozenset({"2-1"}),
        ),
    ]
    return markets


def quote_set(
    fixture_id: str, markets: list[Market], *, live: bool = False, sequence: int = 0
) -> market_pb2.QuoteSet:
    return market_pb2.QuoteSet(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_FOOTBALL,
        phase=market_pb2.PRICING_PHASE_LIVE if live else market_pb2.PRICING_PHASE_PRE_MATCH,
        snapshot_hash="sha256:test",
        event_sequence=sequence,
        markets=[
            market_pb2.Market(
                market_id=m.market_id,
                type=m.type,  # type: ignore[arg-type]
                name=m.market_id,
                line_e2=m.line_e2,
                status=m.status,  # type: ignore[arg-type]
                selections=[
                    market_pb2.Selection(
                        selection_id=sid,
                        name=sid,
                        odds_e4=odds,
                        status=market_pb2.SELECTION_STATUS_WITHDRAWN
                        if sid in m.withdrawn
                        else market_pb2.SELECTION_STATUS_ACTIVE,
                    )
                    for sid, odds in sorted(m.prices.items())
                ],
            )
            for m in markets
        ],
    )


@dataclass
class Bus:
    """Publishes as the producers do, and waits until bets has handled what was published."""

    client: aioredis.Redis
    consumer: str = CONSUMER
    publisher: EventPublisher = field(init=False)

    def __post_init__(self) -> None:
        self.publisher = EventPublisher(self.client, "tests")

    async def publish(
        self, topic: Topic, envelope: events_pb2.EventEnvelope, *, wait: bool = True
    ) -> None:
        await self.publisher.publish(topic, envelope)
        if wait:
            last: Any = await self.client.xrevrange(stream_key(topic), count=1)
            await self.consumed(topic, last[0][0])

    async def consumed(self, topic: Topic, entry_id: bytes, timeout: float = 10.0) -> None:
        group = (
            f"{GROUP}.prices.{self.consumer}"
            if topic
            in (Topic.QUOTE_SET_ACCEPTED, Topic.MARKET_STATUS_CHANGED, Topic.LIVE_HEARTBEAT)
            else GROUP
        )
        wanted = tuple(int(x) for x in entry_id.split(b"-"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                groups = await self.client.xinfo_groups(stream_key(topic))
            except aioredis.ResponseError:
                groups = []  # the consumer has not created its group yet
            for info in groups:
                name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
                if name != group:
                    continue
                raw = info["last-delivered-id"]
                delivered = tuple(
                    int(x) for x in (raw if isinstance(raw, bytes) else raw.encode()).split(b"-")
                )
                if delivered >= wanted and info["pending"] == 0:
                    return
            await asyncio.sleep(0.02)
        raise AssertionError(f"bets did not handle {topic.value} {entry_id!r} in time")

    async def prices(
        self, qs: market_pb2.QuoteSet, when: datetime | None = None, *, vouch: bool = True
    ) -> None:
        """An accepted quote set; an in-play one also vouched for, as live's heartbeat would
        (`vouch=False` where a real live process does)."""
        envelope = events_pb2.EventEnvelope(
            quote_set_accepted=events_pb2.QuoteSetAccepted(
                quote_set=qs, digest=f"sha256:{uuid.uuid4().hex}", agreeing_replicas=3, quorum=2
            )
        )
        if when is not None:
            envelope.occurred_at.CopyFrom(stamp(when))
        await self.publish(Topic.QUOTE_SET_ACCEPTED, envelope)
        if vouch and qs.phase == market_pb2.PRICING_PHASE_LIVE:
            await self.heartbeat([qs.fixture_id])

    async def heartbeat(self, fixture_ids: list[str]) -> None:
        """Live's word that it watches these in-play fixtures (bets takes no in-play bet
        without it)."""
        await self.publish(
            Topic.LIVE_HEARTBEAT,
            events_pb2.EventEnvelope(
                live_heartbeat=events_pb2.LiveHeartbeat(fixture_ids=fixture_ids)
            ),
        )

    async def market_status(
        self, fixture_id: str, market_ids: list[str], status: int, sequence: int = 0
    ) -> None:
        await self.publish(
            Topic.MARKET_STATUS_CHANGED,
            events_pb2.EventEnvelope(
                market_status_changed=events_pb2.MarketStatusChanged(
                    fixture_id=fixture_id,
                    market_ids=market_ids,
                    status=status,  # type: ignore[arg-type]
                    reason="test",
                    event_sequence=sequence,
                )
            ),
        )

    async def game(
        self, fixture_id: str, sequence: int, goals: tuple[int, int], reds: tuple[int, int] = (0, 0)
    ) -> None:
        await self.publish(
            Topic.GAME_STATE_CHANGED,
            events_pb2.EventEnvelope(
                game_state_changed=events_pb2.GameStateChanged(
                    fixture_id=fixture_id,
                    state=game_state_pb2.GameState(
                        event_sequence=sequence,
                        football=game_state_pb2.FootballState(
                            home_goals=goals[0],
                            away_goals=goals[1],
                            home_red_cards=reds[0],
                            away_red_cards=reds[1],
                        ),
                    ),
                )
            ),
        )

    async def kyc(
        self,
        player_id: str,
        status: str = "KYC_STATUS_VERIFIED",
        *,
        of_age: bool = True,
        excluded: bool = False,
        when: datetime | None = None,
    ) -> None:
        envelope = events_pb2.EventEnvelope(
            kyc_status_changed=events_pb2.KycStatusChanged(
                player_id=player_id, kyc_status=status, of_age=of_age, excluded=excluded
            )
        )
        if when is not None:
            envelope.occurred_at.CopyFrom(stamp(when))
        await self.publish(Topic.KYC_STATUS_CHANGED, envelope)

    async def stake_cap(self, player_id: str, cap: int, when: datetime | None = None) -> None:
        said = when or datetime.now(UTC)
        envelope = events_pb2.EventEnvelope(
            responsible_gambling_limits_changed=events_pb2.ResponsibleGamblingLimitsChanged(
                player_id=player_id,
                stake_cap_7d=eur(cap),
                deposit_cap_7d=eur(1_000_000),
                effective_at=stamp(said),
            )
        )
        envelope.occurred_at.CopyFrom(stamp(said))
        await self.publish(Topic.LIMITS_CHANGED, envelope)

    async def deposit_cap(self, player_id: str, cap: int, when: datetime | None = None) -> None:
        """Only the 7-day deposit cap, as identity announces a change of that cap alone."""
        said = when or datetime.now(UTC)
        envelope = events_pb2.EventEnvelope(
            responsible_gambling_limits_changed=events_pb2.ResponsibleGamblingLimitsChanged(
                player_id=player_id, deposit_cap_7d=eur(cap), effective_at=stamp(said)
            )
        )
        envelope.occurred_at.CopyFrom(stamp(said))
        await self.publish(Topic.LIMITS_CHANGED, envelope)

    async def stake_cap_only(self, player_id: str, cap: int) -> None:
        said = datetime.now(UTC)
        envelope = events_pb2.EventEnvelope(
            responsible_gambling_limits_changed=events_pb2.ResponsibleGamblingLimitsChanged(
                player_id=player_id, stake_cap_7d=eur(cap), effective_at=stamp(said)
            )
        )
        envelope.occurred_at.CopyFrom(stamp(said))
        await self.publish(Topic.LIMITS_CHANGED, envelope)

    async def result(
        self,
        fixture_id: str,
        home: int,
        away: int,
        *,
        version: int = 1,
        status: str = "RESULT_STATUS_COMPLETED",
        event_id: str = "",
        wait: bool = True,
    ) -> None:
        await self.publish(
            Topic.RESULT_FINALISED,
            events_pb2.EventEnvelope(
                event_id=event_id,
                result_finalised=events_pb2.ResultFinalised(
                    fixture_id=fixture_id,
                    home_score=home,
                    away_score=away,
                    status=status,
                    version=version,
                    correction=version > 1,
                ),
            ),
            wait=wait,
        )


@dataclass
class Mesh:
    host: ServiceHost
    channel: grpc.aio.Channel
    stub: Stub
    bus: Bus

    async def player(self, balance: int = 100_000, cap: int = 1_000_000) -> str:
        """A verified adult with a stake cap and money in the wallet; the deposit cap (ANJ:
        before the first deposit) comes with the stake cap, or alone without one."""
        player_id = uid("p")
        await self.bus.kyc(player_id)
        if cap:
            await self.bus.stake_cap(player_id, cap)
        elif balance:
            await self.bus.deposit_cap(player_id, 1_000_000)
        if balance:
            await self.stub.Deposit(
                pb.DepositRequest(
                    idempotency_key=uid("dep"),
                    player_id=player_id,
                    amount=eur(balance),
                    payment_method_id="pm_card_visa",
                )
            )
        return player_id

    async def fixture(self, **overrides: dict[str, int]) -> str:
        fixture_id = uid("fx")
        await self.bus.prices(quote_set(fixture_id, football(fixture_id, **overrides)))
        return fixture_id

    async def place(
        self,
        player_id: str,
        legs: list[tuple[str, str, str, int]],
        stake: int = 1_000,
        *,
        key: str | None = None,
        acceptance: int = pb.ODDS_ACCEPTANCE_NONE,
        live: bool = False,
        wait: bool = True,
    ) -> pb.Bet:
        response: Any = await self.stub.PlaceBet(
            place_request(
                player_id, legs, stake, key=key, acceptance=acceptance, live=live, wait=wait
            )
        )
        bet: pb.Bet = response.bet
        return bet

    async def wallet(self, player_id: str) -> tuple[int, int]:
        wallet = (await self.stub.GetWallet(pb.GetWalletRequest(player_id=player_id))).wallet
        return wallet.balance.amount_minor, wallet.held.amount_minor

    async def bet(self, bet_id: str) -> pb.Bet:
        response: Any = await self.stub.GetBet(pb.GetBetRequest(bet_id=bet_id))
        bet: pb.Bet = response.bet
        return bet


def place_request(
    player_id: str,
    legs: list[tuple[str, str, str, int]],
    stake: int = 1_000,
    *,
    key: str | None = None,
    acceptance: int = pb.ODDS_ACCEPTANCE_NONE,
    live: bool = False,
    wait: bool = True,
) -> pb.PlaceBetRequest:
    return pb.PlaceBetRequest(
        idempotency_key=key or uid("bet"),
        player_id=player_id,
        legs=[
            pb.BetLeg(fixture_id=f, market_id=m, selection_id=s, odds_e4=o) for f, m, s, o in legs
        ],
        stake=eur(stake),
        odds_acceptance=acceptance,  # type: ignore[arg-type]
        live=live,
        wait_for_decision=wait,
    )


@asynccontextmanager
async def running(
    database_url: str, redis_url: str, consumer: str = CONSUMER, **extra: str
) -> AsyncIterator[Mesh]:
    """A bets host; `consumer` names it in the consumer groups (a restart keeps the name)."""
    host = build(
        settings(database_url, redis_url, consumer, **extra), authenticator=HeaderAuthenticator()
    )
    port = await host.start()
    client = aioredis.Redis.from_url(redis_url)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub: Stub = bet_service_pb2_grpc.BetServiceStub(channel)  # type: ignore[assignment]
    try:
        yield Mesh(host, channel, stub, Bus(client, consumer))
    finally:
        await channel.close()
        await host.stop(0)
        await client.aclose()


async def eventually(check: object, timeout: float = 10.0) -> None:
    """Polls an async predicate until it holds (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.03)
    raise AssertionError("condition not reached in time")
