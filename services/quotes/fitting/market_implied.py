"""Expected goals implied by a match's closing 1X2 and over/under 2.5 odds.

The closing market is the best forecast available, and after the match it is a public input like
the result: the goals each side was expected to score carry far less noise than the goals it did
score. Fitting team ratings to past matches' implied expected goals (never the priced match's
own odds) is therefore a much sharper estimate of strength than results alone.

Margin removal is multiplicative (each 1/odds scaled so the market sums to 1). The implied rates
solve, for every match at once, the least-squares fit of the Dixon-Coles grid's P(home), P(away)
and P(over 2.5) to the market's: three equations, two unknowns (log rates), Gauss-Newton with a
finite-difference Jacobian, vectorised over matches.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.quotes.domain.football import dixon_coles_grids

_GRID_GOALS = 10
_STEP = 1e-6


def remove_margin(odds: NDArray[np.float64]) -> NDArray[np.float64]:
    """Multiplicative margin removal along the last axis: (1/o) / sum(1/o)."""
    implied = 1.0 / np.asarray(odds, dtype=np.float64)
    result: NDArray[np.float64] = implied / implied.sum(axis=-1, keepdims=True)
    return result


def _market_probabilities(
    log_home: NDArray[np.float64], log_away: NDArray[np.float64], rho: float
) -> NDArray[np.float64]:
    grids = dixon_coles_grids(np.exp(log_home), np.exp(log_away), rho, _GRID_GOALS)
    size = _GRID_GOALS + 1
    home_goals, away_goals = np.indices((size, size))
    home_win = (home_goals > away_goals).ravel()
    away_win = (home_goals < away_goals).ravel()
    over = (home_goals + away_goals > 2).ravel()
    flat = grids.reshape(len(log_home), size * size)
    return np.stack([flat[:, home_win].sum(1), flat[:, away_win].sum(1), flat[:, over].sum(1)], 1)


def implied_expected_goals(
    odds_1x2: NDArray[np.float64],
    odds_total_2_5: NDArray[np.float64],
    rho: float = 0.0,
    iterations: int = 30,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Home and away expected goals for each match from (M, 3) 1X2 and (M, 2) O/U 2.5 odds."""
    one_x_two = remove_margin(odds_1x2)
    totals = remove_margin(odds_total_2_5)
    target = np.stack([one_x_two[:, 0], one_x_two[:, 2], totals[:, 0]], 1)
    m = len(target)
    theta = np.tile(np.log([1.4, 1.1]), (m, 1))
    for _ in range(iterations):
        base = _market_probabilities(theta[:, 0], theta[:, 1], rho)
        shifted_home = _market_probabilities(theta[:, 0] + _STEP, theta[:, 1], rho)
        shifted_away = _market_probabilities(theta[:, 0], theta[:, 1] + _STEP, rho)
        jacobian = np.stack([(shifted_home - base) / _STEP, (shifted_away - base) / _STEP], 2)
        residual = base - target
        jt = np.transpose(jacobian, (0, 2, 1))
        normal = jt @ jacobian + 1e-9 * np.eye(2)
        step = np.linalg.solve(normal, (jt @ residual[:, :, None]))[:, :, 0]
        # Damped so that a far start cannot overshoot into absurd rates.
        theta -= np.clip(step, -0.5, 0.5)
        theta = np.clip(theta, np.log(0.05), np.log(8.0))
        if float(np.abs(step).max()) < 1e-10:
            break
    return np.exp(theta[:, 0]), np.exp(theta[:, 1])
