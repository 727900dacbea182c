"""The bets service layer on in-memory ports: the live delay is waited out in the service layer
(on its clock, not in the servicer), due live bets are decided by its task, and prices are
fetched before a rule reads them. Placement rules are not tested here (their one home is the
place_bet SQL function, tested on PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from service_runtime.errors import DomainError
from services.bets.domain.bet_rules import BetRules
from services.bets.domain.model import (
    Bet,
    BetStatus,
    FixtureQuotes,
    GameSnapshot,
    LegRequest,
    MarketQuote,
    OddsAcceptance,
    PlaceBetCommand,
    Rejection,
    SelectionQuote,
)
from services.bets.domain.postings import stake_release
from services.bets.domain.prices import PriceBook
from services.bets.domain.wallet import Caller
from services.bets.service_layer import commands
from services.bets.service_layer.handlers import BetsService
from services.bets.service_layer.wallet import WalletService
from tests.unit.bets_fakes import (
    FakeBetStore,
    FakeClock,
    FakeLedger,
    FakePayments,
    FakePrices,
)

PLAYER = Caller("p1", "player")


class Observed:
    def __init__(self) -> None:
        self.bets: list[tuple[str, BetStatus]] = []

    def placed(self, bet: Bet) -> None:
        self.bets.append((bet.bet_id, bet.status))


def quotes(
    fixture_id: str, clock: FakeClock, *, live: bool, odds_e4: int = 20_000
) -> FixtureQuotes:
    return FixtureQuotes(
        fixture_id=fixture_id,
        sport="FOOTBALL",
        live=live,
        event_sequence=1,
        digest=f"sha256:{fixture_id}",
        accepted_at=clock(),
        markets={
            "1x2": MarketQuote(
                market_id="1x2",
                market_type="MATCH_RESULT",
                name="Match result",
                line_e2=0,
                side="",
                status="ACTIVE",
                selections={"home": SelectionQuote("home", "Home", odds_e4, True)},
            )
        },
    )


class World:
    def __init__(self, live_silence_seconds: float = 60.0) -> None:
        self.clock = FakeClock()
        self.store = FakeBetStore()
        self.book = PriceBook()
        self.prices = FakePrices(self.book)
        self.observed = Observed()
        # The silence after which in-play bets are refused has its own tests
        # (test_bets_live_silence.py): here live vouches once, before placing.
        rules = BetRules(
            live_delay_seconds={"FOOTBALL": 6.0}, live_silence_seconds=live_silence_seconds
        )
        wallets = WalletService(FakeLedger(), FakePayments(), "EUR", 1_000_000)
        self.service = BetsService(
            wallets,
            self.store,
            self.store,
            self.book,
            rules,
            "EUR",
            self.prices,
            self.observed,
            clock=self.clock,
            sleep=self.clock.sleep,
        )


def in_play(world: World, fixture_id: str) -> FixtureQuotes:
    """An in-play price in the book, and live's word that it watches the fixture."""
    live = quotes(fixture_id, world.clock, live=True)
    world.book.apply_quote_set(live)
    world.book.vouch([fixture_id], world.clock())
    return live


def place(fixture_id: str, *, live: bool, wait: bool, key: str = "k1") -> PlaceBetCommand:
    return PlaceBetCommand(
        idempotency_key=key,
        player_id=PLAYER.subject,
        legs=(LegRequest(fixture_id, "1x2", "home", 20_000),),
        stake_minor=100,
        currency="EUR",
        acceptance=OddsAcceptance.NONE,
        live=live,
        wait_for_decision=wait,
    )


async def test_prices_are_fetched_before_placing_and_the_answer_is_observed() -> None:
    world = World()
    # Not in the book yet: only the on-demand read can price it.
    world.prices.known["f1"] = quotes("f1", world.clock, live=False)
    bet = await world.service.place_bet(place("f1", live=False, wait=False), PLAYER)
    assert bet.status is BetStatus.ACCEPTED
    assert bet.legs[0].accepted_odds_e4 == 20_000
    assert ("prices", ("f1",)) in world.prices.asked
    assert ("names", ("f1",)) in world.prices.asked
    assert world.observed.bets == [(bet.bet_id, BetStatus.ACCEPTED)]
    assert world.clock.slept == []


