"""The live-bet delay partners are told is the one bets applies: for the same configuration, the
delay the bets service layer holds an in-play bet for (its wait, on its own clock) equals the
bet_delay_ms the live stream writes in the fixture's live FixtureOdds, sport by sport, at real
time and at a replay's feed speed (where delays are fractions of a second)."""

from __future__ import annotations

import math

import pytest
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2

from launcher.mesh import Mesh, MeshConfig
from service_runtime.live_bet_delay import LiveBetDelays
from service_runtime.settings import SettingsError
from services.bets.domain.model import (
    FixtureQuotes,
    GameSnapshot,
    LegRequest,
    MarketQuote,
    OddsAcceptance,
    PlaceBetCommand,
    SelectionQuote,
)
from services.bets.domain.prices import PriceBook
from services.bets.domain.wallet import Caller
from services.bets.service_layer.handlers import BetsService
from services.bets.service_layer.wallet import WalletService
from services.bets.settings import BetsSettings
from services.live.domain.stream.translate import LIVE, FixtureRecord, translate
from services.live.settings import LiveSettings
from tests.unit.bets_fakes import FakeBetStore, FakeClock, FakeLedger, FakePayments, FakePrices

# What each process needs besides the delays (never contacted here).
BETS_ENV = {"BETMESH_DATABASE_URL": "postgresql://x/y"}
LIVE_ENV = {"BETMESH_REDIS_URL": "redis://127.0.0.1:1/0"}
PLAYER = Caller("p1", "player")
SPORTS = ("FOOTBALL", "TENNIS", "BASKETBALL")

CONFIGURATIONS = {
    "defaults": {},
    "demo replay at 150x": {"BETMESH_BETS_FEED_SPEED": "150"},
    "operator's delays at 7x": {
        "BETMESH_BETS_LIVE_DELAY_SECONDS": "football=8,tennis=2.5,basketball=5",
        "BETMESH_BETS_FEED_SPEED": "7",
    },
    "one sport named": {"BETMESH_BETS_LIVE_DELAY_SECONDS": "football=1.5"},
}


async def held_for(env: dict[str, str], sport: str) -> float:
    """How long the bets service layer waits before deciding a waiting in-play bet on `sport`."""
    rules = BetsSettings.from_env({**BETS_ENV, **env}).rules
    clock = FakeClock()
    store = FakeBetStore()
    book = PriceBook()
    service = BetsService(
        WalletService(FakeLedger(), FakePayments(), "EUR", 1_000_000),
        store,
        store,
        book,
        rules,
        "EUR",
        FakePrices(book),
        None,
        clock=clock,
        sleep=clock.sleep,
    )
    book.apply_quote_set(
        FixtureQuotes(
            fixture_id="f1",
            sport=sport,
            live=True,
            event_sequence=1,
            digest="sha256:f1",
            accepted_at=clock(),
            markets={
                "m": MarketQuote(
                    market_id="m",
                    market_type="MATCH_RESULT",
                    name="Match result",
                    line_e2=0,
                    side="",
                    status="ACTIVE",
                    selections={"home": SelectionQuote("home", "Home", 20_000, True)},
                )
            },
        )
    )
    book.vouch(["f1"], clock())  # live watches it (no in-play bet is taken otherwise)
    store.game_states["f1"] = GameSnapshot(3, 0, 0)
    command = PlaceBetCommand(
        idempotency_key="k1",
        player_id=PLAYER.subject,
        legs=(LegRequest("f1", "m", "home", 20_000),),
        stake_minor=100,
        currency="EUR",
        acceptance=OddsAcceptance.NONE,
        live=True,
        wait_for_decision=True,
    )
    await service.place_bet(command, PLAYER)
    (slept,) = clock.slept
    return slept


def announced(env: dict[str, str], sport: str) -> tuple[int, int]:
    """(bet_delay_ms, bet_delay_seconds) of the live FixtureOdds the stream writes for a fixture
    of `sport` once its first in-play prices are accepted."""
    delays = LiveSettings.from_env({**LIVE_ENV, **env}).bet_delays
    quote_set = market_pb2.QuoteSet(
        fixture_id="f1", sport=sport_pb2.Sport.Value(f"SPORT_{sport}"), phase=LIVE
    )
    envelope = events_pb2.EventEnvelope(
        quote_set_accepted=events_pb2.QuoteSetAccepted(quote_set=quote_set)
    )
    changes = translate(FixtureRecord("f1"), envelope, None, delays)
    (state,) = [c.state for c in changes if c.phase == LIVE]
    return state.bet_delay_ms, state.bet_delay_seconds


@pytest.mark.parametrize("sport", SPORTS)
@pytest.mark.parametrize("env", CONFIGURATIONS.values(), ids=CONFIGURATIONS.keys())
async def test_the_stream_announces_the_delay_bets_applies(env: dict[str, str], sport: str) -> None:
    slept = await held_for(env, sport)
    ms, seconds = announced(env, sport)
    assert slept == ms / 1000
    # The older whole-seconds field: never less than the delay, exact for whole seconds.
    assert seconds == math.ceil(slept)


async def test_the_figures_are_the_configured_ones() -> None:
    """Both sides agreeing is not enough: they agree on what the operator set."""
    assert [await held_for({}, s) for s in SPORTS] == [6.0, 3.0, 4.0]
    assert announced({"BETMESH_BETS_FEED_SPEED": "150"}, "TENNIS") == (20, 1)
    odd = {"BETMESH_BETS_LIVE_DELAY_SECONDS": "basketball=4", "BETMESH_BETS_FEED_SPEED": "150"}
    # 4 s / 150 = 26.67 ms, rounded once to the millisecond for both.
    assert announced(odd, "BASKETBALL") == (27, 1)
    assert await held_for(odd, "BASKETBALL") == 0.027
    # A sport not named: the longest named.
    assert announced({"BETMESH_BETS_LIVE_DELAY_SECONDS": "tennis=2"}, "FOOTBALL") == (2000, 2)


def test_both_processes_refuse_the_same_bad_delays() -> None:
    for bad in (
        {"BETMESH_BETS_LIVE_DELAY_SECONDS": "football=61"},
        {"BETMESH_BETS_LIVE_DELAY_SECONDS": "cricket=3"},
        {"BETMESH_BETS_FEED_SPEED": "0"},
    ):
        with pytest.raises(SettingsError, match="BETMESH_BETS_"):
            BetsSettings.from_env({**BETS_ENV, **bad})
        with pytest.raises(SettingsError, match="BETMESH_BETS_"):
            LiveSettings.from_env({**LIVE_ENV, **bad})


def test_a_fixture_of_no_known_sport_announces_no_delay() -> None:
    envelope = events_pb2.EventEnvelope(
        quote_set_accepted=events_pb2.QuoteSetAccepted(
            quote_set=market_pb2.QuoteSet(fixture_id="f1", phase=LIVE)
        )
    )
    (change,) = translate(FixtureRecord("f1"), envelope, None, LiveBetDelays.standard())
    assert (change.state.bet_delay_ms, change.state.bet_delay_seconds) == (0, 0)


async def test_the_launcher_gives_bets_and_live_the_same_delays() -> None:
    # Every child gets this environment (addresses still empty before the mesh starts).
    env = {k: v for k, v in Mesh(MeshConfig(feed_speed=150.0)).child_env().items() if v}
    for sport in SPORTS:
        ms, _ = announced(env, sport)
        assert await held_for(env, sport) == ms / 1000 <= 0.04
