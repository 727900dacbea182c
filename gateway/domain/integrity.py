"""The integrity guard's rules: checks on an agreed quote set that trust no pricing engine.

Written from the market definitions alone (docs/architecture.md, "The integrity guard"), never
from the engines' code: a mistake every engine shares (a swapped home and away, doubled scoring
rates, a wrong line) must still fail here. Pure functions over `betmesh.common.v1.QuoteSet`;
no gRPC, SQL or Redis. Probabilities are the sets' fair `probability_e9` (parts per billion),
prices their `odds_e4`. Every violation names one market; a rule over several markets (lines,
related markets) names each market it involves, so each is held.

Rules:
- PROBABILITY_SUM: a market's fair probabilities sum to 1 (double chance: 2), each in [0, 1].
- PAYOUT_OUT_OF_BOUNDS: the market's payout (1 / the sum of its implied probabilities
  1/odds, i.e. 1 / (1 + overround)) lies within the policy's bounds, both as stated by the set
  and as recomputed from its offered prices when every selection is offered.
- PRICE_ABOVE_FAIR: no offered price above its fair odds (1 / probability): such a price has
  a positive expected value for the player, whatever the margin method.
- LINES_NOT_MONOTONE: across the lines of a total, P(over) never rises as the line rises; across
  the lines of a handicap, the side's probability never falls as its line rises.
- RELATED_MARKETS_INCONSISTENT: double chance and draw no bet (and the level Asian handicap)
  are what the 1X2 probabilities make them (1X = home + draw; DNB home = home / (home + away)).
- ARBITRAGE: no combination of offered prices across 1X2, double chance and draw no bet
  returns more than the stakes on every outcome.
- MOVE_TOO_LARGE: against the last published version of the same market, no selection's fair
  probability moved by more than the bound its cause allows (`pre_match_bound`, `live_bound`).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from betmesh.common.v1 import game_state_pb2, market_pb2

E9 = 1_000_000_000
ACTIVE = market_pb2.SELECTION_STATUS_ACTIVE

# Totals: P(over) never rises with the line. Handicaps: the side's P never falls as its line rises.
TOTALS = frozenset(
    {
        market_pb2.MARKET_TYPE_TOTAL_GOALS,
        market_pb2.MARKET_TYPE_TEAM_TOTAL_GOALS,
        market_pb2.MARKET_TYPE_TOTAL_GAMES,
        market_pb2.MARKET_TYPE_TOTAL_POINTS,
    }
)
HANDICAPS = frozenset(
    {
        market_pb2.MARKET_TYPE_ASIAN_HANDICAP,
        market_pb2.MARKET_TYPE_GAMES_HANDICAP,
        market_pb2.MARKET_TYPE_POINT_SPREAD,
    }
)


@dataclass(frozen=True)
class GuardPolicy:
    """The bounds the guard holds prices to (gateway settings, BETMESH_GATEWAY_GUARD_*)."""

    # A market's payout (ten-thousandths), sanity bounds both: the French 85% is a yearly
    # average per licence, not a per-market cap (the return-to-player controller's rule), and a
    # short favourite floored at 1.01 lifts its market above the policy's target.
    payout_min_e4: int = 7_000
    payout_max_e4: int = 9_800
    # Rounding slack for sums and cross-market identities (each probability is rounded once).
    tolerance_e9: int = 20
    # Pre-match, same snapshot and fixture: the price should not move at all (replicas are
    # deterministic), so a small bound.
    pre_match_max_move_e9: int = 20_000_000
    # Pre-match, a new snapshot the canary approved: larger moves are held for review.
    snapshot_max_move_e9: int = 100_000_000
    # Live, no scoring event since the last publish: the clock alone explains this much...
    live_max_move_e9: int = 50_000_000
    # ... plus this much per minute of play, for at most this many minutes between publishes
    # (the repricer publishes at least every quiet cadence, 5 minutes of play).
    live_move_per_minute_e9: int = 30_000_000
    live_clock_cap_minutes: int = 10


@dataclass(frozen=True)
class Violation:
    market_id: str
    rule: str
    # Bounded, human-readable: what was found against what was allowed.
    detail: str
    values: dict[str, int | str] = field(default_factory=dict)


def _probabilities(market: market_pb2.Market) -> dict[str, int]:
    return {s.selection_id: s.probability_e9 for s in market.selections}


def _probability(market: market_pb2.Market, selection_id: str) -> int | None:
    for selection in market.selections:  # two or three selections: no dict to build
        if selection.selection_id == selection_id:
            return selection.probability_e9
    return None


def _payout_e4(odds: Iterable[int]) -> int:
    """1 / sum(1/odds), in ten-thousandths, from exact integer arithmetic."""
    # The book sum in e12 (1/o = 1e4/o_e4, times 1e12), so payout_e4 = 1e16 / booksum_e12.
    booksum_e12 = sum(10**16 // o for o in odds)
    return 10**16 // booksum_e12 if booksum_e12 else 0


def check_market(market: market_pb2.Market, policy: GuardPolicy) -> list[Violation]:
    """The rules one market is checked by on its own."""
    found: list[Violation] = []
    mid = market.market_id
    probs = [s.probability_e9 for s in market.selections]
    expected = 2 * E9 if market.type == market_pb2.MARKET_TYPE_DOUBLE_CHANCE else E9
    total = sum(probs)
    if (
        not probs
        or any(p < 0 or p > E9 for p in probs)
        or abs(total - expected) > policy.tolerance_e9 * len(probs)
    ):
        found.append(
            Violation(
                mid,
                "PROBABILITY_SUM",
                f"fair probabilities sum to {total} parts per billion, not {expected}",
                {"sum_e9": total, "expected_e9": expected},
            )
        )
    offered = [s for s in market.selections if s.status == ACTIVE and s.odds_e4 > 0]
    if market.status == market_pb2.MARKET_STATUS_ACTIVE and offered:
        if not policy.payout_min_e4 <= market.payout_e4 <= policy.payout_max_e4:
            found.append(
                Violation(
                    mid,
                    "PAYOUT_OUT_OF_BOUNDS",
                    f"stated payout {market.payout_e4} outside "
                    f"[{policy.payout_min_e4}, {policy.payout_max_e4}]",
                    {"payout_e4": market.payout_e4},
                )
            )
        if (
            len(offered) == len(market.selections)
            and market.type != market_pb2.MARKET_TYPE_DOUBLE_CHANCE
        ):
            payout = _payout_e4(s.odds_e4 for s in offered)
            if payout > policy.payout_max_e4:
                found.append(
                    Violation(
                        mid,
                        "PAYOUT_OUT_OF_BOUNDS",
                        f"offered prices pay out {payout}, above {policy.payout_max_e4}",
                        {"payout_e4": payout},
                    )
                )
        for selection in offered:
            # odds * p <= 1, in e4 * e9 = e13.
            if selection.odds_e4 * selection.probability_e9 > 10**13:
                found.append(
                    Violation(
                        mid,
                        "PRICE_ABOVE_FAIR",
                        f"{selection.selection_id} offered at {selection.odds_e4} with fair "
                        f"probability {selection.probability_e9}",
                        {
                            "selection": selection.selection_id,
                            "odds_e4": selection.odds_e4,
                            "probability_e9": selection.probability_e9,
                        },
                    )
                )
    return found


def _line_key(market: market_pb2.Market) -> tuple[int, int]:
    return (market.type, market.side)


def check_lines(markets: Sequence[market_pb2.Market], policy: GuardPolicy) -> list[Violation]:
    groups: dict[tuple[int, int], list[market_pb2.Market]] = defaultdict(list)
    for market in markets:
        if market.type in TOTALS or market.type in HANDICAPS:
            groups[_line_key(market)].append(market)
    found: list[Violation] = []
    for (kind, side), group in groups.items():
        group.sort(key=lambda m: m.line_e2)
        if kind in TOTALS:
            selection, direction = "over", -1
        else:
            selection = "away" if side == 2 else "home"  # SIDE_AWAY: the line is the away side's
            direction = 1
        for lower, higher in itertools.pairwise(group):
            p_low = _probability(lower, selection)
            p_high = _probability(higher, selection)
            if p_low is None or p_high is None:
                continue
            # Totals: p_high <= p_low. Handicaps: p_high >= p_low.
            if direction * (p_high - p_low) < -policy.tolerance_e9:
                for market in (lower, higher):
                    found.append(
                        Violation(
                            market.market_id,
                            "LINES_NOT_MONOTONE",
                            f"P({selection}) at line {lower.line_e2} is {p_low}, at "
                            f"{higher.line_e2} is {p_high}",
                            {
                                "selection": selection,
                                "low_line_e2": lower.line_e2,
                                "low_e9": p_low,
                                "high_line_e2": higher.line_e2,
                                "high_e9": p_high,
                            },
                        )
                    )
    return found


def _arbitrage(o1: int, o2: int) -> bool:
    """Two complementary bets at these odds (e4) return more than both stakes: 1/o1+1/o2 < 1."""
    return o1 > 0 and o2 > 0 and 10**4 * (o1 + o2) < o1 * o2


def check_related(markets: Sequence[market_pb2.Market], policy: GuardPolicy) -> list[Violation]:
    """1X2 against double chance, draw no bet and the level Asian handicap (football)."""
    by_type: dict[int, market_pb2.Market] = {}
    for market in markets:
        if market.type in (
            market_pb2.MARKET_TYPE_MATCH_RESULT,
            market_pb2.MARKET_TYPE_DOUBLE_CHANCE,
            market_pb2.MARKET_TYPE_DRAW_NO_BET,
        ) or (market.type == market_pb2.MARKET_TYPE_ASIAN_HANDICAP and market.line_e2 == 0):
            by_type[market.type] = market
    result = by_type.get(market_pb2.MARKET_TYPE_MATCH_RESULT)
    if result is None:
        return []
    p = _probabilities(result)
    home, draw, away = p.get("home"), p.get("draw"), p.get("away")
    if home is None or draw is None or away is None:
        return []
    tol = 4 * policy.tolerance_e9
    found: list[Violation] = []

    def inconsistent(market: market_pb2.Market, selection: str, want: int, got: int) -> None:
        for mid in (market.market_id, result.market_id):
            found.append(
                Violation(
                    mid,
                    "RELATED_MARKETS_INCONSISTENT",
                    f"{market.market_id} {selection} has {got}, the 1X2 makes it {want}",
                    {"market": market.market_id, "selection": selection, "want": want, "got": got},
                )
            )

    offered = {
        s.selection_id: s.odds_e4
        for s in result.selections
        if s.status == ACTIVE and result.status == market_pb2.MARKET_STATUS_ACTIVE
    }
    double = by_type.get(market_pb2.MARKET_TYPE_DOUBLE_CHANCE)
    if double is not None:
        wanted = {"1X": home + draw, "12": home + away, "X2": draw + away}
        got = _probabilities(double)
        for selection, want in wanted.items():
            if selection in got and abs(got[selection] - want) > tol:
                inconsistent(double, selection, want, got[selection])
        if double.status == market_pb2.MARKET_STATUS_ACTIVE:
            dc_odds = {s.selection_id: s.odds_e4 for s in double.selections if s.status == ACTIVE}
            for pair, single in (("1X", "away"), ("12", "draw"), ("X2", "home")):
                if _arbitrage(dc_odds.get(pair, 0), offered.get(single, 0)):
                    for mid in (double.market_id, result.market_id):
                        found.append(
                            Violation(
                                mid,
                                "ARBITRAGE",
                                f"double chance {pair} at {dc_odds[pair]} and 1X2 {single} at "
                                f"{offered[single]} return more than the stakes",
                                {"pair": pair, "single": single},
                            )
                        )
    decisive = home + away
    for level in (
        by_type.get(market_pb2.MARKET_TYPE_DRAW_NO_BET),
        by_type.get(market_pb2.MARKET_TYPE_ASIAN_HANDICAP),
    ):
        if level is None or decisive <= 0:
            continue
        got = _probabilities(level)
        want_home = (home * E9 + decisive // 2) // decisive
        if "home" in got and abs(got["home"] - want_home) > tol:
            inconsistent(level, "home", want_home, got["home"])
        if level.status == market_pb2.MARKET_STATUS_ACTIVE and double is not None:
            level_odds = {s.selection_id: s.odds_e4 for s in level.selections if s.status == ACTIVE}
            dc_odds = {s.selection_id: s.odds_e4 for s in double.selections if s.status == ACTIVE}
            # Draw no bet home (refunded on a draw) with X2 (draw or away) wins on every outcome
            # when (o1 - 1)(o2 - 1) > 1; likewise away with 1X.
            for side, cover in (("home", "X2"), ("away", "1X")):
                o1, o2 = level_odds.get(side, 0), dc_odds.get(cover, 0)
                if o1 > 0 and o2 > 0 and (o1 - 10**4) * (o2 - 10**4) > 10**8:
                    for mid in (level.market_id, double.market_id):
                        found.append(
                            Violation(
                                mid,
                                "ARBITRAGE",
                                f"{level.market_id} {side} at {o1} and double chance {cover} at "
                                f"{o2} return more than the stakes",
                                {"side": side, "cover": cover},
                            )
                        )
    return found


def _priced(quote_set: market_pb2.QuoteSet) -> list[market_pb2.Market]:
    """The markets that carry prices: a market the agreement rule withheld
    (gateway/domain/agreement.py) is published SUSPENDED with none, so there is nothing in it
    to check, nor to hold its related markets over."""
    return [m for m in quote_set.markets if m.status != market_pb2.MARKET_STATUS_SUSPENDED]


def check_coherence(quote_set: market_pb2.QuoteSet, policy: GuardPolicy) -> list[Violation]:
    markets = _priced(quote_set)
    found: list[Violation] = []
    for market in markets:
        found += check_market(market, policy)
    found += check_lines(markets, policy)
    found += check_related(markets, policy)
    return found


# ---- moves against the last published price -------------------------------------------------


@dataclass(frozen=True)
class MoveBound:
    """How far a selection's fair probability may move, and why; None: no bound (explained)."""

    bound_e9: int | None
    cause: str