async def test_a_waiting_live_bet_is_held_for_its_delay_then_decided() -> None:
    world = World()
    in_play(world, "f1")
    world.store.game_states["f1"] = GameSnapshot(3, 0, 0)
    bet = await world.service.place_bet(place("f1", live=True, wait=True), PLAYER)
    # The football delay, waited out by the service layer on its own clock.
    assert world.clock.slept == [6.0]
    assert bet.status is BetStatus.ACCEPTED
    assert bet.decided_at == world.clock()
    assert world.store.bets[bet.bet_id].status is BetStatus.ACCEPTED
    assert world.observed.bets == [(bet.bet_id, BetStatus.ACCEPTED)]


async def test_a_goal_during_the_delay_rejects_the_bet_and_releases_its_stake() -> None:
    world = World()
    in_play(world, "f1")
    world.store.game_states["f1"] = GameSnapshot(3, 0, 0)
    original_sleep = world.clock.sleep

    async def goal_while_waiting(seconds: float) -> None:
        await original_sleep(seconds)
        world.store.game_states["f1"] = GameSnapshot(4, 1, 0)

    world.service._sleep = goal_while_waiting
    bet = await world.service.place_bet(place("f1", live=True, wait=True), PLAYER)
    assert bet.status is BetStatus.REJECTED
    assert bet.rejection is Rejection.SCORE_CHANGED
    assert world.store.posted == [stake_release(bet)]


async def test_a_live_bet_nobody_waits_for_is_decided_by_the_due_task_once_due() -> None:
    world = World()
    in_play(world, "f1")
    world.store.game_states["f1"] = GameSnapshot(3, 0, 0)
    bet = await world.service.place_bet(place("f1", live=True, wait=False), PLAYER)
    assert bet.status is BetStatus.PENDING
    assert bet.decide_after == world.clock() + timedelta(seconds=6)
    world.clock.advance(5.9)
    assert await world.service.decide_due_bets(commands.DecideDueBets()) == 0
    assert world.store.bets[bet.bet_id].status is BetStatus.PENDING
    world.clock.advance(0.1)
    assert await world.service.decide_due_bets(commands.DecideDueBets()) == 1
    assert world.store.bets[bet.bet_id].status is BetStatus.ACCEPTED
    # Decided: the next pass finds nothing.
    assert await world.service.decide_due_bets(commands.DecideDueBets()) == 0


async def test_deciding_fetches_the_price_a_restarted_process_no_longer_holds() -> None:
    world = World()
    live = in_play(world, "f1")
    world.store.game_states["f1"] = GameSnapshot(3, 0, 0)
    bet = await world.service.place_bet(place("f1", live=True, wait=False), PLAYER)
    # A new process: an empty book, the price only on demand.
    world.book = PriceBook()
    world.service.placing.prices = world.book
    world.prices.book = world.book
    world.prices.known["f1"] = replace(live, event_sequence=2)
    world.book.vouch(["f1"], world.clock())
    world.prices.asked.clear()
    world.clock.advance(6)
    decided = await world.service.decide_bet(commands.DecideBet(bet.bet_id))
    assert decided is not None and decided.status is BetStatus.ACCEPTED
    assert world.prices.asked == [("prices", ("f1",))]


async def test_a_failed_due_pass_leaves_the_bet_to_the_next_pass() -> None:
    # The runtime retries a failed pass (service_runtime.background, tests/unit/test_background.py).
    world = World()
    in_play(world, "f1")
    world.store.game_states["f1"] = GameSnapshot(3, 0, 0)
    bet = await world.service.place_bet(place("f1", live=True, wait=False), PLAYER)
    world.clock.advance(6)
    world.store.due_failures = 1
    with pytest.raises(ConnectionError):
        await world.service.decide_due_bets(commands.DecideDueBets())
    assert world.store.bets[bet.bet_id].status is not BetStatus.ACCEPTED
    assert await world.service.decide_due_bets(commands.DecideDueBets()) == 1
    assert world.store.due_failures == 0
    assert world.store.bets[bet.bet_id].status is BetStatus.ACCEPTED


async def test_result_holds_without_a_chain_store_are_unimplemented() -> None:
    world = World()
    with pytest.raises(DomainError) as caught:
        await world.service.list_result_holds(Caller("ops", "operator"), 10, "")
    assert caught.value.reason == "CHAIN_RESULTS_OFF"
