"""Bets while the matches are played: live singles through the bet delay, a pre-match bet on a
match already in play, and a cash-out."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import grpc
from betmesh.bets.v1 import bet_service_pb2
from betmesh.live.v1 import match_event_pb2 as me

from launcher.demo.betting import ACCEPTANCE_NAMES, Bookie, Leg, legs_of, live_price, outcome
from launcher.demo.client import RPC_TIMEOUT, reason
from launcher.demo.players import NO_CAP, Player
from launcher.demo.state import Match, PlacedBet
from launcher.demo.text import money
from service_runtime.live_bet_delay import LiveBetDelays

# Until the odds stream announces a match's delay (in wall time, as bets applies it): the
# default delays in the feed's time, divided here by the mesh's feed speed as bets does.
STANDARD_DELAYS = LiveBetDelays.standard()

WORKERS = 4
SPORTS = ("football", "tennis", "basketball")
# A bet is re-checked when its delay is over: any of these in the meantime refuses it.
DISRUPTIVE = {
    me.MATCH_EVENT_TYPE_GOAL,
    me.MATCH_EVENT_TYPE_RED_CARD,
    me.MATCH_EVENT_TYPE_PENALTY_AWARDED,
    me.MATCH_EVENT_TYPE_POINT_WON,
    me.MATCH_EVENT_TYPE_POINTS_SCORED,
    me.MATCH_EVENT_TYPE_MATCH_ENDED,
}
# Wall seconds beyond the delay a quiet moment must last (RPCs and repricing take time).
QUIET_MARGIN_SECONDS = 2.5
QUIET_SPACING_SECONDS = 1.5
TICK_SECONDS = 0.25
IN_PLAY_KNOWN_WAIT_SECONDS = 5.0
EVENT_ALLOWANCE_SECONDS = 0.5
WINNER_MARKETS = ("/MATCH_RESULT", "/MATCH_WINNER", "/MONEYLINE")


def quiet_for(match: Match, speed: float, moment: float) -> float:
    """Wall seconds until the match's next score-changing or suspending event."""
    if not match.kicked_off_at or not match.timeline:
        return 0.0
    now_at = match.timeline[0].at + (moment - match.kicked_off_at) * speed
    upcoming = [t.at for t in match.timeline if t.at > now_at and t.event.type in DISRUPTIVE]
    return (min(upcoming) - now_at) / speed if upcoming else 0.0


