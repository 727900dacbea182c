"""Walk-forward quality of the tennis match-winner probability, against base rates and Elo.

Blocks are the tournaments that start on one day (ATP events start on Mondays, so a block is a
week). Before each block every predictor is built from the matches known at midnight of its first
day (`TennisMatch.known_at`: a match is known once its tournament is over), then predicts every
match of the block; nothing of the block or later is read.

- model: the fitted serve and return rates of the match's surface, combined as the pricing does
  (`tennis.matchup_serve_probability` with the mean return rate of the snapshot's players), then
  the exact Markov chain (`tennis.match_distribution`) under the match's rules (best of 3 or 5,
  a 10-point final-set tiebreak at the Grand Slams). A player never seen before is priced at the
  fit's prior (the tour mean).
- elo: a plain Elo over every played match (walkovers excluded), K = 250 / (n + 5)^0.4 with n the
  player's matches so far (FiveThirtyEight's tennis Elo; Kovalchik 2016), starting at 1500.
- base rate: 1/2. The source orders players winner first, so any orientation-free prior is 1/2,
  and log-loss and Brier of a two-way market do not depend on which player is called "home".

No redistributable odds exist for this set, so no market reference is possible.
Evaluated: completed matches (retirements and walkovers are not decided by play), except the
Next Gen Finals (sets to 4 games, not the rules priced here).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from services.quotes.domain import tennis
from services.quotes.fitting.tennis import (
    DEFAULT_PLAYER_PRIOR_POINTS,
    DEFAULT_SURFACE_PRIOR_POINTS,
    DEFAULT_XI,
    NoTrainingData,
    TennisFit,
    TennisMatch,
    fit_rates,
    participant_id,
)

# P(the match's recorded winner wins): orientation-free, so log-loss and Brier need nothing else.
Predictor = Callable[[TennisMatch], float]
# Builds a predictor from what is known at as_of (the matches given are all known by then).
PredictorFactory = Callable[[datetime, Sequence[TennisMatch]], Predictor]

BASE_RATE = "base rate"
ELO = "elo"
MODEL = "model"
_EPS = 1e-12


def evaluated(match: TennisMatch) -> bool:
    return match.outcome == "completed" and match.tourney_type != "Next Gen Finals"


def rules_for(match: TennisMatch) -> tennis.TennisRules:
    slam = match.tourney_type == "Grand Slam"
    return tennis.TennisRules(match.best_of, 6, True, 10 if slam else 7)


@dataclass(frozen=True)
class Scores:
    n: int
    log_loss: float
    brier: float
    accuracy: float  # share of matches the recorded winner was favoured in (a tie counts 1/2)


def scores(p_winner: Sequence[float]) -> Scores:
    p = np.clip(np.asarray(p_winner, dtype=np.float64), _EPS, 1.0 - _EPS)
    if not len(p):
        raise ValueError("nothing to score")
    return Scores(
        n=len(p),
        log_loss=float(-np.mean(np.log(p))),
        brier=float(np.mean((1.0 - p) ** 2)),
        accuracy=float(np.mean(np.where(p == 0.5, 0.5, p > 0.5))),
    )


# ---- predictors -------------------------------------------------------------------------------


def base_rate_factory(as_of: datetime, known: Sequence[TennisMatch]) -> Predictor:
    return lambda match: 0.5


class Elo:
    def __init__(self) -> None:
        self.rating: dict[str, float] = {}
        self.played: dict[str, int] = {}

    def probability(self, a: str, b: str) -> float:
        ra, rb = self.rating.get(a, 1500.0), self.rating.get(b, 1500.0)
        return 1.0 / (1.0 + math.pow(10.0, (rb - ra) / 400.0))

    def update(self, winner: str, loser: str) -> None:
        expected = self.probability(winner, loser)
        for player, delta in ((winner, 1.0 - expected), (loser, expected - 1.0)):
            k = 250.0 / (self.played.get(player, 0) + 5) ** 0.4
            self.rating[player] = self.rating.get(player, 1500.0) + k * delta
            self.played[player] = self.played.get(player, 0) + 1


def elo_factory(as_of: datetime, known: Sequence[TennisMatch]) -> Predictor:
    elo = Elo()
    for m in known:
        if m.outcome != "walkover":
            elo.update(participant_id(m.winner_name), participant_id(m.loser_name))
    return lambda match: elo.probability(
        participant_id(match.winner_name), participant_id(match.loser_name)
    )


def markov_probability(fit: TennisFit, match: TennisMatch) -> float:
    """P(the recorded winner wins) from the fit, combined exactly as the pricing combines a
    snapshot's players (`services/quotes/domain/pricing.py`, tennis_model)."""
    surface = match.surface
    index = fit.index()
    serve, return_ = fit.serve[surface], fit.return_[surface]
    average_return = math.fsum(return_.tolist()) / len(return_)

    def rates(name: str) -> tuple[float, float]:
        i = index.get(participant_id(name))
        return (float(serve[i]), float(return_[i])) if i is not None else fit.newcomer(surface)

    s_w, r_w = rates(match.winner_name)
    s_l, r_l = rates(match.loser_name)
    pa = tennis.matchup_serve_probability(s_w, r_l, average_return)
    pb = tennis.matchup_serve_probability(s_l, r_w, average_return)
    return tennis.match_distribution(pa, pb, rules_for(match)).win


