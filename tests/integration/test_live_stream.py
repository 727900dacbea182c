"""StreamOdds and UpdateSubscription through gRPC, with real Redis and the real event bus.

Bus events are published the way the gateway, live and the oracle publish them
(service_runtime.events.EventPublisher); each module uses a journal prefix of its own so that
other tests' streams never interleave with these.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc, match_event_pb2
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint

from service_runtime.events import EventPublisher, Topic
from service_runtime.server import ServiceHost
from services.live.app import build
from services.live.settings import LiveSettings
from tests.support.grpc_helpers import rpc_error

if TYPE_CHECKING:
    Stub = live_odds_service_pb2_grpc.LiveOddsServiceAsyncStub

PRE, LIVE = market_pb2.PRICING_PHASE_PRE_MATCH, market_pb2.PRICING_PHASE_LIVE
ACTIVE, SUSPENDED = market_pb2.MARKET_STATUS_ACTIVE, market_pb2.MARKET_STATUS_SUSPENDED
KEY = "test-stream-key-" + uuid.uuid4().hex


@dataclass
class Live:
    host: ServiceHost
    channel: grpc.aio.Channel
    stub: Stub


async def start_live(
    redis_url: str, prefix: str, meters: MeterProvider | None = None, **env: str
) -> Live:
    settings = LiveSettings.from_env(
        {
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_REDIS_URL": redis_url,
            "BETMESH_PORT": "0",
            "BETMESH_GRACE_SECONDS": "0.2",
            "BETMESH_LIVE_STREAM_PREFIX": prefix,
            "BETMESH_LIVE_STREAM_TOKEN_KEY": KEY,
            "BETMESH_LIVE_STREAM_LEASE_SECONDS": "1",
            # Each module's journal starts as its first process starts: the events other
            # modules published before are none of its business.
            "BETMESH_LIVE_STREAM_LOOKBACK_SECONDS": "0",
            **env,
        }
    )
    host = build(settings, meters)
    await host.start()
    # No BDP probing: the receive window stays small, so a client that stops reading soon
    # blocks the server's writes, as a slow partner across the internet would.
    channel = grpc.aio.insecure_channel(
        f"127.0.0.1:{host.port}", options=[("grpc.http2.bdp_probe", 0)]
    )
    return Live(
        host, channel, cast("Stub", live_odds_service_pb2_grpc.LiveOddsServiceStub(channel))
    )


@pytest.fixture(scope="module")
async def lives(redis_url: str) -> AsyncIterator[dict[str, Live]]:
    prefix = f"test:stream:{uuid.uuid4().hex[:8]}"
    started = {
        "a": await start_live(redis_url, prefix, BETMESH_LIVE_STREAM_CONFLATE_AFTER="8"),
        "b": await start_live(redis_url, prefix),
        "strict": await start_live(
            redis_url,
            prefix,
            BETMESH_LIVE_STREAM_MAX_BEHIND_SECONDS="1",
            BETMESH_LIVE_STREAM_CONFLATE_AFTER="4",
            BETMESH_LIVE_STREAM_MAX_FIXTURE_IDS="5",
        ),
        "limited": await start_live(
            redis_url, f"{prefix}:limited", BETMESH_LIVE_STREAM_MAX_PER_PARTNER="3"
        ),
        "short": await start_live(
            redis_url, f"{prefix}:short", BETMESH_LIVE_RESUME_WINDOW_SECONDS="1"
        ),
    }
    yield started
    for live in started.values():
        await live.channel.close()
        await live.host.stop(0)


@pytest.fixture(scope="module")
async def bus(redis_url: str) -> AsyncIterator[EventPublisher]:
    client = aioredis.Redis.from_url(redis_url)
    yield EventPublisher(client, "betmesh.gateway")
    await client.aclose()  # type: ignore[attr-defined]


def new_fixture() -> str:
    return f"stream-{uuid.uuid4().hex[:10]}"


def quote_set(fixture_id: str, phase: int, price: int, markets: int = 2) -> pb.FixtureOdds:
    """Markets as the quote replicas shape them (ids "<fixture>/<TYPE>[/line]")."""
    return pb.FixtureOdds(
        markets=[
            market_pb2.Market(
                market_id=f"{fixture_id}/TOTAL_GOALS/{150 + 100 * i}",
                type=market_pb2.MARKET_TYPE_TOTAL_GOALS,
                name=f"Total goals {1.5 + i}",
                line_e2=150 + 100 * i,
                status=ACTIVE,
                selections=[
                    market_pb2.Selection(
                        selection_id=s,
                        name=s.title(),
                        odds_e4=price + i,
                        status=market_pb2.SELECTION_STATUS_ACTIVE,
                    )
                    for s in ("over", "under")
                ],
            )
            for i in range(markets)
        ]
        + [
            market_pb2.Market(
                market_id=f"{fixture_id}/MATCH_RESULT",
                type=market_pb2.MARKET_TYPE_MATCH_RESULT,
                name="Match result",
                status=ACTIVE,
                selections=[
                    market_pb2.Selection(
                        selection_id=s,
                        name=s,
                        odds_e4=price,
                        status=market_pb2.SELECTION_STATUS_ACTIVE,
                    )
                    for s in ("away", "draw", "home")
                ],
            )
        ]
    )


async def publish_prices(
    bus: EventPublisher, fixture_id: str, phase: int, price: int, markets: int = 2
) -> None:
    odds = quote_set(fixture_id, phase, price, markets)
    await bus.publish(
        Topic.QUOTE_SET_ACCEPTED,
        events_pb2.EventEnvelope(
            quote_set_accepted=events_pb2.QuoteSetAccepted(
                quote_set=market_pb2.QuoteSet(
                    fixture_id=fixture_id,
                    sport=sport_pb2.SPORT_FOOTBALL,
                    phase=phase,  # type: ignore[arg-type]
                    markets=odds.markets,
                ),
                digest=f"sha256:{price:064x}",
                agreeing_replicas=3,
                quorum=2,
            )
        ),
    )


async def publish_status(
    bus: EventPublisher, fixture_id: str, status: int, reason: str = "DANGEROUS_EVENT"
) -> None:
    await bus.publish(
        Topic.MARKET_STATUS_CHANGED,
        events_pb2.EventEnvelope(
            market_status_changed=events_pb2.MarketStatusChanged(
                fixture_id=fixture_id,
                status=status,  # type: ignore[arg-type]
                reason=reason,
                event_sequence=7,
            )
        ),
    )


class Reader:
    def __init__(self, stub: Stub, request: pb.StreamOddsRequest) -> None:
        self.call = stub.StreamOdds(request)
        self.received: list[pb.StreamOddsResponse] = []

    async def next(self, timeout: float = 10.0, heartbeats: bool = False) -> pb.StreamOddsResponse:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            message = await asyncio.wait_for(self.call.read(), max(left, 0.01))
            assert message is not grpc.aio.EOF, "stream ended"
            message = cast(pb.StreamOddsResponse, message)
            self.received.append(message)
            # Heartbeats and the producers' status come on their own schedule; asked for only.
            if heartbeats or message.WhichOneof("payload") not in ("heartbeat", "producer_status"):
                return message

    async def image(self, timeout: float = 10.0) -> list[pb.FixtureOdds]:
        fixtures: list[pb.FixtureOdds] = []
        while True:
            message = await self.next(timeout)
            assert message.WhichOneof("payload") == "full_image", message
            fixtures += message.full_image.fixtures
            if message.full_image.complete:
                return fixtures

    async def updates(self, count: int, timeout: float = 10.0) -> list[pb.OddsUpdate]:
        got: list[pb.OddsUpdate] = []
        while len(got) < count:
            message = await self.next(timeout)
            assert message.WhichOneof("payload") == "deltas", message
            got += message.deltas.updates
        return got

    def cancel(self) -> None:
        self.call.cancel()


def only(fixture_id: str, **fields: Any) -> pb.StreamOddsRequest:
    return pb.StreamOddsRequest(filter=pb.SubscriptionFilter(fixture_ids=[fixture_id]), **fields)


def assert_gapless(messages: list[pb.StreamOddsResponse], start: int = 1) -> None:
    assert [m.sequence for m in messages] == list(range(start, start + len(messages)))


def kinds(updates: list[pb.OddsUpdate]) -> list[str]:
    return [cast(str, u.WhichOneof("update")) for u in updates]


async def test_image_then_deltas_in_order_with_gapless_sequences(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    fixture = new_fixture()
    await publish_prices(bus, fixture, PRE, 20000)
    first = Reader(lives["a"].stub, only(fixture))
    image = await first.image()
    # The pre-match set may or may not have reached the journal before the image.
    if not image:
        (update,) = await first.updates(1)
        assert update.odds_change.phase == PRE
    await publish_status(bus, fixture, market_pb2.MARKET_STATUS_HANDED_OVER, "HAND_OVER")
    await publish_prices(bus, fixture, LIVE, 21000)
    updates = await first.updates(2)
    assert kinds(updates) == ["bet_stop", "odds_change"], updates
    hand_over, live_prices = updates[0].bet_stop, updates[1].odds_change
    assert hand_over.status == market_pb2.MARKET_STATUS_HANDED_OVER
    assert len(hand_over.market_ids) == 3
    assert live_prices.phase == LIVE and live_prices.fixture.fixture_id == fixture
    assert {s.odds_e4 for m in live_prices.markets for s in m.selections} >= {21000}
    # A second subscriber gets the whole state, self-describing, in its image.
    second = Reader(lives["b"].stub, only(fixture))
    images = {odds.phase: odds for odds in await second.image()}
    assert images[PRE].fixture.sport == sport_pb2.SPORT_FOOTBALL
    assert {m.status for m in images[PRE].markets} == {market_pb2.MARKET_STATUS_HANDED_OVER}
    assert {m.status for m in images[LIVE].markets} == {ACTIVE}
    assert all(m.name and m.selections[0].name for m in images[LIVE].markets)
    # Suspension, then reopening.
    await publish_status(bus, fixture, SUSPENDED)
    await publish_status(bus, fixture, ACTIVE)
    for reader in (first, second):
        stop, reopen = await reader.updates(2)
        assert stop.bet_stop.status == SUSPENDED
        assert stop.bet_stop.reason == pb.BET_STOP_REASON_DANGEROUS_EVENT
        assert {m.status for m in reopen.odds_change.markets} == {ACTIVE}
        assert len(reopen.odds_change.markets) == 3
        assert_gapless(reader.received)
        assert len({m.stream_id for m in reader.received}) == 1
        reader.cancel()


async def test_resume_after_a_dropped_connection_has_no_gap_and_no_duplicate(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    fixture = new_fixture()
    reader = Reader(lives["a"].stub, only(fixture, max_batch_size=1))
    await reader.image()
    for price in (20000, 20100, 20200):
        await publish_prices(bus, fixture, LIVE, price)
    await reader.updates(3)
    last = reader.received[-1]
    reader.cancel()
    for price in (20300, 20400, 20500):
        await publish_prices(bus, fixture, LIVE, price)
    # Resumed on the other process: the journal is shared.
    resumed = Reader(lives["b"].stub, pb.StreamOddsRequest(resume_token=last.resume_token))
    missed = await resumed.updates(3)
    assert [u.odds_change.quote_set_digest for u in missed] == [
        f"sha256:{p:064x}" for p in (20300, 20400, 20500)
    ]
    assert resumed.received[0].stream_id == last.stream_id
    assert_gapless(resumed.received, start=last.sequence + 1)
    await publish_prices(bus, fixture, LIVE, 20600)
    (fresh,) = await resumed.updates(1)
    assert fresh.odds_change.quote_set_digest == f"sha256:{20600:064x}"
    resumed.cancel()


async def test_resume_beyond_the_window_gets_a_full_image_marked_so(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    fixture = new_fixture()
    reader = Reader(lives["short"].stub, only(fixture))
    await reader.image()
    await publish_prices(bus, fixture, LIVE, 20000)
    await reader.updates(1)
    token = reader.received[-1].resume_token
    reader.cancel()
    await asyncio.sleep(1.2)  # the window is 1 s: let the entry age out
    await publish_prices(bus, fixture, LIVE, 20100)  # its append trims the older entries
    for _ in range(50):
        resumed = Reader(lives["short"].stub, pb.StreamOddsRequest(resume_token=token))
        first = await resumed.next()
        if first.WhichOneof("payload") == "full_image":
            break
        resumed.cancel()  # the trimming append had not landed yet
        await asyncio.sleep(0.1)
    assert first.full_image.reason == pb.FULL_IMAGE_REASON_RESUME_WINDOW_EXCEEDED
    assert first.full_image.complete
    (odds,) = first.full_image.fixtures
    assert odds.quote_set_digest == f"sha256:{20100:064x}"
    resumed.cancel()


async def test_slow_consumer_is_conflated_while_a_fast_one_gets_everything(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    fixture = new_fixture()
    fast = Reader(lives["a"].stub, only(fixture))
    slow = Reader(lives["a"].stub, only(fixture))
    await fast.image()
    await slow.image()
    count = 120
    reading = asyncio.create_task(fast.updates(count, timeout=30))
    for price in range(count):
        # Big enough updates that the slow client's unread window fills and writes block.
        await publish_prices(bus, fixture, LIVE, 20000 + price, markets=40)
    updates = await reading
    assert [u.odds_change.quote_set_digest for u in updates] == [
        f"sha256:{20000 + p:064x}" for p in range(count)
    ]
    assert not any(m.conflated for m in fast.received)
    # Now the slow one reads: it ends with the latest prices, having been told it was merged.
    digest = ""
    while digest != f"sha256:{20000 + count - 1:064x}":
        message = await slow.next()
        for update in message.deltas.updates:
            digest = update.odds_change.quote_set_digest or digest
    assert any(m.conflated for m in slow.received)
    assert len(slow.received) < count
    assert_gapless(slow.received)
    fast.cancel()
    slow.cancel()


async def test_a_client_chosen_conflation_window_coalesces_updates_per_market(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    fixture = new_fixture()
    windowed = Reader(lives["a"].stub, only(fixture, conflate_ms=600))
    await windowed.image()
    count = 10
    for price in range(count):
        await publish_prices(bus, fixture, LIVE, 20000 + price)
    latest = f"sha256:{20000 + count - 1:064x}"
    seen: list[str] = []
    while latest not in seen:
        message = await windowed.next()
        seen += [
            u.odds_change.quote_set_digest
            for u in message.deltas.updates
            if u.HasField("odds_change")
        ]
    # Ten price changes in well under the window: the client gets the latest state of each
    # market, fewer messages than changes, and is told that it was merged.
    assert len(seen) < count
    assert any(m.conflated for m in windowed.received)
    assert_gapless(windowed.received)
    windowed.cancel()


async def test_consumer_too_far_behind_is_cut(lives: dict[str, Live], bus: EventPublisher) -> None:
    fixture = new_fixture()
    stuck = Reader(lives["strict"].stub, only(fixture))
    await stuck.image()
    for price in range(60):
        await publish_prices(bus, fixture, LIVE, 20000 + price, markets=40)
    code, info, _ = await rpc_error(lambda: _drain(stuck, delay=0.5))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert info is not None and info.reason == "CONSUMER_TOO_SLOW"


async def _drain(reader: Reader, delay: float) -> None:
    await asyncio.sleep(delay * 4)  # stuck long enough to be cut, then read what was buffered
    while True:
        await reader.next(timeout=30)


async def test_bad_filters_and_tokens_are_rejected_with_reasons(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    stub = lives["strict"].stub

    async def first(request: pb.StreamOddsRequest) -> None:
        await Reader(stub, request).next()

    cases = [
        # An undefined enum value breaks the contract's field rules before the stream sees it.
        (pb.StreamOddsRequest(filter=pb.SubscriptionFilter(sports=[99])), "INVALID_REQUEST_FIELDS"),  # type: ignore[list-item]
        (
            pb.StreamOddsRequest(
                filter=pb.SubscriptionFilter(fixture_ids=[f"f{i}" for i in range(6)])
            ),
            "TOO_MANY_FIXTURE_IDS",
        ),
        (pb.StreamOddsRequest(max_batch_size=501), "BATCH_SIZE_OUT_OF_RANGE"),
        (pb.StreamOddsRequest(resume_token="not-a-token"), "RESUME_TOKEN_INVALID"),
    ]
    for request, reason in cases:
        code, info, _ = await rpc_error(lambda r=request: first(r))  # type: ignore[misc]
        assert (code, info and info.reason) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    # A genuine token, edited: the signature no longer verifies.
    reader = Reader(stub, only(new_fixture()))
    await reader.image()
    token = reader.received[-1].resume_token
    reader.cancel()
    body, mac = token.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    code, info, _ = await rpc_error(lambda: first(pb.StreamOddsRequest(resume_token=forged)))
    assert (code, info and info.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "RESUME_TOKEN_INVALID",
    )
    # A token from another journal (same key): stale.
    code, info, _ = await rpc_error(
        lambda: (
            first(pb.StreamOddsRequest(resume_token=token)).__await__()
            if False
            else Reader(lives["short"].stub, pb.StreamOddsRequest(resume_token=token)).next()
        )
    )
    assert (code, info and info.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "RESUME_TOKEN_STALE",
    )


async def test_filter_changed_in_place_through_another_process(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    one, two = new_fixture(), new_fixture()
    await publish_prices(bus, two, PRE, 30000)
    reader = Reader(lives["a"].stub, only(one))
    await reader.image()
    stream_id = reader.received[-1].stream_id
    wanted = pb.SubscriptionFilter(fixture_ids=[one, two])
    # Wait until the second fixture is in the journal, so the image for it is not empty.
    probe = Reader(lives["b"].stub, only(two))
    while not await probe.image():
        await probe.updates(1)
        break
    probe.cancel()
    reply = await lives["b"].stub.UpdateSubscription(
        pb.UpdateSubscriptionRequest(stream_id=stream_id, filter=wanted), timeout=10
    )
    assert set(reply.filter.fixture_ids) == {one, two}
    changed = await reader.next()
    assert set(changed.subscription_changed.filter.fixture_ids) == {one, two}
    added = await reader.next()
    assert added.full_image.reason == pb.FULL_IMAGE_REASON_FILTER_CHANGED
    assert [f.fixture.fixture_id for f in added.full_image.fixtures] == [two]
    await publish_prices(bus, two, PRE, 30100)
    (update,) = await reader.updates(1)
    assert update.odds_change.fixture.fixture_id == two
    assert_gapless(reader.received)
    reader.cancel()
    code, info, _ = await rpc_error(
        lambda: lives["a"].stub.UpdateSubscription(
            pb.UpdateSubscriptionRequest(stream_id="no-such-stream", filter=wanted), timeout=10
        )
    )
    assert (code, info and info.reason) == (grpc.StatusCode.NOT_FOUND, "STREAM_NOT_FOUND")


async def test_streams_per_partner_are_limited(lives: dict[str, Live]) -> None:
    stub = lives["limited"].stub
    open_ = [Reader(stub, only(new_fixture())) for _ in range(3)]
    for reader in open_:
        await reader.image()
    code, info, _ = await rpc_error(lambda: Reader(stub, only(new_fixture())).next())
    assert (code, info and info.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "STREAM_LIMIT")
    for reader in open_:
        reader.cancel()


async def test_heartbeats_carry_a_resume_token(lives: dict[str, Live]) -> None:
    reader = Reader(lives["b"].stub, only(new_fixture(), heartbeat_interval_ms=500))
    await reader.image()
    beat = await reader.next(heartbeats=True)
    # Feeds other tests left alive or dead are announced as they change: not what is tested.
    while beat.WhichOneof("payload") == "producer_status":
        beat = await reader.next(heartbeats=True)
    assert beat.WhichOneof("payload") == "heartbeat" and beat.heartbeat.lag_ms == 0
    assert beat.resume_token and beat.sequence >= 2
    reader.cancel()


async def test_game_state_and_settlement_reach_the_stream(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    fixture = new_fixture()
    reader = Reader(lives["b"].stub, only(fixture))
    await reader.image()
    await publish_prices(bus, fixture, LIVE, 20000)
    await bus.publish(
        Topic.GAME_STATE_CHANGED,
        events_pb2.EventEnvelope(
            game_state_changed=events_pb2.GameStateChanged(
                fixture_id=fixture,
                state=game_state_pb2.GameState(
                    event_sequence=3, football=game_state_pb2.FootballState(home_goals=2)
                ),
            )
        ),
    )
    for correction in (False, True):
        await bus.publish(
            Topic.RESULT_FINALISED,
            events_pb2.EventEnvelope(
                result_finalised=events_pb2.ResultFinalised(
                    fixture_id=fixture,
                    home_score=2,
                    away_score=int(correction),
                    status="RESULT_STATUS_COMPLETED",
                    version=1 + int(correction),
                    correction=correction,
                )
            ),
        )
    updates = await reader.updates(5)
    assert kinds(updates) == [
        "odds_change",
        "odds_change",
        "bet_settlement",
        "rollback_bet_settlement",
        "bet_settlement",
    ]
    assert updates[1].odds_change.game_state.football.home_goals == 2
    results = {
        m.market_id: {r.selection_id: r.outcome for r in m.results}
        for m in updates[2].bet_settlement.markets
    }
    assert results[f"{fixture}/MATCH_RESULT"]["home"] == market_pb2.SELECTION_OUTCOME_WIN
    assert results[f"{fixture}/TOTAL_GOALS/150"]["over"] == market_pb2.SELECTION_OUTCOME_WIN
    assert results[f"{fixture}/TOTAL_GOALS/250"]["under"] == market_pb2.SELECTION_OUTCOME_WIN
    corrected = {
        m.market_id: {r.selection_id: r.outcome for r in m.results}
        for m in updates[4].bet_settlement.markets
    }
    assert corrected[f"{fixture}/TOTAL_GOALS/250"]["over"] == market_pb2.SELECTION_OUTCOME_WIN
    reader.cancel()


async def publish_void(
    bus: EventPublisher, fixture_id: str, market_ids: list[str], after_s: int, before_s: int
) -> None:
    voided = events_pb2.BetsVoided(
        fixture_id=fixture_id, market_ids=market_ids, reason="late goal feed"
    )
    voided.placed_after.FromSeconds(after_s)
    voided.placed_before.FromSeconds(before_s)
    await bus.publish(Topic.BETS_VOIDED, events_pb2.EventEnvelope(bets_voided=voided))


async def test_voided_bets_reach_the_stream_as_bet_cancel_with_their_window(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    """What bets announces on "bets.voided" reaches partners as BetCancel: the markets, the
    placement window and the reason; market-type filters apply to it like to any update, and
    the markets keep their status (a void is about bets, not prices)."""
    fixture = new_fixture()
    everything = Reader(lives["a"].stub, only(fixture))
    totals_only = Reader(
        lives["b"].stub,
        pb.StreamOddsRequest(
            filter=pb.SubscriptionFilter(
                fixture_ids=[fixture], market_types=[market_pb2.MARKET_TYPE_TOTAL_GOALS]
            )
        ),
    )
    await everything.image()
    await totals_only.image()
    await publish_prices(bus, fixture, LIVE, 20000)
    await everything.updates(1)
    await totals_only.updates(1)
    result, total = f"{fixture}/MATCH_RESULT", f"{fixture}/TOTAL_GOALS/150"
    await publish_void(bus, fixture, [result, total], 1_700_000_000, 1_700_000_060)
    await publish_void(bus, fixture, [result], 1_700_000_100, 1_700_000_160)
    await publish_void(bus, fixture, [], 1_700_000_200, 1_700_000_260)

    (first, second, whole) = await everything.updates(3)
    assert kinds([first, second, whole]) == ["bet_cancel"] * 3
    assert first.bet_cancel.fixture_id == fixture
    assert sorted(first.bet_cancel.market_ids) == sorted([result, total])
    assert first.bet_cancel.start_time.seconds == 1_700_000_000
    assert first.bet_cancel.end_time.seconds == 1_700_000_060
    assert first.bet_cancel.reason == "late goal feed"
    assert list(second.bet_cancel.market_ids) == [result]
    assert list(whole.bet_cancel.market_ids) == []  # every market of the fixture
    # The totals-only stream never hears of the match-result void, only of what it shows.
    (mine, fixture_wide) = await totals_only.updates(2)
    assert list(mine.bet_cancel.market_ids) == [total]
    assert fixture_wide.bet_cancel.start_time.seconds == 1_700_000_200
    assert_gapless(everything.received)
    assert_gapless(totals_only.received)
    # Markets are still open: a new subscriber's image shows them ACTIVE.
    late = Reader(lives["b"].stub, only(fixture))
    (image,) = [o for o in await late.image() if o.phase == LIVE]
    assert {m.status for m in image.markets} == {ACTIVE}
    for reader in (everything, totals_only, late):
        reader.cancel()


def gauge(reader: InMemoryMetricReader, name: str) -> list[float]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
        if isinstance(point, NumberDataPoint)
    ]


def active_subscribers(reader: InMemoryMetricReader) -> list[int]:
    return [int(v) for v in gauge(reader, "betmesh.live.active_subscribers")]


async def test_the_active_subscribers_gauge_counts_open_streams(redis_url: str) -> None:
    """The gauge the autoscaler scales live on, read as an OpenTelemetry reader would."""
    reader = InMemoryMetricReader()
    live = await start_live(
        redis_url, f"test:gauge:{uuid.uuid4().hex[:8]}", MeterProvider(metric_readers=[reader])
    )
    try:
        assert active_subscribers(reader) == [0]
        streams = [Reader(live.stub, pb.StreamOddsRequest()) for _ in range(3)]
        for stream in streams:
            await stream.image()
        assert active_subscribers(reader) == [3]
        # Streams that read everything sent have nothing waiting: no lag.
        assert gauge(reader, "betmesh.live.stream_lag_max") == [0.0]
        for stream in streams[:2]:
            stream.cancel()
        for _ in range(100):  # the server notices a cancelled stream on its own schedule
            if active_subscribers(reader) == [1]:
                break
            await asyncio.sleep(0.05)
        assert active_subscribers(reader) == [1]
        streams[2].cancel()
    finally:
        await live.channel.close()
        await live.host.stop(0)


async def test_bursts_of_streams_and_ingests_queue_for_redis_instead_of_failing(
    redis_url: str, bus: EventPublisher
) -> None:
    """Opening streams and ingesting events each take a Redis connection: a burst of hundreds
    at once (match day: every match's event at the same second, partners reconnecting) must
    queue for connections, never fail with INTERNAL."""
    live = await start_live(
        redis_url,
        f"test:burst:{uuid.uuid4().hex[:8]}",
        # Few connections, so that the burst surely outnumbers them, and as long a wait for
        # one as the calls' deadlines (below): how long the queue takes is the machine's.
        BETMESH_LIVE_REDIS_CONNECTIONS="8",
        BETMESH_LIVE_REDIS_WAIT_SECONDS="120",
        BETMESH_LIVE_STREAM_MAX_PER_PARTNER="1000",
        BETMESH_MAX_CONCURRENT_STREAMS="1000",
    )
    fixture = new_fixture()
    # Each call waits its turn behind hundreds of others on a machine that may be busy: the
    # deadlines only catch a burst that never drains, whatever the load (CI missed 10 s).
    deadline = 120.0
    try:
        readers = [Reader(live.stub, only(fixture)) for _ in range(250)]
        kick_offs = [
            live.stub.IngestMatchEvent(
                pb.IngestMatchEventRequest(
                    event=match_event_pb2.MatchEvent(
                        fixture_id=new_fixture(),
                        sport=sport_pb2.SPORT_FOOTBALL,
                        sequence=1,
                        type=match_event_pb2.MATCH_EVENT_TYPE_MATCH_STARTED,
                        source="test",
                    )
                ),
                timeout=deadline,
            )
            for _ in range(400)
        ]
        replies = await asyncio.gather(*kick_offs, *(r.image(deadline) for r in readers))
        assert {r.outcome for r in replies[:400]} == {pb.INGEST_OUTCOME_APPLIED}  # type: ignore[union-attr]
        await publish_prices(bus, fixture, LIVE, 20000)
        received = await asyncio.gather(*(r.updates(1, timeout=deadline) for r in readers))
        assert {u.odds_change.quote_set_digest for (u,) in received} == {f"sha256:{20000:064x}"}
        for reader in readers:
            reader.cancel()
    finally:
        await live.channel.close()
        await live.host.stop(0)