def pre_match_bound(
    policy: GuardPolicy,
    previous_snapshot: str,
    snapshot: str,
    snapshot_vetted: bool,
    fixture_changed: bool,
) -> MoveBound:
    if fixture_changed:
        return MoveBound(None, "FIXTURE_CHANGED")
    if snapshot != previous_snapshot:
        # Only a snapshot the canary vetted explains a move; a forced one explains nothing.
        if snapshot_vetted:
            return MoveBound(policy.snapshot_max_move_e9, "NEW_SNAPSHOT")
        return MoveBound(policy.pre_match_max_move_e9, "UNVETTED_SNAPSHOT")
    return MoveBound(policy.pre_match_max_move_e9, "NO_CHANGE")


def _score(state: game_state_pb2.GameState) -> tuple[object, ...]:
    """What only a scoring event (or a card) changes, never the clock (nor a period change,
    which moves the clock on and nothing else)."""
    which = state.WhichOneof("sport_state")
    if which == "football":
        f = state.football
        return (f.home_goals, f.away_goals, f.home_red_cards, f.away_red_cards)
    if which == "basketball":
        return (state.basketball.home_points, state.basketball.away_points)
    if which == "tennis":
        t = state.tennis
        return (
            tuple((s.home_games, s.away_games) for s in t.sets),
            t.home_points,
            t.away_points,
            t.in_tiebreak,
        )
    return ()


