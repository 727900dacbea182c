"""The snapshots a quote replica stores at start: its sport's model fitted on the shipped data.

Each sport's fitting module (`services.quotes.fitting.<sport>`) exposes `fit_shipped()`, a
deterministic fit on the data the repository ships (`data/<sport>/`). A fit is cached as the
snapshot's canonical bytes under a name derived from everything that determines them (the
sport's data files, the fitting and domain code, the snapshot format), so a replica's start
reads a file instead of fitting, a change to any input refits, and the replicas starting
together fit once (a file lock: the first fits, the others read its result).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib
import importlib.util
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2
from google.protobuf.message import DecodeError

from services.quotes.domain.snapshots import snapshot_bytes, snapshot_hash

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SPORTS = {
    sport_pb2.SPORT_FOOTBALL: "football",
    sport_pb2.SPORT_TENNIS: "tennis",
    sport_pb2.SPORT_BASKETBALL: "basketball",
}
# What a fit's bytes depend on besides the sport's data (the pricing policy lives in the domain).
_CODE = (
    ROOT / "services" / "quotes" / "fitting",
    ROOT / "services" / "quotes" / "domain",
    ROOT / "gen" / "python" / "betmesh" / "quotes" / "v1",
)


def fitter(sport: sport_pb2.Sport.ValueType) -> Callable[[], snapshot_pb2.ModelSnapshot] | None:
    """The sport's `fit_shipped`, or None if the sport has no fitting module."""
    name = f"services.quotes.fitting.{SPORTS[sport]}"
    if importlib.util.find_spec(name) is None:
        return None
    fit: Callable[[], snapshot_pb2.ModelSnapshot] | None = getattr(
        importlib.import_module(name), "fit_shipped", None
    )
    return fit


def inputs_digest(sport: sport_pb2.Sport.ValueType) -> str:
    """sha256 over the paths and bytes of the sport's data and the code a fit runs."""
    digest = hashlib.sha256()
    roots = (*_CODE, ROOT / "data" / SPORTS[sport])
    for root in roots:
        files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for path in files:
            digest.update(f"{path.relative_to(ROOT)}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(path: Path) -> snapshot_pb2.ModelSnapshot | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    snapshot = snapshot_pb2.ModelSnapshot()
    try:
        snapshot.ParseFromString(data)
    except DecodeError:
        return None
    # Only canonical bytes of a snapshot with parameters count; anything else is refitted.
    if snapshot.WhichOneof("parameters") is None or snapshot_bytes(snapshot) != data:
        return None
    return snapshot


def shipped_snapshot(
    sport: sport_pb2.Sport.ValueType, cache_dir: Path | None
) -> snapshot_pb2.ModelSnapshot:
    """The sport's snapshot fitted on the shipped data (from the cache when it holds this very
    fit). A sport without a fitting job has no snapshot to price from: refused (fail closed)."""
    fit = fitter(sport)
    if fit is None:
        raise RuntimeError(f"no fitting job for {SPORTS[sport]} (services/quotes/fitting)")
    if cache_dir is None:
        return fit()
    name = SPORTS[sport]
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = cache_dir / f"{name}-{inputs_digest(sport)[:32]}.snapshot"
        with _locked(cache_dir / f"{name}.lock"):
            cached = _read(path)
            if cached is not None:
                return cached
            snapshot = fit()
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(snapshot_bytes(snapshot))
            partial.replace(path)
            for stale in cache_dir.glob(f"{name}-*.snapshot"):
                if stale != path:  # fits of inputs that no longer are
                    stale.unlink(missing_ok=True)
            return snapshot
    except OSError as exc:
        # A read-only file system (a container, a function) fits every time: a fit is seconds.
        log.warning("snapshot cache unusable", extra={"dir": str(cache_dir), "error": str(exc)})
        return fit()


def shipped_snapshots(cache_dir: Path | None) -> list[snapshot_pb2.ModelSnapshot]:
    return [shipped_snapshot(sport, cache_dir) for sport in SPORTS]


def read_snapshot_file(path: Path) -> snapshot_pb2.ModelSnapshot:
    """A snapshot file as the fitting job writes it (canonical bytes; any valid encoding is
    accepted and stored canonically)."""
    snapshot = snapshot_pb2.ModelSnapshot()
    try:
        snapshot.ParseFromString(path.read_bytes())
    except DecodeError as exc:
        raise ValueError(f"{path}: not a betmesh.quotes.v1.ModelSnapshot: {exc}") from exc
    if snapshot.WhichOneof("parameters") is None:
        raise ValueError(f"{path}: the snapshot has no parameters")
    return snapshot


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m services.quotes.shipped [--cache DIR]`: fits every sport into the cache (the
    launcher runs it while PostgreSQL starts, so replicas start on a warm cache)."""
    parser = argparse.ArgumentParser(prog="python -m services.quotes.shipped")
    parser.add_argument("--cache", type=Path, default=ROOT / ".betmesh" / "snapshots")
    args = parser.parse_args(argv)
    for sport, name in SPORTS.items():
        began = time.perf_counter()
        snapshot = shipped_snapshot(sport, args.cache)
        took = time.perf_counter() - began
        print(f"{name}: {snapshot_hash(snapshot)} {snapshot.model} ({took:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
