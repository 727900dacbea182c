"""Football quality on every shipped league, and the refit-to-priced time of a new snapshot.

    .venv/bin/python -m bench.football.leagues [--start 101] [--refit-days 7]

1. Walk-forward 1X2 quality per league-season of `data/football/` (the production fit: one
   snapshot over every shipped league, `fitting.football.football_rows` + `fit_football_snapshot`,
   priced through `expected_goals` -> `dixon_coles_grid`). The shipped history is replayed in
   blocks of `--refit-days`: at the first unscored match's kick-off a snapshot is fitted on every
   match (of every league) that kicked off strictly before it, and every scored match of the
   block is priced with it. A league-season is scored from its `--start`-th match (default 101,
   as in docs/benchmarks/quotes-football.md; before that a results-only league has ~10 rounds
   of data). A priced match's own odds are never read; past matches' closing odds are.
   References in the same run: the margin-removed closing market where the data has odds (EPL
   2023/24 only), hindsight base rates (each league-season's own H/D/A shares of the scored
   matches: a reference that knows the future frequencies), and a results-only Dixon-Coles
   (xi = 0.005) through the same harness; `--sensitivity W ...` adds the model at other
   shots-on-target weights (0: a match without odds rated on its goals alone).
2. Fit time of the shipped snapshot (median of 5), and refit-to-priced: from the shipped files
   to a new snapshot's canonical bytes and hash, then a week of fixtures (one round of each
   league: 39 fixtures) priced with the full market set by both football engines (the replicas'
   path, in process); baseline in the same run: pricing that week from a snapshot already
   fitted. The mesh adds the store write, the canary's review and consensus to this.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from bench.football.evaluate import log_loss, outcome, predicted_result, rps
from services.quotes.domain.engines import ENGINES
from services.quotes.domain.pricing import price_fixture
from services.quotes.domain.snapshots import snapshot_bytes, snapshot_hash
from services.quotes.fitting.data import MatchRow, participant_id
from services.quotes.fitting.football import (
    fit_football,
    fit_shipped,
    football_rows,
    teams_by_competition,
)
from services.quotes.fitting.market_implied import remove_margin
from services.quotes.fitting.snapshot import (
    DEFAULT_SHOTS_WEIGHT,
    DEFAULT_XI,
    METHOD_DIXON_COLES,
    METHOD_MARKET_XG,
    fit_football_snapshot,
)

League = tuple[str, str]  # competition, season


def scored_indices(rows: list[MatchRow], start: int) -> dict[League, list[int]]:
    by_league: dict[League, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_league[(row.competition, row.season)].append(i)
    return {league: found[start - 1 :] for league, found in sorted(by_league.items())}


def walk_forward(
    rows: list[MatchRow],
    scored: list[int],
    method: str,
    refit_days: float,
    digest: str,
    shots_weight: float = DEFAULT_SHOTS_WEIGHT,
) -> tuple[dict[int, np.ndarray], int, float]:
    """1X2 probabilities of each scored row, the number of fits and the seconds they took."""
    probabilities: dict[int, np.ndarray] = {}
    order = sorted(scored, key=lambda i: rows[i].kickoff)
    k, fits, fitting = 0, 0, 0.0
    while k < len(order):
        as_of = rows[order[k]].kickoff
        began = time.perf_counter()
        snapshot = fit_football_snapshot(
            rows,
            as_of,
            DEFAULT_XI,
            method=method,
            training_data_digest=digest,
            shots_weight=shots_weight,
        )
        fitting += time.perf_counter() - began
        fits += 1
        k = _predict_until(
            rows, order, k, as_of + timedelta(days=refit_days), snapshot.football, probabilities
        )
    return probabilities, fits, fitting


def _predict_until(
    rows: list[MatchRow],
    order: list[int],
    k: int,
    end: datetime,
    params: snapshot_pb2.FootballParameters,
    probabilities: dict[int, np.ndarray],
) -> int:
    """Predicts the ordered rows from `k` that kick off before `end` with one fit's parameters;
    returns the index of the first row left for the next fit."""
    teams = {t.participant_id: t for t in params.teams}
    while k < len(order) and rows[order[k]].kickoff < end:
        probabilities[order[k]] = np.array(predicted_result(params, teams, rows[order[k]]))
        k += 1
    return k


def walk_forward_params(
    rows: list[MatchRow], scored: list[int], refit_days: float, xi: float, ridge: float
) -> dict[int, np.ndarray]:
    """The production model's walk-forward (as `walk_forward`) at other time decay and ridge."""
    probabilities: dict[int, np.ndarray] = {}
    order = sorted(scored, key=lambda i: rows[i].kickoff)
    k = 0
    while k < len(order):
        as_of = rows[order[k]].kickoff
        params = fit_football_snapshot(
            rows, as_of, xi, method=METHOD_MARKET_XG, ridge=ridge
        ).football
        k = _predict_until(
            rows, order, k, as_of + timedelta(days=refit_days), params, probabilities
        )
    return probabilities


