"""Dixon-Coles score grid and the football markets derived from it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from service_runtime.errors import FailedPrecondition

# A grid is a distribution only if every cell is >= 0 and they sum to 1; summing to 1 after
# renormalisation is checked to this tolerance.
_SUM_TOLERANCE = 1e-9


def invalid_grid(detail: str) -> FailedPrecondition:
    """Dixon-Coles' tau(i, j) is negative on a low score when rho is outside
    [max(-1/home, -1/away), min(1/(home * away), 1)] (Dixon & Coles 1997): the "grid" then has a
    negative cell, and renormalising only hides it (correct score 0-0 offered at 1000 where the
    fair price is ~250). Such parameters are refused, never clipped: a price from a model
    outside its domain is not a price (fail closed)."""
    return FailedPrecondition("INVALID_SCORE_GRID", detail)


def check_dependence(home_rate: float, away_rate: float, rho: float) -> None:
    """Refuses rates and rho whose Dixon-Coles factors make a score negative."""
    taus = (
        1.0 - home_rate * away_rate * rho,
        1.0 + home_rate * rho,
        1.0 + away_rate * rho,
        1.0 - rho,
    )
    if not all(math.isfinite(t) and t >= 0.0 for t in taus):
        raise invalid_grid(
            f"rho {rho:.6g} with expected goals {home_rate:.6g} and {away_rate:.6g} makes a "
            "Dixon-Coles score probability negative"
        )


def check_grid(grid: NDArray[np.float64]) -> None:
    """Every cell finite and >= 0, the cells summing to 1 (the last line of defence: whatever
    built the grid, no negative or unnormalised grid is priced)."""
    if not np.all(np.isfinite(grid)) or float(grid.min()) < 0.0:
        raise invalid_grid("the score grid has a negative or non-finite cell")
    if abs(float(grid.sum()) - 1.0) > _SUM_TOLERANCE:
        raise invalid_grid(f"the score grid sums to {float(grid.sum()):.12g}, not 1")


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
    """Independent Poisson goals with Dixon-Coles' low-score correction, renormalised.

    Refuses (`INVALID_SCORE_GRID`) parameters that would make a cell negative."""
    check_dependence(home_rate, away_rate, rho)
    grid = np.outer(_poisson(home_rate, max_goals), _poisson(away_rate, max_goals))
    grid[0, 0] *= 1.0 - home_rate * away_rate * rho
    grid[0, 1] *= 1.0 + home_rate * rho
    grid[1, 0] *= 1.0 + away_rate * rho
    grid[1, 1] *= 1.0 - rho
    grid /= grid.sum()
    check_grid(grid)
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
    Refuses the whole batch (`INVALID_SCORE_GRID`) if any fixture's grid has a negative cell.
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
    if grids.size and (not np.all(np.isfinite(grids)) or float(grids.min()) < 0.0):
        raise invalid_grid("rho and expected goals make a Dixon-Coles score probability negative")
    grids /= grids.sum(axis=(1, 2))[:, None, None]
    return grids
