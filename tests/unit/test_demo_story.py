"""The demo's headline bet survives a price that moves between the read and the slip.

The gateway reprices every fixture when the year's return-to-player steer moves the margin
scale; a demo that read the home win at 1.30 and slipped it at 1.30 "higher price only" after
the steer moved it to 1.21 was refused LINE_CHANGED and failed its headline (CI, session 7). The
player now sees the new price and bets at it, as a frontend offers the new odds."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from betmesh.bets.v1 import bet_service_pb2

from launcher.demo.betting import Leg, story_bets
from launcher.demo.client import PlayerCredential
from launcher.demo.players import Player
from launcher.demo.state import PlacedBet

HOME = Leg("fx", "football", "A v B", "MATCH_RESULT", "Match result", "home", "A", 13_000)


class PriceMovedBookie:
    """Prices the home win at `now_e4`; refuses a higher-only slip seen above it, as bets does."""

    def __init__(self, now_e4: int) -> None:
        self.now_e4 = now_e4
        self.slips: list[tuple[int, int]] = []

    def place(
        self,
        player: Player,
        legs: Sequence[Leg],
        stake_minor: int,
        acceptance: int = bet_service_pb2.ODDS_ACCEPTANCE_ANY,
        *,
        live: bool = False,
        note: str = "",
    ) -> PlacedBet:
        seen = legs[0].odds_e4
        self.slips.append((seen, acceptance))
        refused = acceptance != bet_service_pb2.ODDS_ACCEPTANCE_ANY and seen > self.now_e4
        return PlacedBet(
            bet_id=f"bet{len(self.slips)}",
            player_id=player.player_id,
            group="football",
            stake_minor=stake_minor,
            legs=len(legs),
            live=live,
            fixture_ids=tuple(leg.fixture_id for leg in legs),
            status="REJECTED" if refused else "ACCEPTED",
            reason="LINE_CHANGED" if refused else "",
            note=note,
        )


def _players() -> list[Player]:
    lock = threading.Lock()
    return [
        Player(
            i, PlayerCredential(f"p{i}", "", 0.0), f"Player {i:02d}", 10_000, 5_000, 10_000, lock
        )
        for i in range(8)
    ]


def test_the_headline_is_placed_again_at_the_price_the_player_now_sees() -> None:
    bookie = PriceMovedBookie(now_e4=12_100)
    said: list[str] = []
    headline = story_bets(
        bookie,  # type: ignore[arg-type]
        _players(),
        [[HOME]],
        said.append,
        HOME,
        lambda: replace(HOME, odds_e4=bookie.now_e4),
    )
    assert headline is not None and headline.status == "ACCEPTED"
    assert bookie.slips[:2] == [
        (13_000, bet_service_pb2.ODDS_ACCEPTANCE_HIGHER),
        (12_100, bet_service_pb2.ODDS_ACCEPTANCE_HIGHER),
    ]
    assert "REFUSED LINE_CHANGED" in said[0] and "1.21" in said[1]


def test_a_headline_taken_at_once_reads_no_price_again() -> None:
    bookie = PriceMovedBookie(now_e4=13_000)
    asked: list[int] = []

    def home_now() -> Leg | None:
        asked.append(1)
        return HOME

    headline = story_bets(bookie, _players(), [[HOME]], lambda _: None, HOME, home_now)  # type: ignore[arg-type]
    assert headline is not None and headline.status == "ACCEPTED"
    assert asked == [] and bookie.slips[0] == (13_000, bet_service_pb2.ODDS_ACCEPTANCE_HIGHER)
