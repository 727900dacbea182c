"""An in-play bet is taken only while live vouches for its fixture (its LiveHeartbeat, within
BETMESH_BETS_LIVE_SILENCE_SECONDS): a dead or frozen live suspends nothing itself, so its silence
refuses in-play bets, at placement and again when a pending one is decided. The rule
(domain/placing.check_watched) on the bets service layer with in-memory ports and a fake clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint

from service_runtime.env import Env, SettingsError
from service_runtime.errors import DomainError
from service_runtime.live_watch import LiveWatch
from services.bets.domain.bet_rules import BetRules
from services.bets.domain.model import BetRejected, BetStatus, GameSnapshot, Rejection
from services.bets.domain.placing import check_watched
from services.bets.domain.postings import stake_release
from services.bets.domain.prices import PriceBook
from services.bets.domain.statement import ReturnToPlayer
from services.bets.metrics import BetsMetrics
from services.bets.service_layer import commands
from services.bets.service_layer.feeds import FeedHandlers
from tests.unit.bets_fakes import FakeClock, FakeFeedState
from tests.unit.test_bets_service_layer import PLAYER, World, place, quotes

RULES = BetRules(live_silence_seconds=5.0)


@pytest.mark.parametrize(("ago", "taken"), [(0.0, True), (4.9, True), (5.1, False)])
def test_live_vouched_within_the_silence_is_taken_past_it_refused(ago: float, taken: bool) -> None:
    clock, book = FakeClock(), PriceBook()
    book.vouch(["f1"], clock() - timedelta(seconds=ago))
    if taken:
        check_watched("f1", book, clock(), RULES)
        return
    with pytest.raises(BetRejected) as refused:
        check_watched("f1", book, clock(), RULES)
    assert refused.value.reason is Rejection.BETTING_SUSPENDED
    assert "live producer is silent" in refused.value.message


def test_a_fixture_live_never_vouched_for_is_refused() -> None:
    clock, book = FakeClock(), PriceBook()
    book.vouch(["other"], clock())
    with pytest.raises(BetRejected) as refused:
        check_watched("f1", book, clock(), RULES)
    assert refused.value.reason is Rejection.BETTING_SUSPENDED


def test_an_older_heartbeat_read_late_does_not_move_the_word_back() -> None:
    clock, book = FakeClock(), PriceBook()
    book.vouch(["f1"], clock())
    book.vouch(["f1"], clock() - timedelta(seconds=30))
    assert book.vouched_at("f1") == clock()


def test_a_heartbeat_stamped_ahead_of_our_clock_vouches_only_from_when_it_was_heard() -> None:
    """Live's clock a minute ahead: its word counts from when this process read it, so the
    silence still ends in-play bets 5 s after live's last heartbeat, not a minute later."""
    clock, book = FakeClock(), PriceBook()
    book.vouch(["f1"], clock() + timedelta(seconds=60), heard_at=clock())
    assert book.vouched_at("f1") == clock()
    clock.advance(5.1)
    with pytest.raises(BetRejected):
        check_watched("f1", book, clock(), RULES)


async def test_the_feed_handlers_credit_a_heartbeat_no_later_than_they_read_it() -> None:
    clock, book = FakeClock(), PriceBook()
    handlers = FeedHandlers(book, FakeFeedState(), 172_800.0, clock=clock)
    await handlers.live_watching(
        commands.LiveWatching(("f1",), said_at=clock() + timedelta(seconds=60))
    )
    assert book.vouched_at("f1") == clock()


def in_play(world: World, vouched_ago: float | None) -> None:
    world.book.apply_quote_set(quotes("f1", world.clock, live=True))
    world.store.game_states["f1"] = GameSnapshot(3, 0, 0)
    if vouched_ago is not None:
        world.book.vouch(["f1"], world.clock() - timedelta(seconds=vouched_ago))


@pytest.mark.parametrize(
    ("vouched_ago", "status"),
    [(4.9, BetStatus.PENDING), (5.1, BetStatus.REJECTED), (None, BetStatus.REJECTED)],
)
async def test_placing_an_in_play_bet_needs_lives_recent_word(
    vouched_ago: float | None, status: BetStatus
) -> None:
    world = World(live_silence_seconds=5.0)
    in_play(world, vouched_ago)
    bet = await world.service.place_bet(place("f1", live=True, wait=False), PLAYER)
    assert bet.status is status, bet.rejection_message
    if status is BetStatus.REJECTED:
        assert bet.rejection is Rejection.BETTING_SUSPENDED
        assert "live producer is silent" in bet.rejection_message


