"""Dixon-Coles score grid and the football markets derived from it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class ScoreGrid:
    """P(home goals = i, away goals = j) for i, j in 0..n."""

    probabilities: NDArray[np.float64]

    def match_result(self) -> tuple[float, float, float]:
        grid = self.probabilities
        home = float(np.tril(grid, -1).sum())
        draw = float(np.trace(grid))
        away = float(np.triu(grid, 1).sum())
        return home, draw, away


def _poisson(rate: float, n: int) -> NDArray[np.float64]:
    k = np.arange(n + 1)
    log_fact = np.array([math.lgamma(i + 1) for i in k])
    result: NDArray[np.float64] = np.exp(k * math.log(rate) - rate - log_fact)
    return result


def dixon_coles_grid(home_rate: float, away_rate: float, rho: float, max_goals: int) -> ScoreGrid:
    """Independent Poisson goals with Dixon-Coles' low-score correction, renormalised."""
    grid = np.outer(_poisson(home_rate, max_goals), _poisson(away_rate, max_goals))
    grid[0, 0] *= 1.0 - home_rate * away_rate * rho
    grid[0, 1] *= 1.0 + home_rate * rho
    grid[1, 0] *= 1.0 + away_rate * rho
    grid[1, 1] *= 1.0 - rho
    grid /= grid.sum()
    return ScoreGrid(grid)


def expected_goals(
    home_attack: float,
    home_defence: float,
    away_attack: float,
    away_defence: float,
    home_advantage: float,
    neutral: bool,
) -> tuple[float, float]:
    advantage = 0.0 if neutral else home_advantage
    return (
        math.exp(home_attack + away_defence + advantage),
        math.exp(away_attack + home_defence),
    )


def dixon_coles_grids(
    home_rates: NDArray[np.float64],
    away_rates: NDArray[np.float64],
    rho: float | NDArray[np.float64],
    max_goals: int,
) -> NDArray[np.float64]:
    """`dixon_coles_grid` for many fixtures at once: shape (fixtures, max_goals+1, max_goals+1).

    Same formula, vectorised over fixtures, so a batch costs little more than one numpy call.
    """
    home = np.asarray(home_rates, dtype=np.float64)
    away = np.asarray(away_rates, dtype=np.float64)
    dependence = np.broadcast_to(np.asarray(rho, dtype=np.float64), home.shape)
    k = np.arange(max_goals + 1)
    log_fact = np.array([math.lgamma(i + 1) for i in k])
    home_pmf = np.exp(k * np.log(home)[:, None] - home[:, None] - log_fact)
    away_pmf = np.exp(k * np.log(away)[:, None] - away[:, None] - log_fact)
    grids: NDArray[np.float64] = home_pmf[:, :, None] * away_pmf[:, None, :]
    grids[:, 0, 0] *= 1.0 - home * away * dependence
    grids[:, 0, 1] *= 1.0 + home * dependence
    grids[:, 1, 0] *= 1.0 + away * dependence
    grids[:, 1, 1] *= 1.0 - dependence
    grids /= grids.sum(axis=(1, 2))[:, None, None]
    return grids
