"""What bets hears from the mesh (prices, bet stops, live's heartbeats, game states, results,
KYC and limits), and the relay that publishes what it queued in its outbox (settled and voided
bets).

Each handler is idempotent (an event delivered twice changes nothing the second time): prices
and statuses keep the newest by sequence and time, game states by sequence, player standing by
the time identity said it, results by version.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
import redis.asyncio as aioredis
from betmesh.common.v1 import game_state_pb2, market_pb2, money_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gw
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gw_grpc
from betmesh.gateway.v1 import fixture_service_pb2, fixture_service_pb2_grpc
from opentelemetry import context as otel_context
from redis.exceptions import ResponseError

from service_runtime.channels import DEFAULT_DEADLINE_SECONDS, ChannelPool
from service_runtime.dead_letters import DeadLetterPolicy
from service_runtime.events import DONE_TTL_SECONDS, EventConsumer, EventPublisher, Topic
from service_runtime.telemetry import extract_context
from services.bets.adapters.postgres_outbox import OutboxEntry
from services.bets.domain.chain_results import ClaimedResult
from services.bets.domain.model import (
    FixtureQuotes,
    GameSnapshot,
    MarketQuote,
    SelectionQuote,
)
from services.bets.domain.prices import PriceBook
from services.bets.service_layer import commands
from services.bets.service_layer.feeds import FeedHandlers

log = logging.getLogger(__name__)

NAME_RETRY_SECONDS = 60.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _name(enum_name: str, prefix: str) -> str:
    return enum_name.removeprefix(prefix)


def fixture_quotes(
    quote_set: market_pb2.QuoteSet, digest: str, accepted_at: datetime
) -> FixtureQuotes:
    return FixtureQuotes(
        fixture_id=quote_set.fixture_id,
        sport=_name(sport_pb2.Sport.Name(quote_set.sport), "SPORT_"),
        live=quote_set.phase == market_pb2.PRICING_PHASE_LIVE,
        event_sequence=quote_set.event_sequence,
        digest=digest,
        accepted_at=accepted_at,
        markets={
            m.market_id: MarketQuote(
                market_id=m.market_id,
                market_type=_name(market_pb2.MarketType.Name(m.type), "MARKET_TYPE_"),
                name=m.name,
                line_e2=m.line_e2,
                side=_name(sport_pb2.Side.Name(m.side), "SIDE_").replace("UNSPECIFIED", ""),
                status=_name(market_pb2.MarketStatus.Name(m.status), "MARKET_STATUS_"),
                selections={
                    s.selection_id: SelectionQuote(
                        selection_id=s.selection_id,
                        name=s.name,
                        odds_e4=s.odds_e4,
                        active=s.status == market_pb2.SELECTION_STATUS_ACTIVE,
                    )
                    for s in m.selections
                },
            )
            for m in quote_set.markets
        },
    )


def game_snapshot(state: game_state_pb2.GameState) -> GameSnapshot:
    which = state.WhichOneof("sport_state")
    if which == "football":
        f = state.football
        return GameSnapshot(
            state.event_sequence, f.home_goals, f.away_goals, f.home_red_cards, f.away_red_cards
        )
    if which == "basketball":
        b = state.basketball
        return GameSnapshot(state.event_sequence, b.home_points, b.away_points)
    if which == "tennis":
        # Games, not points: a point changes every few seconds, a game is the "score" a
        # live tennis price is made for.
        t = state.tennis
        home = sum(s.home_games for s in t.sets)
        away = sum(s.away_games for s in t.sets)
        return GameSnapshot(state.event_sequence, home, away)
    return GameSnapshot(state.event_sequence, 0, 0)


def claimed_result(result: events_pb2.ResultFinalised) -> ClaimedResult:
    return ClaimedResult(
        fixture_id=result.fixture_id,
        version=max(result.version, 1),
        status=result.status.removeprefix("RESULT_STATUS_") or "COMPLETED",
        home=result.home_score,
        away=result.away_score,
        sources_hash=result.sources_hash,
        set_games=tuple(result.set_games),
        transaction_hash=result.transaction_hash,
    )


def _when(envelope: events_pb2.EventEnvelope) -> datetime:
    if envelope.HasField("occurred_at"):
        return envelope.occurred_at.ToDatetime(tzinfo=UTC)
    return datetime.now(UTC)


R = TypeVar("R")


async def _read(what: str, method: Callable[..., Awaitable[R]], request: Any) -> R | None:
    """The gateway's answer to a request about one fixture; None when it has nothing for it
    (NOT_FOUND) or could not answer (logged: bets goes on without it)."""
    try:
        return await method(request, timeout=DEFAULT_DEADLINE_SECONDS)
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            extra = {"fixture_id": request.fixture_id, "code": exc.code().name}
            log.warning("%s failed", what, extra=extra)
        return None


class GatewayPrices:
    """What bets reads from the gateway on demand: a fixture's accepted prices when the local
    book has none, and its display name from the fixture store."""

    def __init__(self, channels: ChannelPool, address: str) -> None:
        self.stub = gw_grpc.ConsensusGatewayServiceStub(channels.get(address))
        self.fixtures = fixture_service_pb2_grpc.FixtureServiceStub(channels.get(address))

    async def fixture_name(self, fixture_id: str) -> str | None:
        """ "Home v Away" (participant ids where the store has no names); None if unknown."""
        request = fixture_service_pb2.GetFixtureRequest(fixture_id=fixture_id)
        response = await _read("fixture read", self.fixtures.GetFixture, request)
        if response is None:
            return None
        home, away = response.fixture.home, response.fixture.away
        return f"{home.name or home.participant_id} v {away.name or away.participant_id}"

    async def fetch(self, fixture_id: str) -> FixtureQuotes | None:
        request = gw.GetAcceptedQuoteSetRequest(fixture_id=fixture_id)
        response = await _read("gateway price read", self.stub.GetAcceptedQuoteSet, request)
        if response is None:
            return None
        accepted = response.accepted
        at = (
            accepted.accepted_at.ToDatetime(tzinfo=UTC)
            if accepted.HasField("accepted_at")
            else _EPOCH
        )
        return fixture_quotes(accepted.quote_set, accepted.digest, at)


class Feeds:
    """Handlers for every topic bets consumes, and the tasks that run them."""

    def __init__(
        self,
        prices: PriceBook,
        gateway: GatewayPrices | None,
        handlers: FeedHandlers,
        results: Callable[[ClaimedResult], Awaitable[None]],
    ) -> None:
        self.prices = prices
        self.gateway = gateway
        # The service layer's use cases for what is heard (service_layer/feeds.py), and its
        # handler of an announced result (BetsService.result_finalised).
        self.handlers = handlers
        self.results = results
        # Fixtures the store did not know, and when to ask again.
        self._unnamed: dict[str, float] = {}

    def knows(self, fixture_ids: list[str]) -> bool:
        """Whether ensure_prices and ensure_fixture_names would both ask nothing (their own
        conditions, checked without awaiting)."""
        if self.gateway is None:
            return True
        now = time.monotonic()
        return all(
            self.prices.fixture(f) is not None
            and (self.prices.fixture_name(f) is not None or self._unnamed.get(f, 0.0) > now)
            for f in fixture_ids
        )

    async def ensure_fixture_names(self, fixture_ids: list[str]) -> None:
        """Looks up, once per fixture, the names a leg keeps. A fixture the store does not know
        is asked again only after NAME_RETRY_SECONDS, not on every bet."""
        if self.gateway is None:
            return
        now = time.monotonic()
        wanted = [
            f
            for f in dict.fromkeys(fixture_ids)
            if self.prices.fixture_name(f) is None and self._unnamed.get(f, 0.0) <= now
        ]
        names = await asyncio.gather(*(self.gateway.fixture_name(f) for f in wanted))
        for fixture_id, name in zip(wanted, names, strict=True):
            if name is None:
                self._unnamed[fixture_id] = now + NAME_RETRY_SECONDS
            else:
                self.prices.set_fixture_name(fixture_id, name)
                self._unnamed.pop(fixture_id, None)

    async def ensure_prices(self, fixture_ids: list[str]) -> None:
        if self.gateway is None:
            return
        missing = [f for f in dict.fromkeys(fixture_ids) if self.prices.fixture(f) is None]
        for _fixture_id, quotes in zip(
            missing, await asyncio.gather(*(self.gateway.fetch(f) for f in missing)), strict=True
        ):
            if quotes is not None:
                self.prices.apply_quote_set(quotes)

    async def on_quotes(self, envelope: events_pb2.EventEnvelope) -> None:
        accepted = envelope.quote_set_accepted
        await self.handlers.prices_accepted(
            commands.PricesAccepted(
                fixture_quotes(accepted.quote_set, accepted.digest, _when(envelope))
            )
        )

    async def on_status(self, envelope: events_pb2.EventEnvelope) -> None:
        change = envelope.market_status_changed
        await self.handlers.market_status_changed(
            commands.MarketStatusChanged(
                fixture_id=change.fixture_id,
                market_ids=tuple(change.market_ids),
                status=_name(market_pb2.MarketStatus.Name(change.status), "MARKET_STATUS_"),
                event_sequence=change.event_sequence,
                said_at=_when(envelope),
            )
        )

    async def on_heartbeat(self, envelope: events_pb2.EventEnvelope) -> None:
        # When live said it, not when it reached us: a heartbeat read late (a backlog after a
        # restart, a slow bus) vouches only for as long as it would have on time (and one
        # stamped ahead of our clock, only from when it was read: PriceBook.vouch).
        await self.handlers.live_watching(
            commands.LiveWatching(
                tuple(envelope.live_heartbeat.fixture_ids), said_at=_when(envelope)
            )
        )

    async def on_game(self, envelope: events_pb2.EventEnvelope) -> None:
        change = envelope.game_state_changed
        await self.handlers.game_state_changed(
            commands.GameStateChanged(change.fixture_id, game_snapshot(change.state))
        )

    async def on_result(self, envelope: events_pb2.EventEnvelope) -> None:
        await self.results(claimed_result(envelope.result_finalised))

    async def on_kyc(self, envelope: events_pb2.EventEnvelope) -> None:
        change = envelope.kyc_status_changed
        await self.handlers.kyc_changed(
            commands.KycChanged(
                player_id=change.player_id,
                kyc_status=change.kyc_status.removeprefix("KYC_STATUS_"),
                of_age=change.of_age,
                excluded=change.excluded,
                said_at=_when(envelope),
            )
        )

    async def on_limits(self, envelope: events_pb2.EventEnvelope) -> None:
        change = envelope.responsible_gambling_limits_changed
        said_at = _when(envelope)
        await self.handlers.caps_changed(
            commands.CapsChanged(
                player_id=change.player_id,
                stake_cap_minor=change.stake_cap_7d.amount_minor
                if change.HasField("stake_cap_7d")
                else None,
                deposit_cap_minor=change.deposit_cap_7d.amount_minor
                if change.HasField("deposit_cap_7d")
                else None,
                effective_at=change.effective_at.ToDatetime(tzinfo=UTC)
                if change.HasField("effective_at")
                else said_at,
                said_at=said_at,
            )
        )

    def consumers(
        self,
        client: aioredis.Redis,
        group: str,
        consumer: str,
        block_ms: int,
        policy: DeadLetterPolicy | None = None,
    ) -> list[EventConsumer]:
        handlers: list[tuple[Topic, Callable[[events_pb2.EventEnvelope], Awaitable[None]], str]] = [
            # Every bets process keeps its own price book: its own group sees every price.
            (Topic.QUOTE_SET_ACCEPTED, self.on_quotes, f"{group}.prices.{consumer}"),
            (Topic.MARKET_STATUS_CHANGED, self.on_status, f"{group}.prices.{consumer}"),
            (Topic.LIVE_HEARTBEAT, self.on_heartbeat, f"{group}.prices.{consumer}"),
            (Topic.GAME_STATE_CHANGED, self.on_game, group),
            (Topic.RESULT_FINALISED, self.on_result, group),
            (Topic.KYC_STATUS_CHANGED, self.on_kyc, group),
            (Topic.LIMITS_CHANGED, self.on_limits, group),
        ]
        return [
            EventConsumer(
                client,
                topic,
                group_name,
                consumer,
                handler,
                block_ms=block_ms,
                reclaim_idle_ms=5_000,
                policy=policy,
                # A heartbeat a second per live process: its duplicate markers need not outlive
                # the silence it is evidence for by much (the handler is idempotent anyway).
                done_ttl_seconds=60 if topic is Topic.LIVE_HEARTBEAT else DONE_TTL_SECONDS,
            )
            for topic, handler, group_name in handlers
        ]


async def run_consumer(consumer: EventConsumer) -> None:
    """EventConsumer.run, surviving a stream or group that vanished (a flushed Redis)."""
    while True:
        try:
            await consumer.run()
            return
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning(
                "consumer group vanished; recreating", extra={"topic": consumer.topic.value}
            )
            await asyncio.sleep(0.1)


class OutboxPublisher:
    """Puts an outbox entry (adapters/postgres_outbox.py) on the bus, in the trace of the call
    that queued it (the operator's VoidBets); the relay's pass is the service layer's
    (`BetsService.relay_outbox`)."""

    def __init__(self, publisher: EventPublisher) -> None:
        self.publisher = publisher

    async def publish(self, entry: object) -> None:
        assert isinstance(entry, OutboxEntry)
        token = otel_context.attach(extract_context(entry.trace_context))
        try:
            await self.publisher.publish(entry.topic, _envelope(entry))
        finally:
            otel_context.detach(token)


def _envelope(entry: OutboxEntry) -> events_pb2.EventEnvelope:
    if entry.envelope is not None:
        return events_pb2.EventEnvelope.FromString(entry.envelope)
    assert entry.settled is not None  # the table's check: a row is one or the other
    notice = entry.settled
    return events_pb2.EventEnvelope(
        event_id=notice.event_id,
        bet_settled=events_pb2.BetSettled(
            bet_id=notice.bet_id,
            player_id=notice.player_id,
            status=f"BET_STATUS_{notice.status.value}",
            payout=money_pb2.Money(amount_minor=notice.payout_minor, currency=notice.currency),
        ),
    )