async def test_a_pre_match_bet_needs_no_word_from_live() -> None:
    world = World(live_silence_seconds=5.0)
    world.book.apply_quote_set(quotes("f1", world.clock, live=False))
    bet = await world.service.place_bet(place("f1", live=False, wait=False), PLAYER)
    assert bet.status is BetStatus.ACCEPTED, bet.rejection_message


async def test_a_pending_bet_decided_after_live_went_silent_is_refused() -> None:
    world = World(live_silence_seconds=5.0)
    in_play(world, vouched_ago=0.0)
    bet = await world.service.place_bet(place("f1", live=True, wait=False), PLAYER)
    assert bet.status is BetStatus.PENDING
    # Live's last word was at placement; the football delay (6 s) outlasts the silence (5 s).
    world.clock.advance(6)
    assert await world.service.decide_due_bets(commands.DecideDueBets()) == 1
    decided = world.store.bets[bet.bet_id]
    assert (decided.status, decided.rejection) == (BetStatus.REJECTED, Rejection.BETTING_SUSPENDED)
    assert "live producer is silent" in decided.rejection_message
    assert world.store.posted == [stake_release(decided)]


async def decided_while_vouched(world: World, vouched_ago: float) -> str:
    """A live bet placed while live vouches, decided after its delay with live's last word
    `vouched_ago` seconds old; its id."""
    in_play(world, vouched_ago=0.0)
    bet = await world.service.place_bet(place("f1", live=True, wait=False), PLAYER)
    world.clock.advance(6)
    world.book.vouch(["f1"], world.clock() - timedelta(seconds=vouched_ago))
    assert await world.service.decide_due_bets(commands.DecideDueBets()) == 1
    return bet.bet_id


async def test_a_pending_bet_live_kept_vouching_for_is_accepted() -> None:
    world = World(live_silence_seconds=5.0)
    bet_id = await decided_while_vouched(world, vouched_ago=4.9)
    assert world.store.bets[bet_id].status is BetStatus.ACCEPTED


def test_the_silence_must_outlast_a_heartbeat_period() -> None:
    assert LiveWatch.read(Env({})) == LiveWatch(1.0, 5.0)
    env = Env({"BETMESH_LIVE_HEARTBEAT_SECONDS": "2", "BETMESH_BETS_LIVE_SILENCE_SECONDS": "2"})
    LiveWatch.read(env)
    with pytest.raises(SettingsError, match="LIVE_SILENCE_SECONDS must be over"):
        env.check()


async def test_no_cash_out_offer_on_an_in_play_price_live_went_silent_on() -> None:
    # The same stale price would pay a cash-out: priced only while live vouches for it.
    world = World(live_silence_seconds=5.0)
    bet_id = await decided_while_vouched(world, vouched_ago=4.9)
    assert world.store.bets[bet_id].status is BetStatus.ACCEPTED
    offer = commands.GetCashOutOffer(bet_id, None, "EUR")
    assert (await world.service.cash_out_offer(offer, PLAYER)).amount_minor > 0
    world.clock.advance(0.2)
    with pytest.raises(DomainError) as refused:
        await world.service.cash_out_offer(offer, PLAYER)
    assert refused.value.reason == "MARKET_SUSPENDED"
    assert "live producer is silent" in refused.value.message


@pytest.mark.parametrize(("vouched_ago", "counted"), [(4.9, 0), (5.1, 1), (None, 1)])
async def test_a_refusal_for_lives_silence_is_counted_apart(
    vouched_ago: float | None, counted: int
) -> None:
    """betmesh_bets_live_silence_refusals, what BetmeshLiveProducerSilent pages on: only
    refusals for live's silence, not an in-play bet taken nor another suspension."""
    reader = InMemoryMetricReader()
    metrics = BetsMetrics(
        MeterProvider(metric_readers=[reader]).get_meter("t"), lambda start, end: YEAR, "EUR"
    )
    world = World(live_silence_seconds=5.0)
    world.service.placed = metrics
    in_play(world, vouched_ago)
    bet = await world.service.place_bet(place("f1", live=True, wait=False), PLAYER)
    # A market suspended for a goal is refused with the same reason, and not counted here.
    metrics.placed(
        replace(bet, rejection=Rejection.BETTING_SUSPENDED, rejection_message="f1: goal")
    )
    assert silence_refusals(reader) == counted


YEAR = ReturnToPlayer(stakes_minor=0, payouts_minor=0, settled_bet_count=0)


def silence_refusals(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    assert data is not None
    (found,) = [
        point.value
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "betmesh.bets.live_silence_refusals"
        for point in metric.data.data_points
        if isinstance(point, NumberDataPoint)
    ]
    return int(found)
