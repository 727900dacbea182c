"""Fits a football model snapshot from a results file: `python -m services.quotes.fit`.

Fitting is a job, not part of a quote request: this writes the snapshot's canonical bytes (the
bytes its hash names) to `--out` and prints the hash; replicas price from the stored snapshot.

    python -m services.quotes.fit --results ../shared/data/football/epl_2023_24.csv \
        --out /tmp/epl.snapshot [--as-of 2024-05-20] [--xi 0.005] [--method market-xg] \
        [--database-url postgresql://...]

Tennis (`--sport tennis`, the rest of the options are tennis's: `--sport tennis --help`) fits
every surface at once and writes the snapshot of the one `--surface` names, from the shipped ATP
2022 set unless `--results` names another:

    python -m services.quotes.fit --sport tennis --out /tmp/clay.snapshot --surface clay

With `--database-url` the snapshot is also stored in the quotes service's PostgreSQL store (the
same as `python -m services.quotes.snapshots put FILE`), where replicas fetch it by hash.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from betmesh.quotes.v1 import snapshot_pb2

from services.quotes.domain.snapshots import snapshot_bytes, snapshot_hash
from services.quotes.fitting import tennis as tennis_fitting
from services.quotes.fitting.data import ResultsFormatError, parse_kickoff, read_results
from services.quotes.fitting.snapshot import (
    DEFAULT_MARKET_WEIGHT,
    DEFAULT_RIDGE,
    DEFAULT_XI,
    METHOD_MARKET_XG,
    METHODS,
    NoTrainingData,
    fit_football_snapshot,
)


def _as_of(text: str | None, last_kickoff: datetime) -> datetime:
    if text is None:
        # The day after the last match: every row of the file is training data.
        day = (last_kickoff + timedelta(days=1)).date()
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return parse_kickoff(text)


def main(argv: Sequence[str] | None = None) -> int:
    sport = argparse.ArgumentParser(add_help=False)
    sport.add_argument("--sport", choices=("football", "tennis"), default="football")
    chosen, argv = sport.parse_known_args(argv)
    if chosen.sport == "tennis":
        return tennis_main(argv)
    parser = argparse.ArgumentParser(
        prog="python -m services.quotes.fit",
        description="Fit a football ModelSnapshot from a results CSV.",
    )
    parser.add_argument("--results", type=Path, required=True, help="results CSV")
    parser.add_argument("--out", type=Path, required=True, help="file for the canonical bytes")
    parser.add_argument(
        "--as-of",
        help="fit on matches kicked off before this ISO date/time (UTC); "
        "default: the day after the file's last match",
    )
    parser.add_argument("--xi", type=float, default=DEFAULT_XI, help="time decay per day")
    parser.add_argument("--method", choices=METHODS, default=METHOD_MARKET_XG)
    parser.add_argument("--market-weight", type=float, default=DEFAULT_MARKET_WEIGHT)
    parser.add_argument("--ridge", type=float, default=DEFAULT_RIDGE)
    parser.add_argument("--max-goals", type=int, default=10)
    parser.add_argument("--database-url", help="also store the snapshot in this PostgreSQL")
    args = parser.parse_args(argv)

    try:
        rows, digest = read_results(args.results)
        if not rows:
            raise ResultsFormatError("the file has no matches")
        as_of = _as_of(args.as_of, rows[-1].kickoff)
        snapshot = fit_football_snapshot(
            rows,
            as_of,
            args.xi,
            method=args.method,
            market_weight=args.market_weight,
            ridge=args.ridge,
            training_data_digest=digest,
            max_goals=args.max_goals,
        )
    except (OSError, ResultsFormatError, NoTrainingData, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _write(snapshot, args.out, args.database_url)


def _write(snapshot: snapshot_pb2.ModelSnapshot, out: Path, database_url: str | None) -> int:
    out.write_bytes(snapshot_bytes(snapshot))
    key = snapshot_hash(snapshot)
    if database_url:
        # Imported here so fitting alone needs no database driver.
        from services.quotes.snapshots import put_snapshot

        stored = put_snapshot(snapshot, database_url)
        if stored != key:
            print(f"error: the store named the snapshot {stored}, not {key}", file=sys.stderr)
            return 1
    print(key)
    return 0


def tennis_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.quotes.fit --sport tennis",
        description="Fit tennis ModelSnapshots (one per surface) from a match CSV with serve "
        "statistics; write the one --surface names.",
    )
    parser.add_argument("--results", type=Path, default=tennis_fitting.SHIPPED_MATCHES)
    parser.add_argument("--out", type=Path, required=True, help="file for the canonical bytes")
    parser.add_argument("--surface", choices=tennis_fitting.SURFACES, default="hard")
    parser.add_argument(
        "--as-of",
        help="fit on matches known by this ISO date/time (UTC; a match is known at midnight "
        "after its tournament's last day); default: every match of the file",
    )
    parser.add_argument("--xi", type=float, default=tennis_fitting.DEFAULT_XI)
    parser.add_argument("--database-url", help="also store the snapshot in this PostgreSQL")
    args = parser.parse_args(argv)
    try:
        matches, digest = tennis_fitting.read_matches(args.results)
        if not matches:
            raise tennis_fitting.MatchesFormatError("the file has no matches")
        as_of = parse_kickoff(args.as_of) if args.as_of else tennis_fitting.shipped_as_of(matches)
        snapshots = tennis_fitting.fit_tennis_snapshots(
            matches, as_of, args.xi, training_data_digest=digest
        )
    except (OSError, ValueError) as exc:  # the fitting's errors are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _write(snapshots[args.surface], args.out, args.database_url)


if __name__ == "__main__":
    sys.exit(main())
