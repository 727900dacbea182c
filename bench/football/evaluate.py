"""Walk-forward evaluation of football 1X2 quotes on any results file of the EPL CSV's shape.

The season is replayed in blocks of `--refit-days`: at the first unscored match's kick-off a
model is fitted on every match that kicked off strictly before it (through the production path:
`fit_football_snapshot` -> ModelSnapshot -> `expected_goals` -> `dixon_coles_grid`), then all
matches in the block are scored with it. Scoring starts at match `--start` (1-based, default
101). Beside our model: plain Dixon-Coles (results only, no time decay) in the same harness, and
the margin-removed closing market (avg_* columns, multiplicative).

    .venv/bin/python bench/football/evaluate.py [--results FILE] [--sensitivity]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT, ROOT / "gen" / "python"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from betmesh.quotes.v1 import snapshot_pb2  # noqa: E402

from services.quotes.domain.football import dixon_coles_grid, expected_goals  # noqa: E402
from services.quotes.fitting.data import MatchRow, participant_id, read_results  # noqa: E402
from services.quotes.fitting.market_implied import remove_margin  # noqa: E402
from services.quotes.fitting.snapshot import (  # noqa: E402
    DEFAULT_MARKET_WEIGHT,
    DEFAULT_XI,
    METHOD_DIXON_COLES,
    METHOD_MARKET_XG,
    fit_football_snapshot,
)

DEFAULT_RESULTS = Path("/work/shared/data/football/epl_2023_24.csv")


@dataclass(frozen=True)
class Config:
    label: str
    method: str
    xi: float
    market_weight: float = DEFAULT_MARKET_WEIGHT


def outcome(row: MatchRow) -> int:
    return 0 if row.home_goals > row.away_goals else (1 if row.home_goals == row.away_goals else 2)


def rps(p: np.ndarray, result: np.ndarray) -> np.ndarray:
    observed = np.zeros_like(p)
    observed[np.arange(len(p)), result] = 1.0
    cumulative = np.cumsum(p, 1)[:, :2] - np.cumsum(observed, 1)[:, :2]
    scores: np.ndarray = (cumulative**2).sum(1) / 2
    return scores


def log_loss(p: np.ndarray, result: np.ndarray) -> np.ndarray:
    chosen = np.clip(p[np.arange(len(p)), result], 1e-15, 1.0)
    losses: np.ndarray = -np.log(chosen)
    return losses


def predicted_result(
    params: snapshot_pb2.FootballParameters,
    teams: Mapping[str, snapshot_pb2.TeamRating],
    row: MatchRow,
) -> tuple[float, float, float]:
    """The 1X2 probabilities of a match from one fit (`teams`: its ratings by participant)."""
    home, away = teams.get(participant_id(row.home)), teams.get(participant_id(row.away))
    # A team with no past match (promoted, no history shipped) is rated average (0, 0).
    rates = expected_goals(
        home.attack if home else 0.0,
        home.defence if home else 0.0,
        away.attack if away else 0.0,
        away.defence if away else 0.0,
        params.home_advantage,
        neutral=False,
    )
    grid = dixon_coles_grid(rates[0], rates[1], params.rho, params.max_goals)
    return grid.match_result()


def walk_forward(
    rows: list[MatchRow], config: Config, start: int, refit_days: float, digest: str
) -> tuple[np.ndarray, int]:
    """1X2 probabilities for rows[start:], and the number of refits."""
    probabilities = np.zeros((len(rows) - start, 3))
    i, refits = start, 0
    while i < len(rows):
        as_of = rows[i].kickoff
        snapshot = fit_football_snapshot(
            rows,
            as_of,
            config.xi,
            method=config.method,
            market_weight=config.market_weight,
            training_data_digest=digest,
        )
        refits += 1
        params = snapshot.football
        teams = {t.participant_id: t for t in params.teams}
        end = as_of + timedelta(days=refit_days)
        while i < len(rows) and rows[i].kickoff < end:
            probabilities[i - start] = predicted_result(params, teams, rows[i])
            i += 1
    return probabilities, refits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--start", type=int, default=101, help="first scored match, 1-based")
    parser.add_argument("--refit-days", type=float, default=7.0)
    parser.add_argument("--xi", type=float, default=DEFAULT_XI)
    parser.add_argument("--market-weight", type=float, default=DEFAULT_MARKET_WEIGHT)
    parser.add_argument("--sensitivity", action="store_true", help="also a small xi/weight grid")
    args = parser.parse_args()

    rows, digest = read_results(args.results)
    start = args.start - 1
    if not 0 < start < len(rows):
        raise SystemExit(f"--start must be within 2..{len(rows)}")
    scored = rows[start:]
    results = np.array([outcome(r) for r in scored])
    configs = [
        Config("plain Dixon-Coles (results only, xi=0)", METHOD_DIXON_COLES, 0.0),
        Config(f"Dixon-Coles, time decay xi={args.xi}", METHOD_DIXON_COLES, args.xi),
        Config(
            f"ours: market-implied xG ratings (weight {args.market_weight}, xi={args.xi}) + DC rho",
            METHOD_MARKET_XG,
            args.xi,
            args.market_weight,
        ),
    ]
    if args.sensitivity:
        for xi in (0.0, 0.0025, 0.005, 0.01):
            for weight in (0.5, 0.8, 1.0):
                configs.append(
                    Config(
                        f"sensitivity: xG weight {weight}, xi={xi}", METHOD_MARKET_XG, xi, weight
                    )
                )

    print(f"file: {args.results} ({digest})")
    print(
        f"scored: matches {args.start}..{len(rows)} (n={len(scored)}), "
        f"{scored[0].kickoff:%Y-%m-%d} to {scored[-1].kickoff:%Y-%m-%d}; "
        f"refit every {args.refit_days:g} days on matches kicked off before the block"
    )
    print()
    print("| model | RPS (1X2) | log-loss (1X2) | refits | fit+score time |")
    print("|---|---|---|---|---|")
    for config in configs:
        began = time.perf_counter()
        p, refits = walk_forward(rows, config, start, args.refit_days, digest)
        took = time.perf_counter() - began
        print(
            f"| {config.label} | {rps(p, results).mean():.4f} | "
            f"{log_loss(p, results).mean():.4f} | {refits} | {took:.1f} s |"
        )

    priced = [r.odds_1x2 is not None for r in scored]
    odds = np.array([r.odds_1x2 if r.odds_1x2 else (3.0, 3.0, 3.0) for r in scored])
    market = remove_margin(odds)
    mask = np.array(priced)
    suffix = "" if mask.all() else f" (n={int(mask.sum())} with odds)"
    print(
        f"| closing market average, margin removed (multiplicative){suffix} | "
        f"{rps(market[mask], results[mask]).mean():.4f} | "
        f"{log_loss(market[mask], results[mask]).mean():.4f} | | |"
    )
    base = np.bincount(results, minlength=3) / len(results)
    print(
        f"| hindsight base rates | {rps(np.tile(base, (len(results), 1)), results).mean():.4f} "
        f"| {log_loss(np.tile(base, (len(results), 1)), results).mean():.4f} | | |"
    )
    if not math.isfinite(float(rps(market[mask], results[mask]).mean())):
        raise SystemExit("market odds unusable")


if __name__ == "__main__":
    main()
