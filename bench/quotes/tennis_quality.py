"""Tennis match-winner quality, walk-forward over ATP 2022, against base rates and Elo; fit time.

    .venv/bin/python -m bench.quotes.tennis_quality [--sweep]

Weekly blocks (the tournaments starting on one day): before each, the model, an Elo and the base
rate are built from the matches known at midnight of its first day (a match is known once its
tournament is over), then predict its completed matches (`services/quotes/fitting/
tennis_quality.py` has the protocol). Reported over the whole season and over July-November,
which the defaults were not chosen on (`--sweep` reruns the January-June choice). Fit time: the
whole season's fit into three surface snapshots with their hashes, median of repeated runs.
Refit to priced: the fit plus a week of tennis fixtures (`--week-fixtures`, about a third of the
gateway bench's 2,094-fixture week) priced in full through `price_fixture` + canonical bytes +
digest, the replica's path, in process; baseline in the same run: the same number of fixtures
priced from the hand-set demo snapshot, which needs no fit.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

import numpy as np

from bench.quotes.week import price_week
from services.quotes.domain.snapshots import snapshot_hash
from services.quotes.fitting.tennis import (
    DEFAULT_PLAYER_PRIOR_POINTS,
    DEFAULT_SURFACE_PRIOR_POINTS,
    DEFAULT_XI,
    SHIPPED_MATCHES,
    fit_tennis_snapshots,
    read_matches,
    shipped_as_of,
)
from services.quotes.fitting.tennis_quality import (
    BASE_RATE,
    ELO,
    MODEL,
    WalkForward,
    base_rate_factory,
    elo_factory,
    markov_factory,
    quality_failures,
    walk_forward,
)
from tests.support.demo_snapshots import demo_tennis_snapshot

HOLDOUT = date(2022, 7, 1)
TUNING_END = date(2022, 6, 30)


def report(result: WalkForward, since: date | None, label: str) -> None:
    print(f"\n{label}: {result.scores(MODEL, since).n} matches")
    print(f"{'predictor':<10} {'log-loss':>9} {'Brier':>7} {'accuracy':>9}")
    for name in (MODEL, ELO, BASE_RATE):
        s = result.scores(name, since)
        print(f"{name:<10} {s.log_loss:>9.4f} {s.brier:>7.4f} {s.accuracy:>9.3f}")


def calibration(result: WalkForward, since: date | None) -> None:
    """Mean predicted vs realised, by the favourite's predicted probability (orientation-free)."""
    p = np.array(
        [
            x
            for m, x in zip(result.matches, result.predictions[MODEL], strict=True)
            if since is None or m.start >= since
        ]
    )
    favourite = np.maximum(p, 1.0 - p)
    favourite_won = (p >= 0.5).astype(float)
    print(f"\nmodel calibration ({'season' if since is None else 'July-November'}):")
    print(f"{'favourite p':<12} {'n':>5} {'predicted':>10} {'won':>6}")
    for low, high in ((0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)):
        chosen = (favourite >= low) & (favourite < high)
        if chosen.any():
            print(
                f"{low:.1f}-{min(high, 1.0):.1f}     {int(chosen.sum()):>5} "
                f"{favourite[chosen].mean():>10.3f} {favourite_won[chosen].mean():>6.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sweep", action="store_true", help="rerun the January-June choice")
    parser.add_argument("--fit-repeats", type=int, default=7)
    parser.add_argument("--week-fixtures", type=int, default=700)
    args = parser.parse_args()

    matches, digest = read_matches(SHIPPED_MATCHES)
    print(f"{SHIPPED_MATCHES.name}: {len(matches)} matches, {digest}")
    print(
        f"defaults: xi={DEFAULT_XI}/day, player prior {DEFAULT_PLAYER_PRIOR_POINTS:g} points, "
        f"surface prior {DEFAULT_SURFACE_PRIOR_POINTS:g} points"
    )

    as_of = shipped_as_of(matches)
    runs = []
    for _ in range(args.fit_repeats):
        started = time.perf_counter()
        snapshots = fit_tennis_snapshots(matches, as_of, training_data_digest=digest)
        hashes = [snapshot_hash(s) for s in snapshots.values()]
        runs.append(time.perf_counter() - started)
    players = len(snapshots["hard"].tennis.players)
    print(
        f"\nfit of the whole season ({players} players, 3 surface snapshots + hashes): "
        f"median {statistics.median(runs) * 1000:.0f} ms over {len(runs)} runs"
    )
    for surface, h in zip(snapshots, hashes, strict=True):
        print(f"  {surface}: {h}")

    started = time.perf_counter()
    refitted = fit_tennis_snapshots(matches, as_of, training_data_digest=digest)["hard"]
    fitted = time.perf_counter() - started
    markets = price_week(refitted, args.week_fixtures)
    refit_to_priced = time.perf_counter() - started
    started = time.perf_counter()
    price_week(demo_tennis_snapshot(), args.week_fixtures)
    demo_priced = time.perf_counter() - started
    print(
        f"\nrefit to priced, {args.week_fixtures} fixtures ({markets} markets): "
        f"{refit_to_priced:.2f} s (fit {fitted:.2f} s); "
        f"baseline, the demo snapshot's week without a fit: {demo_priced:.2f} s"
    )

    fit_seconds: list[float] = []
    started = time.perf_counter()
    result = walk_forward(
        matches,
        {
            MODEL: markov_factory(fit_seconds=fit_seconds),
            ELO: elo_factory,
            BASE_RATE: base_rate_factory,
        },
    )
    elapsed = time.perf_counter() - started
    print(
        f"\nwalk-forward: {result.blocks} weekly blocks, {elapsed:.1f} s "
        f"(model fits median {statistics.median(fit_seconds) * 1000:.0f} ms)"
    )
    report(result, None, "season (every block)")
    report(result, HOLDOUT, "July-November (not used to choose the defaults)")
    calibration(result, None)
    failures = quality_failures(result)
    print("\nquality gate (beats the base rate on log-loss and Brier):", failures or "passed")

    if args.sweep:
        print(f"\nsweep, blocks to {TUNING_END} (model only):")
        print(f"{'xi':>6} {'player':>7} {'surface':>8} {'log-loss':>9} {'Brier':>7}")
        grid: list[tuple[float, float, float]] = [
            (DEFAULT_XI, DEFAULT_PLAYER_PRIOR_POINTS, DEFAULT_SURFACE_PRIOR_POINTS),
            (0.0, DEFAULT_PLAYER_PRIOR_POINTS, DEFAULT_SURFACE_PRIOR_POINTS),
            (0.002, DEFAULT_PLAYER_PRIOR_POINTS, DEFAULT_SURFACE_PRIOR_POINTS),
            (0.01, DEFAULT_PLAYER_PRIOR_POINTS, DEFAULT_SURFACE_PRIOR_POINTS),
            (DEFAULT_XI, 300.0, DEFAULT_SURFACE_PRIOR_POINTS),
            (DEFAULT_XI, 1000.0, DEFAULT_SURFACE_PRIOR_POINTS),
            (DEFAULT_XI, DEFAULT_PLAYER_PRIOR_POINTS, 1500.0),
            (DEFAULT_XI, DEFAULT_PLAYER_PRIOR_POINTS, 20000.0),
        ]
        for xi, player, surface_prior in grid:
            swept = walk_forward(
                matches, {MODEL: markov_factory(xi, player, surface_prior)}, last_block=TUNING_END
            )
            s = swept.scores(MODEL)
            print(f"{xi:>6} {player:>7g} {surface_prior:>8g} {s.log_loss:>9.4f} {s.brier:>7.4f}")


if __name__ == "__main__":
    main()