class LiveBetting:
    def __init__(
        self,
        bookie: Bookie,
        players: Sequence[Player],
        matches: Sequence[Match],
        pre_match: dict[str, list[Leg]],
        rng: random.Random,
        say: Callable[[str], None],
        speed: float,
        feed_speed: float = 1.0,
    ) -> None:
        self.speed = speed
        # The bets service's delays are the feed's seconds divided by this (BETS_FEED_SPEED).
        self.feed_speed = feed_speed
        # Live bets sent per sport: the players spread them over the three matches.
        self.tried: Counter[str] = Counter()
        self.bookie = bookie
        self.players = [p for p in players if p.index != NO_CAP]
        self.matches = list(matches)
        self.pre_match = pre_match
        self.rng = rng
        self.say = say
        self.futures: list[Future[None]] = []

    def run(
        self, target: int, interval: float, feeding: Callable[[], bool], stop: threading.Event
    ) -> None:
        """Until `target` live bets are in or the matches are over. Half of them come at a
        quiet moment (nothing due before the bet delay is over), so some are accepted even at
        high speed; the others every `interval`, whatever the match is doing, as players do.
        A match still in play with none of its live bets taken gets up to `target` more, one
        every `interval`, until one is (a score change in the delay refuses a bet, fairly)."""
        did_cutoff = did_cash_out = False
        quiet = anytime = extra = 0
        last_anytime = last_quiet = time.monotonic()
        with ThreadPoolExecutor(WORKERS) as pool:
            while feeding() and not stop.wait(TICK_SECONDS):
                moment = time.monotonic()
                in_play = [m for m in self.matches if m.status == "live" and m.events_sent >= 2]
                done = quiet + anytime >= target
                if done:
                    taken = self.taken()
                    in_play = [m for m in in_play if not taken[m.sport][0]]
                    if extra >= target or not in_play:
                        break
                if not in_play:
                    continue
                if not did_cutoff:
                    did_cutoff = True
                    # The longest match: still in play once the bets service has heard of it.
                    longest = max(in_play, key=lambda m: m.timeline[-1].at if m.timeline else 0)
                    self.pre_match_in_play(longest)
                    continue
                football = next((m for m in in_play if m.sport == "football"), None)
                if not did_cash_out and football is not None and football.events_sent >= 3:
                    did_cash_out = True
                    self.cash_out(football)
                    continue
                calm = self._calm(in_play, moment)
                careful = False
                if calm and quiet < target // 2 and moment - last_quiet >= QUIET_SPACING_SECONDS:
                    match, quiet, last_quiet = self._pick(calm), quiet + 1, moment
                    careful = True
                elif anytime < target - target // 2 and moment - last_anytime >= interval:
                    match, anytime, last_anytime = self._pick(in_play), anytime + 1, moment
                elif done and moment - last_anytime >= interval:
                    match, extra, last_anytime = self._pick(in_play), extra + 1, moment
                    careful = True
                else:
                    continue
                self.tried[match.sport] += 1
                accepted = live_price(self.bookie.clients, match.fixture_id)
                legs = legs_of(accepted, match.sport, match.name) if accepted else []
                if careful:
                    # The winner market keeps its id whatever the score; lines move with it.
                    legs = [g for g in legs if g.market_id.endswith(WINNER_MARKETS)] or legs
                if legs:
                    acceptance = (
                        bet_service_pb2.ODDS_ACCEPTANCE_ANY
                        if careful
                        else self.rng.choice(
                            (
                                bet_service_pb2.ODDS_ACCEPTANCE_ANY,
                                bet_service_pb2.ODDS_ACCEPTANCE_NONE,
                            )
                        )
                    )
                    self.futures.append(pool.submit(self._bet, self.rng.choice(legs), acceptance))
            for future in self.futures:
                future.result()

    def _pick(self, matches: list[Match]) -> Match:
        """The match of the sport with the fewest live bets taken so far (then sent), so that
        every sport's in-play market sees bets; ties at random."""
        taken = self.taken()
        shuffled = self.rng.sample(matches, len(matches))
        return min(shuffled, key=lambda m: (taken[m.sport][0], self.tried[m.sport]))

    def taken(self) -> dict[str, tuple[int, int]]:
        """Per sport: live bets the bets service took (accepted after the delay, whatever they
        became later) and live bets it answered."""
        with self.bookie.state.lock:
            live = [b for b in self.bookie.state.bets if b.live and b.note == "live"]
        return {
            sport: (
                sum(1 for b in live if b.group == sport and b.bet_id and b.status != "REJECTED"),
                sum(1 for b in live if b.group == sport),
            )
            for sport in SPORTS
        }

    def _calm(self, in_play: list[Match], moment: float) -> list[Match]:
        return [
            m
            for m in in_play
            if quiet_for(m, self.speed, moment)
            > (m.bet_delay_seconds or STANDARD_DELAYS.seconds(m.sport) / self.feed_speed)
            + QUIET_MARGIN_SECONDS
        ]

    def _bet(self, leg: Leg, acceptance: int) -> None:
        stake = self.rng.randrange(2, 16) * 100
        player = next(
            (p for p in self.rng.sample(self.players, len(self.players)) if p.reserve(stake)), None
        )
        if player is None:
            return
        bet = self.bookie.place(player, [leg], stake, acceptance, live=True, note="live")
        if bet.status == "REJECTED":
            player.release(stake)
        self.say(
            f"    live bet: {player.name} {money(stake)} on {leg.describe()} "
            f"({ACCEPTANCE_NAMES[acceptance]}, after the bet delay): {outcome(bet)}"
        )

    def pre_match_in_play(self, match: Match) -> None:
        legs = self.pre_match.get(match.fixture_id) or []
        if not legs:
            return
        # Bets learns of the kick-off from the live prices' event: wait until the gateway has
        # accepted a live quote set, and a moment for the event to arrive.
        deadline = time.monotonic() + IN_PLAY_KNOWN_WAIT_SECONDS
        while live_price(self.bookie.clients, match.fixture_id) is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        time.sleep(EVENT_ALLOWANCE_SECONDS)
        player = self.players[-1]
        bet = self.bookie.place(player, [legs[0]], 500, note="pre-match bet on a match in play")
        if bet.status != "REJECTED":
            player.reserve(500)
        self.say(
            f"    {player.name} tries a pre-match bet on {match.name}, already in play: "
            f"{outcome(bet)}"
        )

    def cash_out(self, match: Match) -> None:
        """The first accepted pre-match single on the match takes the cash-out offer."""
        with self.bookie.state.lock:
            candidates = [
                b
                for b in self.bookie.state.bets
                if b.status == "ACCEPTED"
                and not b.live
                and b.legs == 1
                and b.fixture_ids == (match.fixture_id,)
                and b.note != "headline"
            ]
        if not candidates:
            return
        placed = candidates[0]
        player = next(p for p in self.players if p.player_id == placed.player_id)
        stub = self.bookie.stub
        metadata = self.bookie.clients.player(player.credential)
        try:
            offer = stub.GetCashOutOffer(
                bet_service_pb2.GetCashOutOfferRequest(bet_id=placed.bet_id),
                timeout=RPC_TIMEOUT,
                metadata=metadata,
            )
            bet = stub.CashOut(
                bet_service_pb2.CashOutRequest(
                    idempotency_key=f"md-{self.bookie.state.run_id}-cash-out",
                    bet_id=placed.bet_id,
                    offer_id=offer.offer_id,
                ),
                timeout=RPC_TIMEOUT,
                metadata=metadata,
            ).bet
        except grpc.RpcError as exc:
            # An offer may be refused for a business reason (market suspended at a goal, price
            # moved): the story shows it; anything else is a failure.
            if not isinstance(exc, grpc.Call) or exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            self.say(f"    cash-out for {player.name} on {match.name}: not now ({reason(exc)})")
            return
        _mark(placed, bet)
        self.say(
            f"    cash-out: {player.name} takes {money(offer.amount.amount_minor)} for a "
            f"{money(placed.stake_minor)} bet on {match.name} in play: "
            f"{placed.status.lower()}, paid {money(bet.payout.amount_minor)}"
        )


def _mark(placed: PlacedBet, bet: bet_service_pb2.Bet) -> None:
    placed.status = bet_service_pb2.BetStatus.Name(bet.status).removeprefix("BET_STATUS_")
    placed.payout_minor = bet.payout.amount_minor
