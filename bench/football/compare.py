"""Football: betmesh vs penaltyblog 1.13.1, correctness and speed, side by side in one run.

Run in the benchmark venv (bench/football/setup.sh creates it; penaltyblog is never a runtime
dependency):

    bench/.venv-penaltyblog/bin/python bench/football/compare.py [--results FILE]

(a) Dixon-Coles fit on the whole file with both, same weights (all 1, i.e. xi = 0; and again with
    penaltyblog's own `dixon_coles_weights` at xi = 0.005 passed to both): maximised weighted
    log-likelihood (identical formula, log x! terms included in both; the likelihood does not
    depend on the identifiability constraint, penaltyblog's sum(attack) = n vs our sum = 0),
    plus each likelihood function evaluated at the other's optimum; median fit times.
(b) penaltyblog's fitted parameters -> both grids (goals 0..10) -> every market penaltyblog has:
    1X2, double chance, draw no bet, totals 0.5..5.5 (quarter lines), BTTS, Asian handicap -3..+3
    (quarter lines, both sides), correct score; max |difference| of win and lose (push excluded)
    probabilities.
(c) 1,000 fixtures, full market set: penaltyblog per fixture (predict + the market calls above,
    team totals from its goal distributions) vs ours (batch grid + one matrix product for every
    selection of every fixture), and ours per fixture building MarketProbabilities objects.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT, ROOT / "gen" / "python"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import penaltyblog as pb  # noqa: E402

from services.quotes.domain import football  # noqa: E402
from services.quotes.domain.football_markets import (  # noqa: E402
    HANDICAP_LINES_E2,
    TEAM_TOTAL_LINES_E2,
    TOTAL_LINES_E2,
    football_markets,
    gains_and_losses,
    market_table,
)
from services.quotes.fitting.data import read_results  # noqa: E402
from services.quotes.fitting.dixon_coles import (  # noqa: E402
    MatchData,
    fit_dixon_coles,
    log_likelihood,
)

DEFAULT_RESULTS = Path("/work/shared/data/football/epl_2023_24.csv")
MAX_GOALS = 10  # ours: goals 0..10; penaltyblog's max_goals is the grid size, 11


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def fit_section(rows: list, repeat: int) -> pb.models.DixonColesGoalModel:  # type: ignore[type-arg]
    home = [r.home for r in rows]
    away = [r.away for r in rows]
    goals_home = [r.home_goals for r in rows]
    goals_away = [r.away_goals for r in rows]
    dates = [r.kickoff.replace(tzinfo=None) for r in rows]
    print("## (a) Dixon-Coles fit,", len(rows), "matches")
    print(
        "| weights | pb optimiser settings | penaltyblog log-lik | ours log-lik | ours - pb "
        "| our log-lik function at pb's params - pb's | pb fit (median) | ours fit (median) "
        "| ours / pb time |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    reference = None
    for label, weights in (
        ("all 1 (xi = 0)", np.ones(len(rows))),
        ("pb.models.dixon_coles_weights(xi=0.005)", pb.models.dixon_coles_weights(dates, 0.005)),
    ):
        for tolerance, options, analytic in (
            ("default (analytic gradient)", None, True),
            ("numerical gradient, ftol=1e-12", {"ftol": 1e-12}, False),
        ):

            def fit_pb(w: np.ndarray = weights, o: dict | None = options, g: bool = analytic):  # type: ignore[no-untyped-def]
                model = pb.models.DixonColesGoalModel(goals_home, goals_away, home, away, weights=w)
                model.fit(minimizer_options=o, use_gradient=g)
                return model

            def fit_ours(w: np.ndarray = weights):  # type: ignore[no-untyped-def]
                return fit_dixon_coles(MatchData.build(home, away, goals_home, goals_away, w))

            model = fit_pb()
            ours = fit_ours()
            teams = list(model.teams)
            n = len(teams)
            params = np.asarray(model._params)
            order = [teams.index(t) for t in ours.teams]
            data = MatchData.build(home, away, goals_home, goals_away, weights)
            ours_at_pb = log_likelihood(
                data, params[:n][order], params[n : 2 * n][order], params[-2], params[-1]
            )
            pb_time = median_time(fit_pb, repeat if analytic else 3)
            ours_time = median_time(fit_ours, repeat)
            print(
                f"| {label} | {tolerance} | {model.loglikelihood:.9f} | "
                f"{ours.log_likelihood:.9f} | {ours.log_likelihood - model.loglikelihood:+.2e} | "
                f"{ours_at_pb - model.loglikelihood:+.2e} | {pb_time * 1e3:.1f} ms | "
                f"{ours_time * 1e3:.1f} ms | {ours_time / pb_time:.2f} |"
            )
            if reference is None:
                reference = model
    assert reference is not None
    return reference


def rates_from(model: pb.models.DixonColesGoalModel, home: list[str], away: list[str]):  # type: ignore[no-untyped-def]
    params = np.asarray(model._params)
    n = len(model.teams)
    index = {t: i for i, t in enumerate(model.teams)}
    h = np.array([index[t] for t in home])
    a = np.array([index[t] for t in away])
    home_rate = np.exp(params[h] + params[n + a] + params[-2])
    away_rate = np.exp(params[a] + params[n + h])
    return home_rate, away_rate, float(params[-1])


def pb_markets(grid) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Every market penaltyblog has for our set, as win and lose probabilities (push excluded)."""
    out: dict[str, list[float]] = {}
    hw, dr, aw = grid.home_win, grid.draw, grid.away_win
    out["1X2"] = [hw, dr, aw, 1 - hw, 1 - dr, 1 - aw]
    out["double chance"] = [grid.double_chance_1x, grid.double_chance_12, grid.double_chance_x2]
    out["draw no bet"] = [grid.draw_no_bet_home, grid.draw_no_bet_away]
    totals = []
    for line in TOTAL_LINES_E2:
        under, _push, over = grid.totals(line / 100)
        totals += [over, under]
    out["totals"] = totals
    out["btts"] = [grid.btts_yes, grid.btts_no]
    handicap = []
    for line in HANDICAP_LINES_E2:
        home = grid.asian_handicap_probs("home", line / 100)
        away = grid.asian_handicap_probs("away", -line / 100)
        handicap += [home["win"], home["lose"], away["win"], away["lose"]]
    out["asian handicap"] = handicap
    out["correct score"] = [grid.exact_score(h, a) for h in range(6) for a in range(6)]
    team = []
    for dist in (grid.home_goal_distribution(), grid.away_goal_distribution()):
        for line in TEAM_TOTAL_LINES_E2:
            under = float(dist[: line // 100 + 1].sum())
            team += [1 - under, under]
    out["team totals"] = team
    return out


def ours_markets(
    gain: np.ndarray, loss: np.ndarray, effective: np.ndarray
) -> dict[str, list[float]]:
    """The same numbers from our layout (column order is the layout's, see football_markets)."""
    g, lo, e = gain.tolist(), loss.tolist(), effective.tolist()
    out: dict[str, list[float]] = {"1X2": g[0:3] + lo[0:3], "double chance": g[3:6]}
    out["draw no bet"] = e[6:8]
    first = 8
    totals = []
    for k in range(len(TOTAL_LINES_E2)):
        totals += [g[first + 2 * k], g[first + 2 * k + 1]]
    out["totals"] = totals
    first += 2 * len(TOTAL_LINES_E2)
    out["btts"] = g[first : first + 2]
    first += 2
    handicap = []
    for k in range(len(HANDICAP_LINES_E2)):
        c = first + 2 * k
        handicap += [g[c], lo[c], g[c + 1], lo[c + 1]]
    out["asian handicap"] = handicap
    first += 2 * len(HANDICAP_LINES_E2)
    out["correct score"] = g[first : first + 36]
    first += 37
    out["team totals"] = g[first : first + 4 * len(TEAM_TOTAL_LINES_E2)]
    return out


def probability_section(model: pb.models.DixonColesGoalModel, rows: list) -> None:  # type: ignore[type-arg]
    home = [r.home for r in rows]
    away = [r.away for r in rows]
    home_rate, away_rate, rho = rates_from(model, home, away)
    grids = football.dixon_coles_grids(home_rate, away_rate, rho, MAX_GOALS)
    _, gain, loss = gains_and_losses(grids)
    _, effective = market_table(grids)
    worst: dict[str, float] = {}
    grid_diff = 0.0
    for i, (h, a) in enumerate(zip(home, away, strict=True)):
        theirs = model.predict(h, a, max_goals=MAX_GOALS + 1)
        grid_diff = max(grid_diff, float(np.abs(theirs.grid - grids[i]).max()))
        mine = ours_markets(gain[i], loss[i], effective[i])
        for key, values in pb_markets(theirs).items():
            diff = float(np.abs(np.array(values) - np.array(mine[key])).max())
            worst[key] = max(worst.get(key, 0.0), diff)
    print()
    print(f"## (b) same parameters (penaltyblog's fit), {len(rows)} fixtures, grids 0..{MAX_GOALS}")
    print(f"max |grid difference|: {grid_diff:.1e}")
    print("| market | values compared per fixture | max abs difference | within 1e-9 |")
    print("|---|---|---|---|")
    sample = pb_markets(model.predict(home[0], away[0], max_goals=MAX_GOALS + 1))
    for key, diff in worst.items():
        print(f"| {key} | {len(sample[key])} | {diff:.1e} | {'yes' if diff <= 1e-9 else 'NO'} |")


def speed_section(model: pb.models.DixonColesGoalModel, fixtures: int, repeat: int) -> None:  # type: ignore[type-arg]
    rng = np.random.default_rng(20240520)
    teams = list(model.teams)
    pairs = [tuple(rng.choice(len(teams), 2, replace=False)) for _ in range(fixtures)]
    home = [teams[h] for h, _ in pairs]
    away = [teams[a] for _, a in pairs]

    def penaltyblog_full() -> None:
        for h, a in zip(home, away, strict=True):
            pb_markets(model.predict(h, a, max_goals=MAX_GOALS + 1))

    def penaltyblog_brief() -> None:
        # The brief's reference set: grid + 1X2, O/U 2.5, BTTS, AH -0.5, correct score.
        for h, a in zip(home, away, strict=True):
            g = model.predict(h, a, max_goals=MAX_GOALS + 1)
            _ = (g.home_win, g.draw, g.away_win, g.total_goals("over", 2.5), g.btts_yes)
            _ = (
                g.asian_handicap("home", -0.5),
                [g.exact_score(i, j) for i in range(6) for j in range(6)],
            )

    index = {t: i for i, t in enumerate(teams)}
    n = len(teams)
    params = np.asarray(model._params)
    h_idx = np.array([index[t] for t in home])
    a_idx = np.array([index[t] for t in away])

    def ours_vectorised() -> None:
        # From team indices to every selection's effective probability for all fixtures.
        home_rate = np.exp(params[h_idx] + params[n + a_idx] + params[-2])
        away_rate = np.exp(params[a_idx] + params[n + h_idx])
        market_table(football.dixon_coles_grids(home_rate, away_rate, params[-1], MAX_GOALS))

    def ours_objects() -> None:
        # The replica's per-fixture path: rates, grid, MarketProbabilities for every market.
        for h, a in zip(h_idx.tolist(), a_idx.tolist(), strict=True):
            rates = football.expected_goals(
                params[h], params[n + h], params[a], params[n + a], params[-2], False
            )
            grid = football.dixon_coles_grid(rates[0], rates[1], params[-1], MAX_GOALS)
            football_markets(grid, teams[h], teams[a])

    def ours_numbers_per_fixture() -> None:
        # Per fixture without batching: rates, grid, every selection's probability (no objects).
        for h, a in zip(h_idx.tolist(), a_idx.tolist(), strict=True):
            rates = football.expected_goals(
                params[h], params[n + h], params[a], params[n + a], params[-2], False
            )
            grid = football.dixon_coles_grid(rates[0], rates[1], params[-1], MAX_GOALS)
            market_table(grid.probabilities)

    pb_full = median_time(penaltyblog_full, max(1, repeat // 3))
    pb_brief = median_time(penaltyblog_brief, max(1, repeat // 3))
    vectorised = median_time(ours_vectorised, repeat)
    objects = median_time(ours_objects, max(1, repeat // 3))
    numbers = median_time(ours_numbers_per_fixture, max(1, repeat // 3))
    _, table = market_table(football.dixon_coles_grids(np.ones(1), np.ones(1), 0.0, MAX_GOALS))
    print()
    print(
        f"## (c) pricing {fixtures} fixtures, full market set ({table.shape[1]} selections "
        "per fixture in ours)"
    )
    print("| path | total | per fixture | penaltyblog full / this |")
    print("|---|---|---|---|")
    for label, took in (
        ("penaltyblog: predict + every market call, per fixture", pb_full),
        ("penaltyblog: predict + brief's set (1X2, O/U 2.5, BTTS, AH -0.5, CS)", pb_brief),
        ("ours: batch grids + one matrix product (all selections)", vectorised),
        ("ours: per fixture, grid + every selection's probability", numbers),
        ("ours: per fixture, grid + list[MarketProbabilities] (the replica's path)", objects),
    ):
        print(
            f"| {label} | {took * 1e3:.1f} ms | {took / fixtures * 1e6:.1f} us | "
            f"{pb_full / took:.1f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="betmesh vs penaltyblog, football")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--fixtures", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    rows, digest = read_results(args.results)
    print(f"penaltyblog {pb.__version__}, numpy {np.__version__}; {args.results} ({digest})")
    print()
    model = fit_section(rows, args.repeat)
    probability_section(model, rows)
    speed_section(model, args.fixtures, args.repeat)


if __name__ == "__main__":
    main()
