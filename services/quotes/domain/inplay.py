"""In-play football: the final-score grid from the current score, the clock and red cards.

Same snapshot as pre-match (the parameters a replica prices from stay content-addressed, so
replicas stay byte-identical); only the game state changes the inputs:

- Remaining goals per team are Poisson with the pre-match expected goals scaled by the fraction
  of regular time left, with Dixon-Coles' low-score correction (rho) applied to the remaining
  goals. Goal intensity is taken as uniform over the match: Dixon & Robinson's (1998) rise late
  in each half is not modelled, which keeps "kick-off in-play = pre-match" exact and costs
  little while the score is what moves prices most.
- Time left: regular time only, as football markets settle on 90 minutes plus stoppage time.
  In the first half the second half is always still to play (first-half stoppage time does
  not eat into it); from period 3 on (extra time, penalties) nothing is left.
- Red cards (Maia et al. 2023): each card multiplies the carded team's intensity by
  RED_CARD_OWN_FACTOR (0.70) and the opponent's by RED_CARD_OPPONENT_FACTOR (1.20).
- The final-score grid is the remaining-goals grid shifted by the current score; the whole
  football market set then comes from it, exactly as pre-match (`football_markets`).

At the end of regular time the grid is one certain score: every selection's probability is 0
or 1, so every selection is withdrawn and every market deactivated (`withdraw_decided`).
"""

from __future__ import annotations

import math

import numpy as np
from betmesh.common.v1 import game_state_pb2, market_pb2

from services.quotes.domain import football
from services.quotes.domain.football import ScoreGrid

RED_CARD_OWN_FACTOR = 0.70
RED_CARD_OPPONENT_FACTOR = 1.20
DEFAULT_REGULATION_SECONDS = 90 * 60


def remaining_fraction(state: game_state_pb2.GameState) -> float:
    """Share of regular time still to play, in [0, 1]."""
    regulation = state.football.regulation_seconds or DEFAULT_REGULATION_SECONDS
    half = regulation / 2
    if state.period == 0:
        return 1.0
    if state.period == 1:
        played = min(float(state.elapsed_seconds), half)
        return (regulation - played) / regulation
    if state.period == 2:
        played = min(max(float(state.elapsed_seconds), half), float(regulation))
        return (regulation - played) / regulation
    return 0.0


def remaining_rates(
    home_rate: float, away_rate: float, state: game_state_pb2.GameState
) -> tuple[float, float]:
    tau = remaining_fraction(state)
    score = state.football
    home = (
        home_rate
        * tau
        * RED_CARD_OWN_FACTOR**score.home_red_cards
        * RED_CARD_OPPONENT_FACTOR**score.away_red_cards
    )
    away = (
        away_rate
        * tau
        * RED_CARD_OWN_FACTOR**score.away_red_cards
        * RED_CARD_OPPONENT_FACTOR**score.home_red_cards
    )
    return home, away


def _remaining_grid(home: float, away: float, rho: float, max_goals: int) -> np.ndarray:
    if home > 0.0 and away > 0.0:
        dixon_coles: np.ndarray = football.dixon_coles_grid(
            home, away, rho, max_goals
        ).probabilities
        return dixon_coles

    # A side that cannot score any more: its goals are certainly 0 (the low-score correction
    # needs both rates and vanishes with either).
    def pmf(rate: float) -> np.ndarray:
        values = np.zeros(max_goals + 1)
        if rate <= 0.0:
            values[0] = 1.0
            return values
        k = np.arange(max_goals + 1)
        log_fact = np.array([math.lgamma(i + 1) for i in k])
        values = np.exp(k * math.log(rate) - rate - log_fact)
        normalised: np.ndarray = values / values.sum()
        return normalised

    grid: np.ndarray = np.outer(pmf(home), pmf(away))
    return grid


def live_grid(
    home_rate: float,
    away_rate: float,
    rho: float,
    max_goals: int,
    state: game_state_pb2.GameState,
) -> ScoreGrid:
    """The final-score grid: current score + remaining goals (see the module docstring)."""
    home, away = remaining_rates(home_rate, away_rate, state)
    remaining = _remaining_grid(home, away, rho, max_goals)
    h, a = state.football.home_goals, state.football.away_goals
    if h == a == 0:
        return ScoreGrid(remaining)
    size = max_goals + 1 + max(h, a)
    grid = np.zeros((size, size))
    grid[h : h + max_goals + 1, a : a + max_goals + 1] = remaining
    return ScoreGrid(grid)


def withdraw_decided(quote_set: market_pb2.QuoteSet) -> None:
    """In play, a selection that can no longer win is withdrawn (no price on the impossible),
    and a market without any offered selection is deactivated: at the end of a match every
    market is."""
    for market in quote_set.markets:
        for selection in market.selections:
            if selection.probability_e9 == 0 and selection.odds_e4:
                selection.odds_e4 = 0
                selection.status = market_pb2.SELECTION_STATUS_WITHDRAWN
        if all(s.status == market_pb2.SELECTION_STATUS_WITHDRAWN for s in market.selections):
            market.status = market_pb2.MARKET_STATUS_DEACTIVATED
