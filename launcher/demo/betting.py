"""Bets: the story's singles and accumulators, the crowd's, live bets and a cash-out."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc
from betmesh.bets.v1 import bet_service_pb2, bet_service_pb2_grpc
from betmesh.common.v1 import market_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc as gateway_grpc

from launcher.demo.client import RPC_TIMEOUT, Clients, status_code
from launcher.demo.players import Player
from launcher.demo.state import DayState, PlacedBet
from launcher.demo.text import eur, money, odds

MT = market_pb2.MarketType
# The markets the crowd bets on: the ones a results feed settles from the final score.
CROWD_MARKETS = {
    "football": (
        MT.MARKET_TYPE_MATCH_RESULT,
        MT.MARKET_TYPE_TOTAL_GOALS,
        MT.MARKET_TYPE_BOTH_TEAMS_TO_SCORE,
        MT.MARKET_TYPE_DOUBLE_CHANCE,
    ),
    "tennis": (MT.MARKET_TYPE_MATCH_WINNER, MT.MARKET_TYPE_SET_BETTING),
    "basketball": (MT.MARKET_TYPE_MONEYLINE, MT.MARKET_TYPE_TOTAL_POINTS),
}
ACCEPTANCE_NAMES: dict[int, str] = {
    bet_service_pb2.ODDS_ACCEPTANCE_NONE: "exact price",
    bet_service_pb2.ODDS_ACCEPTANCE_ANY: "any price",
    bet_service_pb2.ODDS_ACCEPTANCE_HIGHER: "higher price",
}
# Bets learns of a new player and their cap from identity's events: a first bet may beat them.
PLAYER_KNOWN_WAIT_SECONDS = 20.0
LIVE_DECISION_TIMEOUT = 60.0


@dataclass(frozen=True)
class Leg:
    fixture_id: str
    sport: str
    fixture_name: str
    market_id: str
    market_name: str
    selection_id: str
    selection_name: str
    odds_e4: int

    def describe(self) -> str:
        where = f"{self.fixture_name} / {self.market_name} / {self.selection_name}"
        return f"{where} @ {odds(self.odds_e4)}"


def legs_of(
    accepted: gateway_pb2.AcceptedQuoteSet,
    sport: str,
    fixture_name: str,
    max_odds_e4: int = 80_000,
    min_odds_e4: int = 11_000,
) -> list[Leg]:
    """Every selection a player could pick now: active market and selection, odds in range
    (by default the sane ones a crowd backs)."""
    wanted = CROWD_MARKETS.get(sport, ())
    found = []
    for market in accepted.quote_set.markets:
        if market.type not in wanted or market.status != market_pb2.MARKET_STATUS_ACTIVE:
            continue
        for selection in market.selections:
            if (
                selection.status == market_pb2.SELECTION_STATUS_ACTIVE
                and min_odds_e4 <= selection.odds_e4 <= max_odds_e4
            ):
                found.append(
                    Leg(
                        accepted.quote_set.fixture_id,
                        sport,
                        fixture_name,
                        market.market_id,
                        market.name or market.market_id.rsplit("/", 1)[-1],
                        selection.selection_id,
                        selection.name or selection.selection_id,
                        selection.odds_e4,
                    )
                )
    return found


def accepted_price(
    clients: Clients,
    fixture_id: str,
    phase: market_pb2.PricingPhase.ValueType = market_pb2.PRICING_PHASE_LIVE,
) -> gateway_pb2.AcceptedQuoteSet | None:
    """The fixture's accepted quote set of `phase` as the gateway holds it now (None: none)."""
    stub = gateway_grpc.ConsensusGatewayServiceStub(clients.channel("gateway"))
    try:
        response = stub.GetAcceptedQuoteSet(
            gateway_pb2.GetAcceptedQuoteSetRequest(fixture_id=fixture_id, phase=phase),
            timeout=RPC_TIMEOUT,
            metadata=clients.operator("betmesh.gateway"),
        )
    except grpc.RpcError as exc:
        if status_code(exc) == grpc.StatusCode.NOT_FOUND:
            return None
        raise
    accepted: gateway_pb2.AcceptedQuoteSet = response.accepted
    return accepted


def live_price(clients: Clients, fixture_id: str) -> gateway_pb2.AcceptedQuoteSet | None:
    return accepted_price(clients, fixture_id, market_pb2.PRICING_PHASE_LIVE)


