"""Fits football parameters from results (and past closing odds) into a ModelSnapshot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from services.quotes.domain.snapshots import default_pricing_policy
from services.quotes.fitting.data import MatchRow, participant_id
from services.quotes.fitting.dixon_coles import (
    MatchData,
    Ratings,
    fit_dixon_coles,
    fit_poisson_ratings,
    fit_rho,
)
from services.quotes.fitting.market_implied import implied_expected_goals

METHOD_DIXON_COLES = "dixon-coles"
METHOD_MARKET_XG = "market-xg"
METHODS = (METHOD_DIXON_COLES, METHOD_MARKET_XG)
# market-xg/2: matches without odds but with shots on target rated partly on them (/1: goals).
MODEL_NAMES = {METHOD_DIXON_COLES: "dixon-coles/1", METHOD_MARKET_XG: "dixon-coles-market-xg/2"}

# Defaults chosen on EPL 2023/24 (docs/benchmarks/quotes-football.md shows the sensitivity).
DEFAULT_XI = 0.005  # per day: a match 139 days old counts half
DEFAULT_MARKET_WEIGHT = 1.0  # share of implied xG (vs goals) in the rating targets
DEFAULT_RIDGE = 0.0
# Share of shots-on-target-implied goals (vs goals) in the targets of a match without odds:
# chosen on the shipped leagues' walk-forward among 0, 0.5, 0.7 and 1 (all shown in
# docs/benchmarks/quotes-football.md; 0.5-0.7 help every league without odds).
DEFAULT_SHOTS_WEIGHT = 0.7
_SECONDS_PER_DAY = 86_400.0


class NoTrainingData(ValueError):
    """No match kicked off before the as-of time."""


def decay_weights(rows: Sequence[MatchRow], as_of: datetime, xi: float) -> np.ndarray:
    days = np.array([(as_of - r.kickoff).total_seconds() / _SECONDS_PER_DAY for r in rows])
    weights: np.ndarray = np.exp(-xi * days)
    return weights


def fit_ratings(
    rows: Sequence[MatchRow],
    as_of: datetime,
    xi: float = DEFAULT_XI,
    method: str = METHOD_MARKET_XG,
    market_weight: float = DEFAULT_MARKET_WEIGHT,
    ridge: float = DEFAULT_RIDGE,
    shots_weight: float = DEFAULT_SHOTS_WEIGHT,
) -> Ratings:
    """Ratings from the matches kicked off strictly before `as_of` (nothing later is read).

    market-xg: a match with closing odds is rated on the expected goals its market implied; a
    match without odds but with shots on target on `shots_weight` x its shots on target x the
    competition's goals per shot on target (over the same past matches, time-weighted) plus
    the rest on its goals: shots on target are a less noisy measure of the chances a side made
    than the goals they became; a match with neither on its goals."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    if not 0.0 <= market_weight <= 1.0:
        raise ValueError("market_weight must be in [0, 1]")
    if not 0.0 <= shots_weight <= 1.0:
        raise ValueError("shots_weight must be in [0, 1]")
    past = [r for r in rows if r.kickoff < as_of]
    if not past:
        raise NoTrainingData(f"no match before {as_of.isoformat()}")
    weights = decay_weights(past, as_of, xi)
    home = [r.home for r in past]
    away = [r.away for r in past]
    goals_home = np.array([r.home_goals for r in past], dtype=np.float64)
    goals_away = np.array([r.away_goals for r in past], dtype=np.float64)
    if method == METHOD_DIXON_COLES:
        return fit_dixon_coles(MatchData.build(home, away, goals_home, goals_away, weights), ridge)

    target_home, target_away = goals_home.copy(), goals_away.copy()
    priced = [i for i, r in enumerate(past) if r.odds_1x2 and r.odds_total_2_5]
    if priced:
        xg_home, xg_away = implied_expected_goals(
            np.array([past[i].odds_1x2 for i in priced]),
            np.array([past[i].odds_total_2_5 for i in priced]),
        )
        target_home[priced] = market_weight * xg_home + (1 - market_weight) * goals_home[priced]
        target_away[priced] = market_weight * xg_away + (1 - market_weight) * goals_away[priced]
    shot = [
        i
        for i, r in enumerate(past)
        if r.shots_on_target is not None and not (r.odds_1x2 and r.odds_total_2_5)
    ]
    if shot and shots_weight > 0:
        sot = np.array([past[i].shots_on_target for i in shot], dtype=np.float64)
        competitions = np.array([past[i].competition for i in shot])
        for competition in set(competitions.tolist()):
            chosen = np.array(shot)[competitions == competition]
            in_league = competitions == competition
            w = weights[chosen]
            goals = float(np.dot(w, goals_home[chosen] + goals_away[chosen]))
            shots = float(np.dot(w, sot[in_league].sum(1)))
            if shots <= 0:
                continue
            per_shot = goals / shots
            for side, target, scored in (
                (0, target_home, goals_home),
                (1, target_away, goals_away),
            ):
                implied = per_shot * sot[in_league, side]
                target[chosen] = shots_weight * implied + (1 - shots_weight) * scored[chosen]
    data = MatchData.build(home, away, target_home, target_away, weights)
    ratings = fit_poisson_ratings(data, ridge)
    rates_home, rates_away = ratings.rates(data.home_idx, data.away_idx)
    rho = fit_rho(goals_home, goals_away, rates_home, rates_away, weights)
    return Ratings(
        ratings.teams,
        ratings.attack,
        ratings.defence,
        ratings.home_advantage,
        rho,
        ratings.log_likelihood,
    )


