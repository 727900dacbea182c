"""Selection outcomes from a final score, for the markets a score alone settles.

Settled here: result markets (1X2, double chance, draw no bet, moneyline, match winner), totals
and handicaps on the full score (quarter lines give half outcomes), both teams to score, team
totals and correct score. Markets whose outcome needs more than the final score (tennis set
betting, total games and games handicap: the per-set games are not reliably on the bus) are
left out of the settlement message; they stay as they were and bets settles them itself.
A result other than COMPLETED voids every market.
"""

from __future__ import annotations

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb

WIN = market_pb2.SELECTION_OUTCOME_WIN
LOSE = market_pb2.SELECTION_OUTCOME_LOSE
VOID = market_pb2.SELECTION_OUTCOME_VOID
HALF_WIN = market_pb2.SELECTION_OUTCOME_HALF_WIN
HALF_LOSE = market_pb2.SELECTION_OUTCOME_HALF_LOSE
NO_DEAD_HEAT = 10_000

_RESULT = {
    market_pb2.MARKET_TYPE_MATCH_RESULT,
    market_pb2.MARKET_TYPE_MONEYLINE,
    market_pb2.MARKET_TYPE_MATCH_WINNER,
}
_TOTALS = {market_pb2.MARKET_TYPE_TOTAL_GOALS, market_pb2.MARKET_TYPE_TOTAL_POINTS}
_HANDICAPS = {market_pb2.MARKET_TYPE_ASIAN_HANDICAP, market_pb2.MARKET_TYPE_POINT_SPREAD}


def _above(value_e2: int, line_e2: int) -> int:
    """Outcome of "value > line", quarter lines split into the two neighbouring half lines."""
    if line_e2 % 50:
        low, high = _above(value_e2, line_e2 - 25), _above(value_e2, line_e2 + 25)
        if low == high:
            return low
        pair = {low, high}
        return HALF_WIN if pair == {WIN, VOID} else HALF_LOSE
    return WIN if value_e2 > line_e2 else LOSE if value_e2 < line_e2 else VOID


_MIRROR: dict[int, int] = {WIN: LOSE, LOSE: WIN, HALF_WIN: HALF_LOSE, HALF_LOSE: HALF_WIN}


def _mirror(outcome: int) -> int:
    return _MIRROR.get(outcome, outcome)


def market_outcomes(market: market_pb2.Market, home: int, away: int) -> dict[str, int] | None:
    """selection_id -> outcome, or None when the score alone cannot settle this market."""
    ids = [s.selection_id for s in market.selections]
    kind = market.type
    winner = "home" if home > away else "away" if away > home else "draw"
    if kind in _RESULT:
        return {i: WIN if i == winner else LOSE for i in ids}
    if kind == market_pb2.MARKET_TYPE_DOUBLE_CHANCE:
        code = {"home": "1", "draw": "X", "away": "2"}[winner]
        return {i: WIN if code in i else LOSE for i in ids}
    if kind == market_pb2.MARKET_TYPE_DRAW_NO_BET:
        return {i: VOID if winner == "draw" else WIN if i == winner else LOSE for i in ids}
    if kind in _TOTALS:
        over = _above((home + away) * 100, market.line_e2)
        return {i: over if i == "over" else _mirror(over) for i in ids}
    if kind == market_pb2.MARKET_TYPE_TEAM_TOTAL_GOALS:
        goals = home if market.side == sport_pb2.SIDE_HOME else away
        over = _above(goals * 100, market.line_e2)
        return {i: over if i == "over" else _mirror(over) for i in ids}
    if kind in _HANDICAPS:
        covers = _above((home - away) * 100, -market.line_e2)
        return {i: covers if i == "home" else _mirror(covers) for i in ids}
    if kind == market_pb2.MARKET_TYPE_BOTH_TEAMS_TO_SCORE:
        both = "yes" if home > 0 and away > 0 else "no"
        return {i: WIN if i == both else LOSE for i in ids}
    if kind == market_pb2.MARKET_TYPE_CORRECT_SCORE:
        exact = f"{home}-{away}"
        listed = exact in ids
        return {i: WIN if i == exact or ("-" not in i and not listed) else LOSE for i in ids}
    return None


def settle(
    fixture_id: str,
    markets: list[market_pb2.Market],
    home: int,
    away: int,
    completed: bool,
    version: str,
) -> pb.BetSettlement:
    settlement = pb.BetSettlement(fixture_id=fixture_id, result_version=version)
    for market in markets:
        outcomes = (
            {s.selection_id: VOID for s in market.selections}
            if not completed
            else market_outcomes(market, home, away)
        )
        if outcomes is None:
            continue
        settlement.markets.append(
            pb.MarketSettlement(
                market_id=market.market_id,
                results=[
                    pb.SelectionResult(
                        selection_id=sid,
                        outcome=outcome,  # type: ignore[arg-type]
                        dead_heat_factor_e4=NO_DEAD_HEAT,
                    )
                    for sid, outcome in sorted(outcomes.items())
                ],
            )
        )
    return settlement