class Bookie:
    """Places bets for players through BetService and records what it answered."""

    def __init__(self, clients: Clients, state: DayState) -> None:
        self.clients = clients
        self.state = state
        self.stub = bet_service_pb2_grpc.BetServiceStub(clients.channel("bets"))

    def _key(self, player: Player) -> str:
        return f"md-{self.state.run_id}-p{player.index}-b{next(self.state.bet_numbers)}"

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
        request = bet_service_pb2.PlaceBetRequest(
            player_id=player.player_id,
            legs=[
                bet_service_pb2.BetLeg(
                    fixture_id=leg.fixture_id,
                    market_id=leg.market_id,
                    selection_id=leg.selection_id,
                    odds_e4=leg.odds_e4,
                )
                for leg in legs
            ],
            stake=eur(stake_minor),
            odds_acceptance=acceptance,  # type: ignore[arg-type]
            live=live,
            wait_for_decision=live,
        )
        deadline = time.monotonic() + PLAYER_KNOWN_WAIT_SECONDS
        waiting_for = {
            bet_service_pb2.REJECTION_REASON_KYC_REQUIRED,
            bet_service_pb2.REJECTION_REASON_STAKE_CAP_NOT_SET,
        }
        while True:
            request.idempotency_key = self._key(player)
            bet = self.stub.PlaceBet(
                request,
                timeout=LIVE_DECISION_TIMEOUT if live else RPC_TIMEOUT,
                metadata=self.clients.player(player.credential),
            ).bet
            if (
                bet.rejection_reason not in waiting_for
                or player.stake_cap_minor is None
                or time.monotonic() > deadline
            ):
                break
            time.sleep(0.3)
        sports = {leg.sport for leg in legs}
        placed = PlacedBet(
            bet_id=bet.bet_id,
            player_id=player.player_id,
            group=sports.pop() if len(sports) == 1 else "multi-sport",
            stake_minor=stake_minor,
            legs=len(legs),
            live=live,
            fixture_ids=tuple(leg.fixture_id for leg in legs),
            status=bet_service_pb2.BetStatus.Name(bet.status).removeprefix("BET_STATUS_"),
            reason=bet_service_pb2.RejectionReason.Name(bet.rejection_reason).removeprefix(
                "REJECTION_REASON_"
            )
            if bet.status == bet_service_pb2.BET_STATUS_REJECTED
            else "",
            message=bet.rejection_message,
            note=note,
        )
        self.state.record(placed)
        return placed


def outcome(bet: PlacedBet) -> str:
    if bet.status == "REJECTED":
        return f"REFUSED {bet.reason}: {bet.message}"
    return f"{bet.status.lower()} {bet.bet_id}"