def live_bound(
    policy: GuardPolicy,
    previous: game_state_pb2.GameState | None,
    current: game_state_pb2.GameState,
) -> MoveBound:
    """A live move must follow an event that changes the score (or cards, period) or the clock;
    the clock explains a bounded move per minute of play, for a bounded number of minutes."""
    if previous is None:
        # Compared with the pre-match price: the first live price continues it.
        minutes = current.elapsed_seconds // 60
        return MoveBound(
            policy.live_max_move_e9
            + policy.live_move_per_minute_e9 * min(minutes, policy.live_clock_cap_minutes),
            "FIRST_LIVE_PRICE",
        )
    if _score(previous) != _score(current):
        return MoveBound(None, "SCORING_EVENT")
    minutes = max(0, current.elapsed_seconds - previous.elapsed_seconds) // 60
    return MoveBound(
        policy.live_max_move_e9
        + policy.live_move_per_minute_e9 * min(minutes, policy.live_clock_cap_minutes),
        "CLOCK",
    )


def check_moves(
    quote_set: market_pb2.QuoteSet,
    previous: dict[str, market_pb2.Market],
    bound: MoveBound,
) -> list[Violation]:
    """Each market against its last published version (markets new to the set are not bounded)."""
    if bound.bound_e9 is None:
        return []
    found: list[Violation] = []
    for market in _priced(quote_set):
        before = previous.get(market.market_id)
        if before is None:
            continue
        old = _probabilities(before)
        worst, worst_selection = 0, ""
        for selection in market.selections:
            was = old.get(selection.selection_id)
            if was is None:
                continue
            move = abs(selection.probability_e9 - was)
            if move > worst:
                worst, worst_selection = move, selection.selection_id
        if worst > bound.bound_e9:
            found.append(
                Violation(
                    market.market_id,
                    "MOVE_TOO_LARGE",
                    f"{worst_selection} moved {worst} parts per billion, more than "
                    f"{bound.bound_e9} ({bound.cause})",
                    {
                        "selection": worst_selection,
                        "move_e9": worst,
                        "bound_e9": bound.bound_e9,
                        "cause": bound.cause,
                        "was_e9": old[worst_selection],
                    },
                )
            )
    return found
