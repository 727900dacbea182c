"""The bets service layer's results, operators' requests, reports and outbox relay on in-memory
ports: an announced result settles as announced or only once the chain confirms it
(chain_recheck.py), bet by bet, once per version; voids and rollbacks run once per key; the
exposure report's fixture figure is the domain's measure; the relay publishes in order, at
least once. The rules themselves are tested where they live (tests/unit/test_bets_settlement.py,
test_bets_chain_results.py) and end to end on PostgreSQL (tests/integration/test_bets_settlement.py,
test_results_from_chain.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service_runtime.errors import DomainError
from services.bets.domain.bet_rules import BetRules
from services.bets.domain.chain_results import ClaimedResult, OnChain
from services.bets.domain.exposure import FixtureExposure, MarketExposureRow
from services.bets.domain.ledger import TransactionKind
from services.bets.domain.model import BetStatus, GameSnapshot, Outcome
from services.bets.domain.prices import PriceBook
from services.bets.domain.wallet import Caller
from services.bets.service_layer import commands
from services.bets.service_layer.handlers import BetsService
from services.bets.service_layer.wallet import WalletService
from tests.unit.bets_fakes import (
    FakeBetStore,
    FakeBus,
    FakeChainReader,
    FakeChainResults,
    FakeClock,
    FakeLedger,
    FakeOutbox,
    FakePayments,
)
from tests.unit.test_bets_service_layer import PLAYER, place, quotes

OPERATOR = Caller("ops", "operator")


class World:
    def __init__(self, *, chain: bool = False, wait_bound_seconds: float = 600.0) -> None:
        self.clock = FakeClock()
        self.store = FakeBetStore()
        self.book = PriceBook()
        self.results = FakeChainResults(now=self.clock())
        self.reader = FakeChainReader()
        self.outbox = FakeOutbox()
        self.bus = FakeBus()
        self.service = BetsService(
            WalletService(FakeLedger(), FakePayments(), "EUR", 1_000_000),
            self.store,
            self.store,
            self.book,
            BetRules(),
            "EUR",
            chain_results=self.results,
            settle_from_chain=chain,
            chain_reader=self.reader,
            chain_wait_seconds=wait_bound_seconds,
            outbox=self.outbox,
            bus=self.bus,
            clock=self.clock,
        )

    async def accepted_bet(self, fixture_id: str = "f1", key: str = "k1") -> str:
        self.book.apply_quote_set(quotes(fixture_id, self.clock, live=False))
        bet = await self.service.place_bet(
            place(fixture_id, live=False, wait=False, key=key), PLAYER
        )
        assert bet.status is BetStatus.ACCEPTED
        return bet.bet_id


def announced(home: int, away: int, version: int = 1, fixture_id: str = "f1") -> ClaimedResult:
    return ClaimedResult(
        fixture_id=fixture_id,
        version=version,
        status="COMPLETED",
        home=home,
        away=away,
        sources_hash="sha256:ab",
        set_games=(),
        transaction_hash="0x01",
    )


def on_chain(home: int, away: int, version: int = 1) -> OnChain:
    return OnChain("COMPLETED", home, away, version, "sha256:ab", 100)


async def test_an_announced_result_settles_each_bet_once_per_version() -> None:
    world = World()
    bet_id = await world.accepted_bet()
    await world.service.result_finalised(announced(2, 1))
    bet = world.store.bets[bet_id]
    assert bet.status is BetStatus.WON and bet.payout_minor == 200
    assert [t.kind for t in world.store.posted] == [TransactionKind.PAYOUT]
    assert [n.event_id for n in world.store.settled] == [f"bets:settled:{bet_id}:1"]
    # The same version again (a redelivered event): nothing moves.
    await world.service.result_finalised(announced(2, 1))
    assert len(world.store.posted) == 1 and len(world.store.settled) == 1


async def test_a_corrected_result_rolls_the_settlement_back_and_settles_again() -> None:
    world = World()
    bet_id = await world.accepted_bet()
    await world.service.result_finalised(announced(2, 1))
    await world.service.result_finalised(announced(0, 1, version=2))
    bet = world.store.bets[bet_id]
    assert bet.status is BetStatus.LOST and bet.payout_minor == 0
    assert [t.kind for t in world.store.posted] == [
        TransactionKind.PAYOUT,
        TransactionKind.SETTLEMENT_ROLLBACK,
        TransactionKind.PAYOUT,
    ]
    assert [n.status for n in world.store.settled] == [BetStatus.WON, BetStatus.LOST]


async def test_from_the_chain_a_result_settles_only_once_the_contract_holds_it() -> None:
    world = World(chain=True)
    bet_id = await world.accepted_bet()
    await world.service.result_finalised(announced(2, 1))
    # Not on chain yet: recorded, waiting, nothing settled.
    assert world.results.states[("f1", 1)] == ("WAITING", "NOT_ON_CHAIN_YET")
    assert world.store.bets[bet_id].status is BetStatus.ACCEPTED
    assert await world.service.recheck_chain() == 0
    world.reader.stored["f1"] = on_chain(2, 1)
    assert await world.service.recheck_chain() == 1
    assert world.results.states[("f1", 1)][0] == "SETTLED"
    assert world.store.bets[bet_id].status is BetStatus.WON
    # Decided: the next pass has nothing to do.
    assert await world.service.recheck_chain() == 0


async def test_from_the_chain_a_contradicted_result_is_held_and_settles_nothing() -> None:
    world = World(chain=True)
    bet_id = await world.accepted_bet()
    world.reader.stored["f1"] = on_chain(0, 1)
    await world.service.result_finalised(announced(2, 1))
    assert world.results.states[("f1", 1)] == ("HELD", "CHAIN_RESULT_DIFFERS:home_score")
    assert world.store.bets[bet_id].status is BetStatus.ACCEPTED and world.store.posted == []
    holds, token = await world.service.list_result_holds(OPERATOR, 10, "")
    assert [(h.claimed.fixture_id, h.signers) for h in holds] == [("f1", ("0xsigner",))]
    assert token == ""
    with pytest.raises(DomainError) as caught:
        await world.service.list_result_holds(PLAYER, 10, "")
    assert caught.value.reason == "OPERATOR_REQUIRED"


async def test_from_the_chain_a_result_still_missing_after_the_bound_is_held() -> None:
    world = World(chain=True, wait_bound_seconds=60.0)
    await world.accepted_bet()
    await world.service.result_finalised(announced(2, 1))
    world.clock.advance(59)
    await world.service.recheck_chain()
    assert world.results.states[("f1", 1)][0] == "WAITING"
    world.clock.advance(1)
    assert await world.service.recheck_chain() == 1
    assert world.results.states[("f1", 1)] == ("HELD", "NOT_ON_CHAIN")


async def test_a_void_runs_once_per_key_and_is_announced_once() -> None:
    world = World()
    bet_id = await world.accepted_bet()
    void = commands.VoidBets("v1", "f1", ("1x2",), None, None, "a wrong price")
    assert await world.service.void_bets(void, OPERATOR) == 1
    bet = world.store.bets[bet_id]
    assert bet.status is BetStatus.VOID and bet.legs[0].outcome is Outcome.VOID
    assert bet.payout_minor == bet.stake_minor
    # The retry replays the count and queues nothing again.
    assert await world.service.void_bets(void, OPERATOR) == 1
    assert [n.event_id for n in world.store.voided] == ["bets:voided:v1"]
    assert [t.kind for t in world.store.posted] == [TransactionKind.VOID_REFUND]
    with pytest.raises(DomainError) as caught:
        await world.service.void_bets(void, PLAYER)
    assert caught.value.reason == "OPERATOR_REQUIRED"


async def test_a_rollback_reopens_a_settled_bet_until_the_next_result() -> None:
    world = World()
    bet_id = await world.accepted_bet()
    await world.service.result_finalised(announced(2, 1))
    rollback = commands.RollbackSettlement("r1", "f1", "1x2")
    assert await world.service.rollback_settlement(rollback, OPERATOR) == 1
    bet = world.store.bets[bet_id]
    assert bet.status is BetStatus.ACCEPTED and bet.legs[0].outcome is None
    # The same result settles it again (its version was reset with the leg).
    await world.service.result_finalised(announced(2, 1))
    assert world.store.bets[bet_id].status is BetStatus.WON


async def test_a_live_bet_decided_after_its_result_settles_at_once() -> None:
    world = World()
    world.book.apply_quote_set(quotes("f1", world.clock, live=True))
    world.book.vouch(["f1"], world.clock())
    world.store.game_states["f1"] = GameSnapshot(3, 0, 0)
    bet = await world.service.place_bet(place("f1", live=True, wait=False), PLAYER)
    await world.service.result_finalised(announced(1, 0))
    # Pending: the result leaves the bet's state to its decision, which settles it.
    assert world.store.bets[bet.bet_id].legs[0].outcome is Outcome.WIN
    world.clock.advance(6)
    world.book.vouch(["f1"], world.clock())  # live still watches
    decided = await world.service.decide_bet(commands.DecideBet(bet.bet_id))
    assert decided is not None and decided.status is BetStatus.WON


async def test_the_exposure_report_is_the_stores_figures_for_an_operator() -> None:
    # The measure is SQL's (worst_case.sql, tested against place_bet in
    # test_bets_place_bet_rules.py); the use case checks who asks and what, and adds nothing.
    world = World()
    assert await world.service.exposure("f1", OPERATOR) == FixtureExposure("f1", (), 0)
    stored = FixtureExposure(
        "f1",
        (MarketExposureRow("1x2", 900, 300), MarketExposureRow("btts", -10, 10)),
        900,
    )
    world.store.exposures["f1"] = stored
    assert await world.service.exposure("f1", OPERATOR) == stored
    with pytest.raises(DomainError) as caught:
        await world.service.exposure("", OPERATOR)
    assert caught.value.reason == "FIXTURE_ID_REQUIRED"
    with pytest.raises(DomainError) as caught:
        await world.service.exposure("f1", PLAYER)
    assert caught.value.reason == "OPERATOR_REQUIRED"


async def test_expired_offers_are_purged_after_their_retention() -> None:
    world = World()
    bet_id = await world.accepted_bet()
    offer = await world.service.cash_out_offer(
        commands.GetCashOutOffer(bet_id, None, "EUR"), PLAYER
    )
    assert offer.expires_at == world.clock() + timedelta(seconds=5)
    world.clock.advance(5 + 60 + 1)
    await world.service.purge_offers()
    assert world.store.offers == {}


async def test_the_relay_publishes_queued_events_in_order_then_forgets_them() -> None:
    world = World()
    world.outbox.queued = ["e1", "e2", "e3"]
    assert await world.service.relay_outbox() is True
    assert world.bus.published == ["e1", "e2", "e3"] and world.outbox.queued == []
    # Nothing queued: nothing to do, and no pass at once.
    assert await world.service.relay_outbox() is False


async def test_a_relay_that_fails_leaves_the_events_for_the_next_pass() -> None:
    world = World()
    world.outbox.queued = ["e1", "e2"]
    world.bus.failing = {"e2"}
    with pytest.raises(ConnectionError):
        await world.service.relay_outbox()
    # The claim is given up: the next pass publishes both again (consumers de-duplicate).
    assert world.outbox.queued == ["e1", "e2"] and not world.outbox.claimed
    world.bus.failing = set()
    assert await world.service.relay_outbox() is True
    assert world.bus.published == ["e1", "e1", "e2"]


async def test_a_relay_finding_the_outbox_claimed_elsewhere_publishes_nothing() -> None:
    world = World()
    world.outbox.queued = ["e1"]
    world.outbox.held_elsewhere = True
    assert await world.service.relay_outbox() is False
    assert world.bus.published == []
