"""The refit job: fits every sport's model again and publishes the snapshots to the quotes store.

    python -m services.quotes.refit [--sport football] [--football-extra FILE ...] \
        [--football-extra-dir DIR] [--basketball-extra FILE ...] \
        --database-url postgresql://...   (or $BETMESH_DATABASE_URL)

Football is fitted on the shipped files plus the operator's own results and closing odds
(`--football-extra`, and every *.csv of `--football-extra-dir`; data/football/README.md),
basketball on the shipped season plus the operator's own results (`--basketball-extra`, and
every *.csv of `--basketball-extra-dir`; services/quotes/fitting/basketball.py); another
sport with a fitting module (`fit_shipped`) is fitted on its shipped data (tennis: one snapshot
per court surface, `fit_shipped_all`, the hard-court one stored last). Each snapshot is stored
under its hash (idempotent: the same inputs give the same bytes, so an unchanged refit stores
nothing new). Publishing is all this does: replicas read the store, and the gateway's
scheduler prices from a new snapshot only once a quorum of replicas knows it and the canary let
it through (gateway/domain/canary.py). `betmesh up --refit-hours H` runs this every H hours.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from services.quotes.fitting.data import ResultsFormatError
from services.quotes.shipped import SPORTS, fitter


def extra_files(files: Sequence[Path], directory: Path | None) -> list[Path]:
    found = list(files)
    if directory is not None:
        found += sorted(directory.glob("*.csv"))
    return found


def fit_sport(
    sport: sport_pb2.Sport.ValueType,
    football_extra: Sequence[Path],
    basketball_extra: Sequence[Path] = (),
) -> snapshot_pb2.ModelSnapshot | None:
    """The sport's new main snapshot, or None when the sport has no fitting job yet."""
    snapshots = fit_sport_all(sport, football_extra, basketball_extra)
    return snapshots[-1] if snapshots else None


def fit_sport_all(
    sport: sport_pb2.Sport.ValueType,
    football_extra: Sequence[Path],
    basketball_extra: Sequence[Path] = (),
) -> list[snapshot_pb2.ModelSnapshot]:
    """Every new snapshot of the sport (tennis: one per court surface), the main one last;
    empty when the sport has no fitting job yet."""
    if sport == sport_pb2.SPORT_FOOTBALL:
        # Imported here: only football and basketball take the operator's files.
        from services.quotes.fitting.football import fit_football

        return [fit_football(extra=football_extra)]
    if sport == sport_pb2.SPORT_BASKETBALL and basketball_extra:
        from services.quotes.fitting.basketball import fit_basketball

        return [fit_basketball(extra=basketball_extra)]
    fit = fitter(sport)
    return fit() if fit is not None else []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.quotes.refit", description=__doc__)
    parser.add_argument("--sport", choices=sorted(SPORTS.values()), action="append")
    parser.add_argument("--football-extra", type=Path, action="append", default=[])
    parser.add_argument("--football-extra-dir", type=Path)
    parser.add_argument("--basketball-extra", type=Path, action="append", default=[])
    parser.add_argument("--basketball-extra-dir", type=Path)
    parser.add_argument("--database-url", default=os.environ.get("BETMESH_DATABASE_URL", ""))
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or BETMESH_DATABASE_URL) is required")
    # Imported here so that --help needs no database driver.
    from services.quotes.snapshots import put_snapshot

    wanted = [s for s, name in SPORTS.items() if not args.sport or name in args.sport]
    try:
        extra = extra_files(args.football_extra, args.football_extra_dir)
        basketball_extra = extra_files(args.basketball_extra, args.basketball_extra_dir)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = False
    for sport in wanted:
        name = SPORTS[sport]
        began = time.perf_counter()
        try:
            snapshots = fit_sport_all(sport, extra, basketball_extra)
        except (OSError, ResultsFormatError, ValueError) as exc:
            # One sport's bad input does not stop the others' refit; the exit code says it.
            print(f"error: {name}: {exc}", file=sys.stderr)
            failed = True
            continue
        if not snapshots:
            print(f"{name}: no fitting job (the demo snapshot stays)")
            continue
        # The main snapshot last: stored last, it is the sport's newest.
        keys = ", ".join(put_snapshot(snapshot, args.database_url) for snapshot in snapshots)
        took = time.perf_counter() - began
        print(f"{name}: {keys} {snapshots[-1].model} in {took:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