def story_bets(
    bookie: Bookie,
    players: Sequence[Player],
    today: Sequence[Sequence[Leg]],
    say: Callable[[str], None],
    home: Leg | None,
    home_now: Callable[[], Leg | None] = lambda: None,
) -> PlacedBet | None:
    """The bets the story shows one by one; returns the headline bet (a football home win).

    `today` holds, per live match, the selections a crowd backs (football first); `home` is the
    home win on today's football match at whatever price it is offered: the match is drawn
    between real teams, and a short favourite's 1.05 or an outsider's 9.00 is still the story's
    bet (the crowd's odds window would leave the story without its headline). The headline is
    taken at a higher price only, so a price that moved down between the read and the slip is
    refused LINE_CHANGED: the player then sees the price `home_now` reads and bets at it, as a
    frontend offers the new odds (at most three times)."""
    from launcher.demo.players import (
        LOW_CAP,
        LOW_CAP_MINOR,
        NO_CAP,
        SHORT_DEPOSIT_MINOR,
        SHORT_FUNDS,
    )

    football = list(today[0])
    headline = None
    shown = home
    for _ in range(3):
        if shown is None:
            break
        headline = bookie.place(
            players[0], [shown], 1_000, bet_service_pb2.ODDS_ACCEPTANCE_HIGHER, note="headline"
        )
        say(
            f"    {players[0].name}: 10.00 EUR on {shown.selection_name} to win at "
            f"{odds(shown.odds_e4)} (only a higher price): {outcome(headline)}"
        )
        if headline.reason != "LINE_CHANGED":
            break
        shown = home_now()
    if headline is not None and headline.status != "REJECTED":
        players[0].reserve(1_000)
    pick = home if home is not None and home in football else football[0]
    scenes: list[tuple[Player, list[Leg], int, int, str]] = [
        (players[NO_CAP], [pick], 500, bet_service_pb2.ODDS_ACCEPTANCE_ANY, "no stake cap set"),
        (
            players[LOW_CAP],
            [pick],
            LOW_CAP_MINOR + 1_000,
            bet_service_pb2.ODDS_ACCEPTANCE_ANY,
            f"above a {money(LOW_CAP_MINOR)} 7-day stake cap",
        ),
        (
            players[SHORT_FUNDS],
            [pick],
            SHORT_DEPOSIT_MINOR + 1_500,
            bet_service_pb2.ODDS_ACCEPTANCE_ANY,
            f"more than the {money(SHORT_DEPOSIT_MINOR)} deposited",
        ),
        (players[4], [pick], 5, bet_service_pb2.ODDS_ACCEPTANCE_ANY, "a 0.05 EUR stake"),
    ]
    others = [leg for leg in football if leg.market_id != pick.market_id]
    if others:
        scenes.append(
            (
                players[5],
                [pick, others[0]],
                500,
                bet_service_pb2.ODDS_ACCEPTANCE_ANY,
                "an accumulator with two legs on one match",
            )
        )
    stale = Leg(**{**pick.__dict__, "odds_e4": pick.odds_e4 + 1_000})
    better = Leg(**{**pick.__dict__, "odds_e4": max(10_001, pick.odds_e4 - 1_000)})
    scenes += [
        (players[6], [stale], 500, bet_service_pb2.ODDS_ACCEPTANCE_NONE, "a stale price"),
        (players[7], [stale], 500, bet_service_pb2.ODDS_ACCEPTANCE_HIGHER, "a stale price"),
        (players[7], [stale], 500, bet_service_pb2.ODDS_ACCEPTANCE_ANY, "a stale price"),
        (players[6], [better], 500, bet_service_pb2.ODDS_ACCEPTANCE_HIGHER, "a lower price seen"),
    ]
    for player, legs, stake, acceptance, why in scenes:
        bet = bookie.place(player, legs, stake, acceptance, note=why)
        if bet.status != "REJECTED":
            player.reserve(stake)
        seen = " + ".join(
            f"{leg.selection_name} ({leg.market_name}) @ {odds(leg.odds_e4)}" for leg in legs
        )
        say(
            f"    {player.name}: {money(stake)} on {seen}, {ACCEPTANCE_NAMES[acceptance]} "
            f"({why}): {outcome(bet)}"
        )
    return headline


def crowd_bets(
    bookie: Bookie,
    players: Sequence[Player],
    today: Sequence[Sequence[Leg]],
    later: Sequence[Sequence[Leg]],
    rng: random.Random,
) -> list[tuple[Player, list[Leg], int, int]]:
    """The crowd's pre-match slips: singles and accumulators across the day's three sports,
    a few on fixtures later in the week (those stay open)."""
    from launcher.demo.players import NO_CAP

    slips: list[tuple[Player, list[Leg], int, int]] = []
    policies = (
        bet_service_pb2.ODDS_ACCEPTANCE_ANY,
        bet_service_pb2.ODDS_ACCEPTANCE_HIGHER,
        bet_service_pb2.ODDS_ACCEPTANCE_NONE,
    )
    today_pools = [list(p) for p in today if p]
    later_pools = [list(p) for p in later if p]
    for player in players:
        if player.index == NO_CAP or not today_pools:
            continue
        for _ in range(rng.randint(1, 3)):
            roll = rng.random()
            if roll < 0.55:
                legs = [rng.choice(rng.choice(today_pools))]
            elif roll < 0.85 and len(today_pools) >= 2:
                chosen = rng.sample(today_pools, rng.randint(2, len(today_pools)))
                legs = [rng.choice(pool) for pool in chosen]
            elif later_pools:
                chosen = rng.sample(later_pools, min(len(later_pools), rng.randint(1, 2)))
                legs = [rng.choice(pool) for pool in chosen]
            else:
                legs = [rng.choice(rng.choice(today_pools))]
            stake = rng.randrange(2, 21) * 100
            if not player.reserve(stake):
                continue
            slips.append((player, legs, stake, rng.choice(policies)))
    return slips
