"""The snapshots a quote replica stores at start: its sport's model fitted on the shipped data.

Each sport's fitting module (`services.quotes.fitting.<sport>`) exposes `fit_shipped()`, a
deterministic fit on the data the repository ships (`data/<sport>/`), and may expose
`fit_shipped_all()`, every snapshot the sport prices from when one is not enough (tennis: one
per court surface, so that a clay or grass fixture prices from its own surface's fit), the
`fit_shipped()` one last so that it is the newest stored. A fit is cached as the snapshots'
canonical bytes (each prefixed by its 4-byte big-endian length) under a name derived from
everything that determines them (the sport's data files, the fitting and domain code, the
snapshot format), so a replica's start reads a file instead of fitting, a change to any input
refits, and the replicas starting together fit once (a file lock: the first fits, the others
read its result).
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


Fit = Callable[[], list[snapshot_pb2.ModelSnapshot]]


def fitter(sport: sport_pb2.Sport.ValueType) -> Fit | None:
    """The sport's shipped fit, every snapshot of it (`fit_shipped_all`, else `fit_shipped`
    alone), or None if the sport has no fitting module."""
    name = f"services.quotes.fitting.{SPORTS[sport]}"
    if importlib.util.find_spec(name) is None:
        return None
    module = importlib.import_module(name)
    every: Fit | None = getattr(module, "fit_shipped_all", None)
    if every is not None:
        return every
    one: Callable[[], snapshot_pb2.ModelSnapshot] | None = getattr(module, "fit_shipped", None)
    if one is None:
        return None
    return lambda: [one()]


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


_LENGTH_BYTES = 4


def cache_bytes(snapshots: Sequence[snapshot_pb2.ModelSnapshot]) -> bytes:
    """The cache file of a fit: each snapshot's canonical bytes after its length."""
    out = bytearray()
    for snapshot in snapshots:
        data = snapshot_bytes(snapshot)
        out += len(data).to_bytes(_LENGTH_BYTES, "big") + data
    return bytes(out)


def _read(path: Path) -> list[snapshot_pb2.ModelSnapshot] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    snapshots = []
    at = 0
    while at < len(data):
        size = int.from_bytes(data[at : at + _LENGTH_BYTES], "big")
        chunk = data[at + _LENGTH_BYTES : at + _LENGTH_BYTES + size]
        at += _LENGTH_BYTES + size
        snapshot = snapshot_pb2.ModelSnapshot()
        try:
            snapshot.ParseFromString(chunk)
        except DecodeError:
            return None
        # Only canonical bytes of snapshots with parameters count; anything else is refitted.
        if snapshot.WhichOneof("parameters") is None or snapshot_bytes(snapshot) != chunk:
            return None
        snapshots.append(snapshot)
    return snapshots or None


def shipped_snapshots_of(
    sport: sport_pb2.Sport.ValueType, cache_dir: Path | None
) -> list[snapshot_pb2.ModelSnapshot]:
    """Every snapshot of the sport's fit on the shipped data, the main one last (from the cache
    when it holds this very fit). A sport without a fitting job has no snapshot to price from:
    refused (fail closed)."""
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
            snapshots = fit()
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(cache_bytes(snapshots))
            partial.replace(path)
            for stale in cache_dir.glob(f"{name}-*.snapshot"):
                if stale != path:  # fits of inputs that no longer are
                    stale.unlink(missing_ok=True)
            return snapshots
    except OSError as exc:
        # A read-only file system (a container, a function) fits every time: a fit is seconds.
        log.warning("snapshot cache unusable", extra={"dir": str(cache_dir), "error": str(exc)})
        return fit()


def shipped_snapshot(
    sport: sport_pb2.Sport.ValueType, cache_dir: Path | None
) -> snapshot_pb2.ModelSnapshot:
    """The sport's main shipped snapshot (`fit_shipped`'s; tennis: the hard-court one)."""
    return shipped_snapshots_of(sport, cache_dir)[-1]


def shipped_snapshots(cache_dir: Path | None) -> list[snapshot_pb2.ModelSnapshot]:
    return [s for sport in SPORTS for s in shipped_snapshots_of(sport, cache_dir)]


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
        snapshots = shipped_snapshots_of(sport, args.cache)
        took = time.perf_counter() - began
        hashes = ", ".join(snapshot_hash(s) for s in reversed(snapshots))
        print(f"{name}: {hashes} {snapshots[-1].model} ({took:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
