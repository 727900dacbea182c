"""Dixon-Coles by weighted maximum likelihood, with analytic gradients.

Model: home goals ~ Poisson(lambda), away goals ~ Poisson(mu), with
    log lambda = attack[home] + defence[away] + home_advantage   (0 advantage at a neutral venue)
    log mu     = attack[away] + defence[home]
and the Dixon-Coles factor tau(x, y) on the four low scores (0-0, 0-1, 1-0, 1-1) with dependence
rho. Match m contributes weight w_m times its log-likelihood (time decay: w = exp(-xi * days)).

Identifiability: the likelihood is unchanged by attack += c, defence -= c for all teams. The fit is
unconstrained from zero, where every gradient is orthogonal to that flat direction, and the
result is then centred so that the attacks sum to 0 (which leaves every rate, hence the
likelihood, unchanged).

The same machinery fits "quasi-Poisson" ratings to non-integer targets (market-implied expected
goals): the Poisson log-likelihood x log(rate) - rate is well defined for any x >= 0, and its
maximum is where the fitted rates match the weighted targets. Rho is not identified by such
targets, so that fit leaves it out and `fit_rho` finds it from results afterwards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize, minimize_scalar
from scipy.special import gammaln

# Keeps log(tau) finite when an optimiser step crosses tau <= 0 (as penaltyblog does).
_TAU_FLOOR = 1e-10
RHO_BOUNDS = (-0.5, 0.5)


@dataclass(frozen=True)
class MatchData:
    """Matches as arrays; team indices refer to `teams`."""

    teams: tuple[str, ...]
    home_idx: NDArray[np.int64]
    away_idx: NDArray[np.int64]
    home_goals: NDArray[np.float64]  # goals (or non-negative targets for quasi-Poisson fits)
    away_goals: NDArray[np.float64]
    weights: NDArray[np.float64]
    neutral: NDArray[np.float64]  # 1.0 where no home advantage applies

    @classmethod
    def build(
        cls,
        home: list[str],
        away: list[str],
        home_goals: NDArray[np.float64] | list[float],
        away_goals: NDArray[np.float64] | list[float],
        weights: NDArray[np.float64] | list[float] | None = None,
        neutral: NDArray[np.float64] | list[float] | None = None,
        teams: tuple[str, ...] | None = None,
    ) -> MatchData:
        names = teams if teams is not None else tuple(sorted(set(home) | set(away)))
        index = {t: i for i, t in enumerate(names)}
        n = len(home)
        return cls(
            teams=names,
            home_idx=np.array([index[t] for t in home], dtype=np.int64),
            away_idx=np.array([index[t] for t in away], dtype=np.int64),
            home_goals=np.asarray(home_goals, dtype=np.float64),
            away_goals=np.asarray(away_goals, dtype=np.float64),
            weights=np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64),
            neutral=np.zeros(n) if neutral is None else np.asarray(neutral, dtype=np.float64),
        )


@dataclass(frozen=True)
class Ratings:
    teams: tuple[str, ...]
    attack: NDArray[np.float64]
    defence: NDArray[np.float64]
    home_advantage: float
    rho: float
    log_likelihood: float  # weighted, including the log(x!) terms, at the optimum

    def rates(
        self, home_idx: NDArray[np.int64], away_idx: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        home = np.exp(self.attack[home_idx] + self.defence[away_idx] + self.home_advantage)
        away = np.exp(self.attack[away_idx] + self.defence[home_idx])
        return home, away


def _log_rates(
    params: NDArray[np.float64], data: MatchData
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n = len(data.teams)
    attack, defence, advantage = params[:n], params[n : 2 * n], params[2 * n]
    log_home = attack[data.home_idx] + defence[data.away_idx] + advantage * (1.0 - data.neutral)
    log_away = attack[data.away_idx] + defence[data.home_idx]
    return log_home, log_away


def _low_score_masks(data: MatchData) -> tuple[NDArray[np.bool_], ...]:
    x, y = data.home_goals, data.away_goals
    return (x == 0) & (y == 0), (x == 0) & (y == 1), (x == 1) & (y == 0), (x == 1) & (y == 1)


def _objective(
    params: NDArray[np.float64],
    data: MatchData,
    with_rho: bool,
    ridge: float,
    masks: tuple[NDArray[np.bool_], ...],
    constant: float,
) -> tuple[float, NDArray[np.float64]]:
    """Negative weighted log-likelihood (+ ridge penalty) and its gradient."""
    n = len(data.teams)
    w, x, y = data.weights, data.home_goals, data.away_goals
    log_home, log_away = _log_rates(params, data)
    lam, mu = np.exp(log_home), np.exp(log_away)
    ll = float(np.dot(w, x * log_home - lam + y * log_away - mu)) - constant
    d_home = x - lam  # d ll_m / d log lambda_m
    d_away = y - mu
    grad_rho = 0.0
    if with_rho:
        rho = params[2 * n + 1]
        m00, m01, m10, m11 = masks
        tau = np.ones_like(lam)
        tau[m00] = 1.0 - lam[m00] * mu[m00] * rho
        tau[m01] = 1.0 + lam[m01] * rho
        tau[m10] = 1.0 + mu[m10] * rho
        tau[m11] = 1.0 - rho
        tau = np.maximum(tau, _TAU_FLOOR)
        ll += float(np.dot(w, np.log(tau)))
        # d log tau / d(log lambda, log mu, rho) on each low score
        d_home[m00] -= lam[m00] * mu[m00] * rho / tau[m00]
        d_away[m00] -= lam[m00] * mu[m00] * rho / tau[m00]
        d_home[m01] += lam[m01] * rho / tau[m01]
        d_away[m10] += mu[m10] * rho / tau[m10]
        d_tau_rho = np.zeros_like(lam)
        d_tau_rho[m00] = -lam[m00] * mu[m00] / tau[m00]
        d_tau_rho[m01] = lam[m01] / tau[m01]
        d_tau_rho[m10] = mu[m10] / tau[m10]
        d_tau_rho[m11] = -1.0 / tau[m11]
        grad_rho = float(np.dot(w, d_tau_rho))
    g_home, g_away = w * d_home, w * d_away
    grad = np.empty_like(params)
    grad[:n] = np.bincount(data.home_idx, g_home, n) + np.bincount(data.away_idx, g_away, n)
    grad[n : 2 * n] = np.bincount(data.away_idx, g_home, n) + np.bincount(data.home_idx, g_away, n)
    grad[2 * n] = float(np.dot(g_home, 1.0 - data.neutral))
    if with_rho:
        grad[2 * n + 1] = grad_rho
    value = -ll
    grad = -grad
    if ridge > 0:
        strengths = params[: 2 * n]
        value += 0.5 * ridge * float(np.dot(strengths, strengths))
        grad[: 2 * n] += ridge * strengths
    return value, grad


def _log_factorial_constant(data: MatchData) -> float:
    return float(np.dot(data.weights, gammaln(data.home_goals + 1) + gammaln(data.away_goals + 1)))


def log_likelihood(
    data: MatchData,
    attack: NDArray[np.float64],
    defence: NDArray[np.float64],
    advantage: float,
    rho: float,
) -> float:
    """Weighted Dixon-Coles log-likelihood of the data at the given parameters."""
    params = np.concatenate([attack, defence, [advantage, rho]])
    value, _ = _objective(
        params, data, True, 0.0, _low_score_masks(data), _log_factorial_constant(data)
    )
    return -value


def _fit(data: MatchData, with_rho: bool, ridge: float) -> Ratings:
    n = len(data.teams)
    masks = _low_score_masks(data)
    constant = _log_factorial_constant(data)
    start = np.zeros(2 * n + (2 if with_rho else 1))
    start[2 * n] = 0.25
    bounds: list[tuple[float | None, float | None]] = [(None, None)] * (2 * n + 1)
    if with_rho:
        bounds.append(RHO_BOUNDS)
    result = minimize(
        _objective,
        start,
        args=(data, with_rho, ridge, masks, constant),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9},
    )
    params = result.x
    shift = float(params[:n].mean())
    attack = params[:n] - shift
    defence = params[n : 2 * n] + shift
    rho = float(params[2 * n + 1]) if with_rho else 0.0
    value, _ = _objective(params, data, with_rho, 0.0, masks, constant)
    return Ratings(data.teams, attack, defence, float(params[2 * n]), rho, -value)


def fit_dixon_coles(data: MatchData, ridge: float = 0.0) -> Ratings:
    """Attack, defence, home advantage and rho maximising the weighted likelihood of results."""
    if not len(data.home_idx):
        raise ValueError("no matches to fit")
    return _fit(data, with_rho=True, ridge=ridge)


def fit_poisson_ratings(data: MatchData, ridge: float = 0.0) -> Ratings:
    """Attack, defence and home advantage for (possibly fractional) goal targets; rho = 0."""
    if not len(data.home_idx):
        raise ValueError("no matches to fit")
    return _fit(data, with_rho=False, ridge=ridge)


def fit_rho(
    home_goals: NDArray[np.float64],
    away_goals: NDArray[np.float64],
    home_rates: NDArray[np.float64],
    away_rates: NDArray[np.float64],
    weights: NDArray[np.float64],
) -> float:
    """Rho maximising the weighted Dixon-Coles likelihood of results given each match's rates.

    Only tau depends on rho, so this is a one-dimensional bounded search.
    """
    x, y, lam, mu = home_goals, away_goals, home_rates, away_rates
    m00, m01, m10, m11 = (
        (x == 0) & (y == 0),
        (x == 0) & (y == 1),
        (x == 1) & (y == 0),
        (x == 1) & (y == 1),
    )
    w00, w01, w10, w11 = weights[m00], weights[m01], weights[m10], weights[m11]
    lm00, l01, m_10 = lam[m00] * mu[m00], lam[m01], mu[m10]

    def negative(r: float) -> float:
        taus = (1.0 - lm00 * r, 1.0 + l01 * r, 1.0 + m_10 * r)
        total = float(w11.sum()) * math.log(max(1.0 - r, _TAU_FLOOR))
        for w, tau in zip((w00, w01, w10), taus, strict=True):
            total += float(np.dot(w, np.log(np.maximum(tau, _TAU_FLOOR))))
        return -total

    result = minimize_scalar(
        negative, bounds=RHO_BOUNDS, method="bounded", options={"xatol": 1e-10}
    )
    value = float(result.x)
    return 0.0 if math.isnan(value) else value
