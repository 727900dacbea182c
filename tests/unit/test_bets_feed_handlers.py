"""What bets hears, as service-layer use cases (service_layer/feeds.py) on in-memory ports: a
bet stop is kept and reaches the book (and a restarted process starts from the kept ones),
game states and players' standing are kept as said, and only the caps an announcement names
are recorded. The event translation and the real stores: tests/integration/test_bets_*.py."""

from __future__ import annotations

from services.bets.domain.model import GameSnapshot
from services.bets.domain.prices import PriceBook
from services.bets.service_layer import commands
from services.bets.service_layer.feeds import FeedHandlers
from tests.unit.bets_fakes import FakeClock, FakeFeedState
from tests.unit.test_bets_service_layer import quotes

CLOCK = FakeClock()


def market_status(book: PriceBook, fixture_id: str, market_id: str = "1x2") -> str:
    found = book.fixture(fixture_id)
    assert found is not None
    return found.markets[market_id].status


async def test_a_bet_stop_is_kept_and_reaches_the_book_and_a_restarted_book() -> None:
    book, state = PriceBook(), FakeFeedState()
    handlers = FeedHandlers(book, state, 172_800.0)
    await handlers.prices_accepted(commands.PricesAccepted(quotes("f1", CLOCK, live=True)))
    assert market_status(book, "f1") == "ACTIVE"
    stop = commands.MarketStatusChanged("f1", (), "SUSPENDED", 5, CLOCK())
    await handlers.market_status_changed(stop)
    assert market_status(book, "f1") == "SUSPENDED"
    assert state.kept == [("status", "f1", (), "SUSPENDED", 5)]
    # A new process: an empty book, the prices again, then what was kept.
    restarted = PriceBook()
    restarted.apply_quote_set(quotes("f1", CLOCK, live=True))
    await FeedHandlers(restarted, state, 172_800.0).load()
    assert market_status(restarted, "f1") == "SUSPENDED"


async def test_games_and_standing_are_kept_as_said() -> None:
    state = FakeFeedState()
    handlers = FeedHandlers(PriceBook(), state, 172_800.0)
    await handlers.game_state_changed(commands.GameStateChanged("f1", GameSnapshot(7, 1, 0)))
    await handlers.kyc_changed(commands.KycChanged("p1", "VERIFIED", True, False, CLOCK()))
    assert state.kept == [
        ("game", "f1", GameSnapshot(7, 1, 0)),
        ("kyc", "p1", "VERIFIED", True, False),
    ]


async def test_only_the_caps_an_announcement_names_are_recorded() -> None:
    state = FakeFeedState()
    handlers = FeedHandlers(PriceBook(), state, 172_800.0)
    await handlers.caps_changed(commands.CapsChanged("p1", 5_000, None, CLOCK(), CLOCK()))
    await handlers.caps_changed(commands.CapsChanged("p1", None, 2_000, CLOCK(), CLOCK()))
    await handlers.caps_changed(commands.CapsChanged("p1", 0, 0, CLOCK(), CLOCK()))
    assert state.kept == [
        ("stake_cap", "p1", 5_000, 172_800.0),
        ("deposit_cap", "p1", 2_000, 172_800.0),
        ("stake_cap", "p1", 0, 172_800.0),
        ("deposit_cap", "p1", 0, 172_800.0),
    ]
