"""Walk-forward quality of the basketball model on the shipped NBA 2022-23 season.

Every game day is predicted by a model fitted on the games of the days before it only (the
production path: `services.quotes.fitting.basketball.fit`, then the domain's own pricing
functions `basketball.expectation`, `final_margin` and `discrete_normal`). Scored:

- moneyline, against FiveThirtyEight's pre-game Elo and RAPTOR home-win probabilities in the
  file (the best reference the data carries: no redistributable odds exist) and two base
  rates (0.5, and the home-win share of the games played so far): log-loss and Brier;
- totals: over/under at the model's own line (the x.5 line nearest its expected total, the
  line the book centres its totals on): observed over share, Brier and log-loss against a coin;
  the PIT of the observed total (uniform if the total's distribution is calibrated) and the
  coverage of its central 50/80/90% intervals;
- the fit's time (one full-season fit, and the whole walk-forward), and refit to priced: reading
  the file, the fit and its snapshot, then a week of basketball fixtures (`--week-fixtures`, a
  third of the gateway bench's 2,100-fixture week) priced in full through `price_fixture` +
  canonical bytes + digest, against the same week priced from the hand-set demo snapshot
  without a fit (the same run).

Scoring starts on the first day with at least `--start-games` games before it (default 200,
about three weeks): before that 538 carries last season's ratings and we know nothing.
`--all` also scores from the second day.

    .venv/bin/python -m bench.quotes.basketball_quality [--sensitivity] [--all]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby

import numpy as np

from bench.quotes.week import price_week
from services.quotes.domain import basketball
from services.quotes.domain.markets import centre_line_e2
from services.quotes.fitting.basketball import (
    DEFAULT_RIDGE,
    DEFAULT_XI,
    SHIPPED_DATA,
    BasketballFit,
    Game,
    fit,
    fit_basketball_snapshot,
    read_games,
)
from tests.support.demo_snapshots import demo_basketball_snapshot

Fitter = Callable[[Sequence[Game], date], BasketballFit]
EPSILON = 1e-12
INTERVALS = (0.5, 0.8, 0.9)


@dataclass(frozen=True)
class Prediction:
    game: Game
    p_home: float
    total_mean: float
    total_sigma: float
    line: float  # the model's total line (x.5)
    p_over: float
    pit: float  # mid-PIT of the observed total under the model's total distribution
    base_home: float  # home-win share of the games before the day (Laplace-smoothed)
    base_line: float  # x.5 line at the mean total of the games before the day
    p_over_base: float  # the model's P(over base_line)

    @property
    def home_won(self) -> bool:
        return self.game.home_points > self.game.away_points

    @property
    def over(self) -> bool:
        return self.game.home_points + self.game.away_points > self.line

    @property
    def over_base(self) -> bool:
        return self.game.home_points + self.game.away_points > self.base_line


def predict(model: BasketballFit, game: Game, base_home: float, base_total: float) -> Prediction:
    home_attack, home_defence = model.rating(game.home)
    away_attack, away_defence = model.rating(game.away)
    e = basketball.expectation(
        home_attack,
        home_defence,
        away_attack,
        away_defence,
        model.home_advantage,
        model.mean_total,
        model.margin_sigma,
        model.total_sigma,
        game.neutral,
    )
    p_home = sum(m for k, m in basketball.final_margin(e).items() if k > 0)
    total = basketball.discrete_normal(e.total, e.total_sigma)
    line_e2 = centre_line_e2(e.total)
    observed = game.home_points + game.away_points
    p_over = sum(m for k, m in total.items() if k * 100 > line_e2)
    below = sum(m for k, m in total.items() if k < observed)
    pit = below + 0.5 * total.get(observed, 0.0)
    base_e2 = centre_line_e2(base_total)
    p_over_base = sum(m for k, m in total.items() if k * 100 > base_e2)
    return Prediction(
        game,
        p_home,
        e.total,
        e.total_sigma,
        line_e2 / 100,
        p_over,
        pit,
        base_home,
        base_e2 / 100,
        p_over_base,
    )


def walk_forward(games: Sequence[Game], fitter: Fitter, start_games: int = 200) -> list[Prediction]:
    """Each day's games predicted from a fit on the earlier days' games only: the fitter is
    handed nothing else, so a later result cannot reach a prediction."""
    predictions: list[Prediction] = []
    ordered = sorted(games, key=lambda g: g.day)
    before: list[Game] = []
    for day, todays in groupby(ordered, key=lambda g: g.day):
        day_games = list(todays)
        if len(before) >= max(1, start_games):
            model = fitter(list(before), day)
            home_wins = sum(g.home_points > g.away_points for g in before if not g.neutral)
            played = sum(not g.neutral for g in before)
            base = (home_wins + 1) / (played + 2)
            base_total = sum(g.home_points + g.away_points for g in before) / len(before)
            predictions.extend(predict(model, g, base, base_total) for g in day_games)
        before.extend(day_games)
    return predictions


def log_loss(p: np.ndarray, outcome: np.ndarray) -> float:
    q = np.clip(p, EPSILON, 1 - EPSILON)
    return float(-np.mean(outcome * np.log(q) + (1 - outcome) * np.log(1 - q)))


def brier(p: np.ndarray, outcome: np.ndarray) -> float:
    return float(np.mean((p - outcome) ** 2))


@dataclass(frozen=True)
class Report:
    games: int
    # label -> (log-loss, Brier), on the games every reference covers
    moneyline: dict[str, tuple[float, float]]
    over_share: float
    totals_model: tuple[float, float]  # (log-loss, Brier) of over at the model's line
    totals_coin: tuple[float, float]
    # over/under at the league's mean total so far: the model's P(over) against a coin's
    base_over_share: float
    base_line_model: tuple[float, float]
    base_line_coin: tuple[float, float]
    coverage: dict[float, float]  # central interval -> share of totals inside it
    pit_deciles: list[float]  # share of PIT values in each tenth
    total_bias: float  # mean(observed - expected total)
    total_rmse: float
    base_total_rmse: float  # of the league's mean total so far as the prediction
    mean_total_sigma: float


def score(predictions: Sequence[Prediction]) -> Report:
    covered = [
        p
        for p in predictions
        if p.game.elo_prob_home is not None and p.game.raptor_prob_home is not None
    ]
    won = np.array([p.home_won for p in covered], dtype=np.float64)
    columns = {
        "model": np.array([p.p_home for p in covered]),
        "538 Elo": np.array([p.game.elo_prob_home for p in covered], dtype=np.float64),
        "538 RAPTOR": np.array([p.game.raptor_prob_home for p in covered], dtype=np.float64),
        "base rate (home share so far)": np.array([p.base_home for p in covered]),
        "coin (0.5)": np.full(len(covered), 0.5),
    }
    moneyline = {k: (log_loss(v, won), brier(v, won)) for k, v in columns.items()}
    over = np.array([p.over for p in predictions], dtype=np.float64)
    p_over = np.array([p.p_over for p in predictions])
    pit = np.array([p.pit for p in predictions])
    coverage = {c: float(np.mean(np.abs(pit - 0.5) <= c / 2)) for c in INTERVALS}
    deciles = np.histogram(pit, bins=10, range=(0.0, 1.0))[0] / max(1, len(pit))
    observed = np.array([p.game.home_points + p.game.away_points for p in predictions], float)
    expected = np.array([p.total_mean for p in predictions])
    half = np.full(len(predictions), 0.5)
    over_base = np.array([p.over_base for p in predictions], dtype=np.float64)
    p_over_base = np.array([p.p_over_base for p in predictions])
    base_lines = np.array([p.base_line for p in predictions])
    return Report(
        games=len(predictions),
        moneyline=moneyline,
        over_share=float(over.mean()),
        totals_model=(log_loss(p_over, over), brier(p_over, over)),
        totals_coin=(log_loss(half, over), brier(half, over)),
        base_over_share=float(over_base.mean()),
        base_line_model=(log_loss(p_over_base, over_base), brier(p_over_base, over_base)),
        base_line_coin=(log_loss(half, over_base), brier(half, over_base)),
        coverage=coverage,
        pit_deciles=[float(d) for d in deciles],
        total_bias=float(np.mean(observed - expected)),
        total_rmse=float(np.sqrt(np.mean((observed - expected) ** 2))),
        base_total_rmse=float(np.sqrt(np.mean((observed - base_lines + 0.5) ** 2))),
        mean_total_sigma=float(np.mean([p.total_sigma for p in predictions])),
    )


def failures(report: Report) -> list[str]:
    """What makes the model unfit to price: worse than the base rate on the moneyline, or totals
    whose distribution does not cover what happens. Empty when it passes."""
    found = []
    model = report.moneyline["model"]
    base = report.moneyline["base rate (home share so far)"]
    if not (model[0] < base[0] and model[1] < base[1]):
        found.append(f"moneyline log-loss/Brier {model} not below the base rate's {base}")
    for interval, share in report.coverage.items():
        # Binomial noise on ~1,000 games is about 1.5 points; 6 points is miscalibration.
        if abs(share - interval) > 0.06:
            found.append(f"{interval:.0%} total interval covers {share:.1%}")
    if abs(report.over_share - 0.5) > 0.06:
        found.append(f"over wins {report.over_share:.1%} at the model's own line")
    if report.base_line_model[1] >= report.base_line_coin[1]:
        found.append(
            f"totals Brier at the league-average line {report.base_line_model[1]:.4f} "
            f"not below a coin's {report.base_line_coin[1]:.4f}"
        )
    return found


def print_report(title: str, report: Report) -> None:
    print(f"\n{title}: {report.games} games")
    print("  moneyline            log-loss   Brier")
    for label, (ll, br) in report.moneyline.items():
        print(f"    {label:<30} {ll:.4f}  {br:.4f}")
    print(
        f"  totals at the model's line: over {report.over_share:.1%}; "
        f"log-loss {report.totals_model[0]:.4f} / Brier {report.totals_model[1]:.4f} "
        f"(coin {report.totals_coin[0]:.4f} / {report.totals_coin[1]:.4f})"
    )
    print(
        f"  totals at the league's mean total so far: over {report.base_over_share:.1%}; "
        f"log-loss {report.base_line_model[0]:.4f} / Brier {report.base_line_model[1]:.4f} "
        f"(coin {report.base_line_coin[0]:.4f} / {report.base_line_coin[1]:.4f})"
    )
    cover = ", ".join(f"{c:.0%}: {s:.1%}" for c, s in report.coverage.items())
    print(f"  central intervals of the total cover {cover}")
    print("  PIT deciles " + " ".join(f"{d:.3f}" for d in report.pit_deciles))
    print(
        f"  total: bias {report.total_bias:+.2f} points, RMSE {report.total_rmse:.2f} "
        f"vs the model's mean sigma {report.mean_total_sigma:.2f} "
        f"(league mean so far as the prediction: RMSE {report.base_total_rmse:.2f})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quotes.basketball_quality")
    parser.add_argument("--start-games", type=int, default=200)
    parser.add_argument("--xi", type=float, default=DEFAULT_XI)
    parser.add_argument("--ridge", type=float, default=DEFAULT_RIDGE)
    parser.add_argument("--all", action="store_true", help="also score from the second day")
    parser.add_argument("--sensitivity", action="store_true", help="xi x ridge grid")
    parser.add_argument("--week-fixtures", type=int, default=700)
    args = parser.parse_args(argv)

    games, digest = read_games(SHIPPED_DATA)
    print(f"{SHIPPED_DATA.name} ({digest[:19]}...): {len(games)} games")
    last = games[-1].day
    started = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        full = fit(games, date.fromordinal(last.toordinal() + 1), args.xi, args.ridge)
    fit_seconds = (time.perf_counter() - started) / rounds
    print(
        f"full-season fit ({full.games} games, {len(full.teams)} teams): "
        f"{fit_seconds * 1000:.1f} ms; home advantage {full.home_advantage:.2f} points, "
        f"mean total {full.mean_total:.1f}, sigmas margin {full.margin_sigma:.2f} / "
        f"total {full.total_sigma:.2f}"
    )

    started = time.perf_counter()
    season, season_digest = read_games(SHIPPED_DATA)
    refitted = fit_basketball_snapshot(
        season,
        date.fromordinal(season[-1].day.toordinal() + 1),
        args.xi,
        args.ridge,
        training_data_digest=season_digest,
    )
    fitted = time.perf_counter() - started
    markets = price_week(refitted, args.week_fixtures)
    refit_to_priced = time.perf_counter() - started
    started = time.perf_counter()
    price_week(demo_basketball_snapshot(), args.week_fixtures)
    demo_priced = time.perf_counter() - started
    print(
        f"refit to priced, {args.week_fixtures} fixtures ({markets} markets): "
        f"{refit_to_priced:.2f} s (read + fit + snapshot {fitted * 1000:.0f} ms); "
        f"baseline, the demo snapshot's week without a fit: {demo_priced:.2f} s"
    )

    def fitter(past: Sequence[Game], day: date) -> BasketballFit:
        return fit(past, day, args.xi, args.ridge)

    started = time.perf_counter()
    predictions = walk_forward(games, fitter, args.start_games)
    walk_seconds = time.perf_counter() - started
    days = len({p.game.day for p in predictions})
    print(f"walk-forward: {days} refits in {walk_seconds:.2f} s")
    report = score(predictions)
    print_report(
        f"walk-forward from game {args.start_games + 1} (xi {args.xi}, ridge {args.ridge})",
        report,
    )
    if args.all:
        print_report("walk-forward from the second day", score(walk_forward(games, fitter, 1)))
    if args.sensitivity:
        print("\nsensitivity (moneyline log-loss / Brier; totals 80% coverage)")
        for xi in (0.0, 0.005, 0.01, 0.02):
            cells = []
            for ridge in (4.0, 8.0, 16.0):

                def grid_fitter(
                    past: Sequence[Game], day: date, xi: float = xi, ridge: float = ridge
                ) -> BasketballFit:
                    return fit(past, day, xi, ridge)

                r = score(walk_forward(games, grid_fitter, args.start_games))
                ll, br = r.moneyline["model"]
                cells.append(f"r{ridge:g} {ll:.4f}/{br:.4f}/{r.coverage[0.8]:.3f}")
            print(f"  xi {xi:<6g} " + "  ".join(cells))
    problems = failures(report)
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
