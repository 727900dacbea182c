"""No negative or unnormalised Dixon-Coles score grid is ever priced (issue 18, part 4).

Dixon-Coles' low-score factor tau can be negative when rho is large against the expected goals:
a plain renormalised grid then carries a negative cell and offered correct score 0-0 at 1000.0
where the fair price is ~250. Both engines refuse such parameters (INVALID_SCORE_GRID), pre-match
and in play; parameters inside the model's domain price as before."""

from __future__ import annotations

import math

import numpy as np
import pytest
from betmesh.common.v1 import game_state_pb2, sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from service_runtime.errors import FailedPrecondition
from services.quotes.domain import football
from services.quotes.domain.engines import ENGINES
from services.quotes.domain.pricing import price_fixture
from services.quotes.domain.snapshots import default_pricing_policy, snapshot_hash

FOOTBALL_ENGINES = ENGINES[sport_pb2.SPORT_FOOTBALL]


def snapshot(rho: float) -> snapshot_pb2.ModelSnapshot:
    # A mismatch: the home side expects exp(1.2 + 0.2 + 0.25) = 5.2 goals, the away side 1.1.
    return snapshot_pb2.ModelSnapshot(
        sport=sport_pb2.SPORT_FOOTBALL,
        model="dixon-coles/test",
        pricing_policy=default_pricing_policy(),
        football=snapshot_pb2.FootballParameters(
            teams=[
                snapshot_pb2.TeamRating(participant_id="fb:strong", attack=1.2, defence=-0.2),
                snapshot_pb2.TeamRating(participant_id="fb:weak", attack=0.3, defence=0.2),
            ],
            home_advantage=0.25,
            rho=rho,
            max_goals=10,
        ),
    )


FIXTURE = sport_pb2.Fixture(
    fixture_id="guard-1",
    sport=sport_pb2.SPORT_FOOTBALL,
    home=sport_pb2.Participant(participant_id="fb:strong"),
    away=sport_pb2.Participant(participant_id="fb:weak"),
)


def unguarded_grid(home: float, away: float, rho: float, top: int = 10) -> np.ndarray:
    """The textbook grid, written out here: what a plain Dixon-Coles implementation prices."""
    k = np.arange(top + 1)
    log_fact = np.array([math.lgamma(i + 1) for i in k])
    grid = np.outer(
        np.exp(k * math.log(home) - home - log_fact), np.exp(k * math.log(away) - away - log_fact)
    )
    grid[0, 0] *= 1 - home * away * rho
    grid[0, 1] *= 1 + home * rho
    grid[1, 0] *= 1 + away * rho
    grid[1, 1] *= 1 - rho
    result: np.ndarray = grid / grid.sum()
    return result


@pytest.mark.parametrize(("rho", "cell"), [(0.3, (0, 0)), (-0.3, (0, 1))])
def test_a_negative_cell_is_reproduced_and_refused_by_every_engine(
    rho: float, cell: tuple[int, int]
) -> None:
    home, away = math.exp(1.2 + 0.2 + 0.25), math.exp(0.3 - 0.2)
    assert unguarded_grid(home, away, rho)[cell] < 0  # the bug: a negative "probability"
    fitted = snapshot(rho)
    for engine in FOOTBALL_ENGINES:
        with pytest.raises(FailedPrecondition) as refused:
            price_fixture(
                FIXTURE, fitted, snapshot_hash(fitted), [], None, sport_pb2.SPORT_FOOTBALL, engine
            )
        assert refused.value.reason == "INVALID_SCORE_GRID", engine
    with pytest.raises(FailedPrecondition):
        football.dixon_coles_grid(home, away, rho, 10)
    with pytest.raises(FailedPrecondition):
        football.dixon_coles_grids(np.array([1.0, home]), np.array([1.0, away]), rho, 10)


def test_in_play_a_negative_cell_is_refused_too() -> None:
    state = game_state_pb2.GameState(
        period=1,
        elapsed_seconds=60,
        football=game_state_pb2.FootballState(home_goals=1, away_goals=0),
    )
    fitted = snapshot(0.3)
    for engine in FOOTBALL_ENGINES:
        with pytest.raises(FailedPrecondition) as refused:
            price_fixture(
                FIXTURE, fitted, snapshot_hash(fitted), [], state, sport_pb2.SPORT_FOOTBALL, engine
            )
        assert refused.value.reason == "INVALID_SCORE_GRID", engine


def test_parameters_inside_the_domain_give_a_distribution() -> None:
    fitted = snapshot(-0.05)
    grid = football.dixon_coles_grid(math.exp(1.65), math.exp(0.1), -0.05, 10).probabilities
    assert grid.min() >= 0 and grid.sum() == pytest.approx(1.0, abs=1e-12)
    for engine in FOOTBALL_ENGINES:
        quote_set = price_fixture(
            FIXTURE, fitted, snapshot_hash(fitted), [], None, sport_pb2.SPORT_FOOTBALL, engine
        )
        assert quote_set.markets


def test_an_unnormalised_grid_is_refused() -> None:
    with pytest.raises(FailedPrecondition):
        football.check_grid(np.full((3, 3), 0.2))
    with pytest.raises(FailedPrecondition):
        football.check_grid(np.array([[1.1, -0.1], [0.0, 0.0]]))
    football.check_grid(np.full((2, 2), 0.25))