def ratings_snapshot(
    ratings: Ratings,
    as_of: datetime,
    xi: float,
    model: str,
    training_data_digest: str,
    max_goals: int = 10,
    pricing_policy: snapshot_pb2.PricingPolicy | None = None,
) -> snapshot_pb2.ModelSnapshot:
    fitted_at = Timestamp()
    fitted_at.FromDatetime(as_of)
    return snapshot_pb2.ModelSnapshot(
        sport=sport_pb2.SPORT_FOOTBALL,
        model=model,
        fitted_at=fitted_at,
        training_data_digest=training_data_digest,
        pricing_policy=pricing_policy or default_pricing_policy(),
        football=snapshot_pb2.FootballParameters(
            teams=[
                snapshot_pb2.TeamRating(
                    participant_id=participant_id(team),
                    name=team,
                    attack=float(ratings.attack[i]),
                    defence=float(ratings.defence[i]),
                )
                for i, team in enumerate(ratings.teams)
            ],
            home_advantage=ratings.home_advantage,
            rho=ratings.rho,
            time_decay_xi=xi,
            max_goals=max_goals,
        ),
    )


def fit_football_snapshot(
    rows: Sequence[MatchRow],
    as_of: datetime,
    xi: float = DEFAULT_XI,
    *,
    method: str = METHOD_MARKET_XG,
    market_weight: float = DEFAULT_MARKET_WEIGHT,
    ridge: float = DEFAULT_RIDGE,
    training_data_digest: str = "",
    max_goals: int = 10,
    pricing_policy: snapshot_pb2.PricingPolicy | None = None,
    shots_weight: float = DEFAULT_SHOTS_WEIGHT,
) -> snapshot_pb2.ModelSnapshot:
    """A frozen football snapshot from the matches before `as_of`.

    `training_data_digest` is the sha256 of the results file the rows came from
    (`data.read_results` returns it); `fitted_at` is `as_of`.
    """
    ratings = fit_ratings(rows, as_of, xi, method, market_weight, ridge, shots_weight)
    return ratings_snapshot(
        ratings,
        as_of,
        xi,
        MODEL_NAMES[method],
        training_data_digest,
        max_goals,
        pricing_policy,
    )
