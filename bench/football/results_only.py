"""Can the results-only leagues reach RPS <= 0.195? Time decay, shrinkage and per-league home
advantage chosen without look-ahead, then measured on the leagues.

    .venv/bin/python -m bench.football.results_only [--xi 0.001 0.0025 0.005 0.01] \
        [--ridge 0 3 5 10 20] [--refit-days 7]

1. Tuning set: EPL 2023/24 made a results-only first season (its closing odds hidden, EPL
   2022-23 not read), fitted jointly with the other leagues' matches before each block, scored
   from its 101st match: the conditions of the four results-only league-seasons, on a season
   that is not one of them (but rated on goals alone: its file has no shots on target). Every
   (xi, ridge) of the grid is scored there (ridge: the fit's L2 penalty on attack and defence,
   shrinking a team with few matches towards average).
2. The choice (the tuning set's best) and the production defaults are then run unchanged on
   every shipped league-season through the production walk-forward (bench.football.leagues'
   protocol: one joint fit, weekly refits, each league-season from its 101st match); and the
   production model fitted league by league (each league its own home advantage and rho).
No evaluation league's result picks anything; a priced match's own odds are never read.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time

import numpy as np

from bench.football.evaluate import outcome, rps
from bench.football.leagues import League, scored_indices, walk_forward_params
from services.quotes.fitting.data import MatchRow
from services.quotes.fitting.football import football_rows
from services.quotes.fitting.snapshot import DEFAULT_RIDGE, DEFAULT_XI

TUNING: League = ("Premier League", "2023-24")
BEFORE_TUNING: League = ("Premier League", "2022-23")


def tuning_rows(rows: list[MatchRow]) -> list[MatchRow]:
    """EPL 2023/24 as a results-only first season; every other league as shipped."""
    out = []
    for row in rows:
        league = (row.competition, row.season)
        if league == BEFORE_TUNING:
            continue
        hidden = dataclasses.replace(row, odds_1x2=None, odds_total_2_5=None)
        out.append(hidden if league == TUNING else row)
    return out


def scores(
    rows: list[MatchRow], leagues: dict[League, list[int]], probabilities: dict[int, np.ndarray]
) -> dict[League, float]:
    out = {}
    for league, found in leagues.items():
        results = np.array([outcome(rows[i]) for i in found])
        out[league] = float(rps(np.array([probabilities[i] for i in found]), results).mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.football.results_only")
    parser.add_argument("--xi", type=float, nargs="+", default=[0.001, 0.0025, 0.005, 0.01])
    parser.add_argument("--ridge", type=float, nargs="+", default=[0.0, 3.0, 5.0, 10.0, 20.0])
    parser.add_argument("--refit-days", type=float, default=7.0)
    args = parser.parse_args()
    rows, _ = football_rows()

    tuning = tuning_rows(rows)
    tuned = {TUNING: scored_indices(tuning, 101)[TUNING]}
    print(f"1. tuning set: {TUNING[0]} {TUNING[1]} as a results-only first season")
    print("| xi per day | " + " | ".join(f"ridge {r:g}" for r in args.ridge) + " |")
    print("|---|" + "---|" * len(args.ridge))
    grid: dict[tuple[float, float], float] = {}
    for xi in args.xi:
        cells = []
        for ridge in args.ridge:
            found = tuned[TUNING]
            p = walk_forward_params(tuning, found, args.refit_days, xi, ridge)
            grid[(xi, ridge)] = scores(tuning, tuned, p)[TUNING]
            cells.append(f"{grid[(xi, ridge)]:.4f}")
        print(f"| {xi:g} | " + " | ".join(cells) + " |")
    chosen = min(grid, key=lambda k: (grid[k], k))
    print(f"chosen on the tuning set: xi {chosen[0]:g}, ridge {chosen[1]:g}")
    print()

    leagues = scored_indices(rows, 101)
    every = [i for found in leagues.values() for i in found]
    columns: dict[str, dict[League, float]] = {}
    for label, (xi, ridge) in (
        (f"production (xi {DEFAULT_XI:g}, ridge {DEFAULT_RIDGE:g})", (DEFAULT_XI, DEFAULT_RIDGE)),
        (f"tuning set's choice (xi {chosen[0]:g}, ridge {chosen[1]:g})", chosen),
    ):
        began = time.perf_counter()
        p = walk_forward_params(rows, every, args.refit_days, xi, ridge)
        columns[label] = scores(rows, leagues, p)
        print(f"({label}: {time.perf_counter() - began:.0f} s)")
    per_league: dict[League, float] = {}
    for competition, group in itertools.groupby(sorted(leagues), key=lambda k: k[0]):
        members = list(group)
        sub = [r for r in rows if r.competition == competition]
        position = {id(r): k for k, r in enumerate(sub)}
        found_sub = {lg: [position[id(rows[i])] for i in leagues[lg]] for lg in members}
        p = walk_forward_params(
            sub, [i for f in found_sub.values() for i in f], args.refit_days, DEFAULT_XI, 0.0
        )
        per_league.update(scores(sub, found_sub, p))
    columns["production, fitted league by league (own home advantage and rho)"] = per_league
    print()
    print("2. every shipped league-season, walk-forward RPS from its 101st match")
    print("| league | season | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for league in leagues:
        print(
            f"| {league[0]} | {league[1]} | "
            + " | ".join(f"{c[league]:.4f}" for c in columns.values())
            + " |"
        )


if __name__ == "__main__":
    main()