def markov_factory(
    xi: float = DEFAULT_XI,
    player_prior_points: float = DEFAULT_PLAYER_PRIOR_POINTS,
    surface_prior_points: float = DEFAULT_SURFACE_PRIOR_POINTS,
    fit_seconds: list[float] | None = None,
) -> PredictorFactory:
    def build(as_of: datetime, known: Sequence[TennisMatch]) -> Predictor:
        started = time.perf_counter()
        try:
            fit = fit_rates(known, as_of, xi, player_prior_points, surface_prior_points)
        except NoTrainingData:
            return lambda match: 0.5
        if fit_seconds is not None:
            fit_seconds.append(time.perf_counter() - started)
        return lambda match: markov_probability(fit, match)

    return build


# ---- walk-forward -----------------------------------------------------------------------------


@dataclass
class WalkForward:
    matches: list[TennisMatch] = field(default_factory=list)
    predictions: dict[str, list[float]] = field(default_factory=dict)
    blocks: int = 0

    def scores(self, name: str, since: date | None = None) -> Scores:
        chosen = [
            p
            for m, p in zip(self.matches, self.predictions[name], strict=True)
            if since is None or m.start >= since
        ]
        return scores(chosen)


def walk_forward(
    matches: Sequence[TennisMatch],
    factories: dict[str, PredictorFactory],
    first_block: date | None = None,
    last_block: date | None = None,
) -> WalkForward:
    """Every evaluated match of the blocks starting in [first_block, last_block], predicted by
    each factory's predictor built at midnight of its block's first day."""
    result = WalkForward(predictions={name: [] for name in factories})
    starts = sorted({m.start for m in matches})
    for start in starts:
        if (first_block and start < first_block) or (last_block and start > last_block):
            continue
        block = [m for m in matches if m.start == start and evaluated(m)]
        if not block:
            continue
        as_of = datetime(start.year, start.month, start.day, tzinfo=UTC)
        known = [m for m in matches if m.known_at <= as_of]
        result.blocks += 1
        result.matches.extend(block)
        for name, factory in factories.items():
            predict = factory(as_of, known)
            result.predictions[name].extend(predict(m) for m in block)
    return result


def quality_failures(result: WalkForward, since: date | None = None) -> list[str]:
    """Why the model is not fit to price from (empty when it is): it must beat the base rate on
    both log-loss and Brier over the walk-forward."""
    model, base = result.scores(MODEL, since), result.scores(BASE_RATE, since)
    failures = []
    if not model.log_loss < base.log_loss:
        failures.append(
            f"log-loss {model.log_loss:.4f} not below the base rate's {base.log_loss:.4f}"
        )
    if not model.brier < base.brier:
        failures.append(f"Brier {model.brier:.4f} not below the base rate's {base.brier:.4f}")
    return failures