def quality(args: argparse.Namespace) -> None:
    rows, digest = football_rows()
    leagues = scored_indices(rows, args.start)
    every = [i for found in leagues.values() for i in found]
    ours, fits, fit_seconds = walk_forward(rows, every, METHOD_MARKET_XG, args.refit_days, digest)
    plain, _, _ = walk_forward(rows, every, METHOD_DIXON_COLES, args.refit_days, digest)
    variants = {
        weight: walk_forward(rows, every, METHOD_MARKET_XG, args.refit_days, digest, weight)[0]
        for weight in (args.sensitivity or [])
    }
    print(f"inputs: data/football ({digest}), {len(rows)} matches")
    print(
        f"walk-forward: {fits} refits every {args.refit_days:g} days, each on every match of "
        f"every league before the block ({fit_seconds:.1f} s fitting in all, "
        f"{1000 * fit_seconds / fits:.0f} ms a fit)"
    )
    print()
    print(
        "| league | season | scored (from match) | ours RPS | ours log-loss | "
        "results-only DC RPS | closing market RPS | market log-loss | "
        "base rates RPS | base log-loss | ours <= 0.195 |"
        + "".join(f" shots weight {w:g} RPS |" for w in variants)
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(variants))
    for (competition, season), found in leagues.items():
        results = np.array([outcome(rows[i]) for i in found])
        p = np.array([ours[i] for i in found])
        q = np.array([plain[i] for i in found])
        base = np.tile(np.bincount(results, minlength=3) / len(results), (len(results), 1))
        priced = [i for i in found if rows[i].odds_1x2 is not None]
        if len(priced) == len(found):
            market = remove_margin(np.array([rows[i].odds_1x2 for i in found]))
            market_rps = f"{rps(market, results).mean():.4f}"
            market_ll = f"{log_loss(market, results).mean():.4f}"
        else:
            market_rps = market_ll = "no odds shipped"
        score = rps(p, results).mean()
        print(
            f"| {competition} | {season} | {len(found)} ({args.start}) | {score:.4f} | "
            f"{log_loss(p, results).mean():.4f} | {rps(q, results).mean():.4f} | {market_rps} | "
            f"{market_ll} | {rps(base, results).mean():.4f} | {log_loss(base, results).mean():.4f}"
            f" | {'yes' if score <= 0.195 else 'no'} |"
            + "".join(
                f" {rps(np.array([v[i] for i in found]), results).mean():.4f} |"
                for v in variants.values()
            )
        )


def week_of_fixtures() -> list[sport_pb2.Fixture]:
    """One round of each shipped league: every team once (its latest season's teams, paired
    in order)."""
    fixtures = []
    for competition, teams in teams_by_competition().items():
        for k in range(0, len(teams) - 1, 2):
            (home, home_name), (away, away_name) = teams[k], teams[k + 1]
            fixtures.append(
                sport_pb2.Fixture(
                    fixture_id=f"week-{participant_id(competition)[3:]}-{k // 2}",
                    sport=sport_pb2.SPORT_FOOTBALL,
                    competition_name=competition,
                    home=sport_pb2.Participant(participant_id=home, name=home_name),
                    away=sport_pb2.Participant(participant_id=away, name=away_name),
                )
            )
    return fixtures


def price_week(snapshot_bytes_: bytes, key: str, fixtures: list[sport_pb2.Fixture]) -> int:
    from betmesh.quotes.v1 import snapshot_pb2

    snapshot = snapshot_pb2.ModelSnapshot()
    snapshot.ParseFromString(snapshot_bytes_)
    markets = 0
    for engine in ENGINES[sport_pb2.SPORT_FOOTBALL]:
        for fixture in fixtures:
            quote_set = price_fixture(
                fixture, snapshot, key, [], None, sport_pb2.SPORT_FOOTBALL, engine
            )
            markets += len(quote_set.markets)
    return markets


def timing(repeats: int) -> None:
    fixtures = week_of_fixtures()
    fit_times, refit_to_priced, baseline = [], [], []
    known = fit_shipped()
    known_bytes, known_key = snapshot_bytes(known), snapshot_hash(known)
    markets = 0
    for _ in range(repeats):
        began = time.perf_counter()
        fit_shipped()
        fit_times.append(time.perf_counter() - began)

        began = time.perf_counter()
        snapshot = fit_football()
        data = snapshot_bytes(snapshot)
        markets = price_week(data, snapshot_hash(snapshot), fixtures)
        refit_to_priced.append(time.perf_counter() - began)

        began = time.perf_counter()
        price_week(known_bytes, known_key, fixtures)
        baseline.append(time.perf_counter() - began)
    engines = len(ENGINES[sport_pb2.SPORT_FOOTBALL])
    print()
    print(f"timing: median of {repeats} runs, {len(fixtures)} fixtures x {engines} engines")
    print()
    print("| step | median | per fixture and engine |")
    print("|---|---|---|")
    print(f"| fit_shipped() (1,826 matches, 81 teams) | {statistics.median(fit_times):.2f} s | |")
    per = len(fixtures) * engines
    for label, values in (
        ("baseline: price the week from a fitted snapshot", baseline),
        ("refit -> canonical bytes + hash -> price the week", refit_to_priced),
    ):
        median = statistics.median(values)
        print(f"| {label} | {median:.2f} s | {1000 * median / per:.1f} ms |")
    print(f"({markets} markets priced per run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start", type=int, default=101)
    parser.add_argument("--refit-days", type=float, default=7.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--sensitivity",
        type=float,
        nargs="*",
        help="also score these shots-on-target weights (e.g. 0 0.5 1)",
    )
    args = parser.parse_args()
    quality(args)
    timing(args.repeats)


if __name__ == "__main__":
    main()
