"""Puts model snapshots into the quotes store: `python -m services.quotes.snapshots put FILE`.

The fitting job writes a snapshot's canonical bytes to a file; this stores it (migrating the
"quotes" schema first if needed) and prints its hash, the name quote requests use.

    python -m services.quotes.snapshots put snapshot.bin --database-url postgresql://...
    python -m services.quotes.snapshots list --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2
from google.protobuf.message import DecodeError

from service_runtime import postgres
from services.quotes.adapters.postgres_store import SCHEMA, PostgresSnapshotStore
from services.quotes.app import MIGRATIONS
from services.quotes.domain.snapshots import StoredSnapshot, snapshot_bytes


class SnapshotFileError(ValueError):
    pass


def read_snapshot(data: bytes) -> snapshot_pb2.ModelSnapshot:
    snapshot = snapshot_pb2.ModelSnapshot()
    try:
        snapshot.ParseFromString(data)
    except DecodeError as exc:
        raise SnapshotFileError(f"not a betmesh.quotes.v1.ModelSnapshot: {exc}") from exc
    if snapshot.sport == sport_pb2.SPORT_UNSPECIFIED or snapshot.WhichOneof("parameters") is None:
        raise SnapshotFileError("the snapshot names no sport or has no parameters")
    return snapshot


def put_snapshot(snapshot: snapshot_pb2.ModelSnapshot, database_url: str) -> str:
    """Stores the snapshot under the hash of its canonical bytes; returns that hash."""
    postgres.migrate(database_url, MIGRATIONS, SCHEMA)
    engine = postgres.create_engine(database_url, pool_size=1)
    try:
        record = StoredSnapshot.of(snapshot)
        PostgresSnapshotStore(engine).save(record)
        return record.snapshot_hash
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.quotes.snapshots")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BETMESH_DATABASE_URL", ""),
        help="PostgreSQL URL (default: $BETMESH_DATABASE_URL)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    put = commands.add_parser("put", help="store a snapshot file (ModelSnapshot bytes)")
    put.add_argument("file", type=Path)
    put.add_argument("--database-url", dest="database_url_sub", default=None)
    listing = commands.add_parser("list", help="stored snapshots, newest first")
    listing.add_argument("--database-url", dest="database_url_sub", default=None)
    args = parser.parse_args(argv)
    url = args.database_url_sub or args.database_url
    if not url:
        parser.error("--database-url (or BETMESH_DATABASE_URL) is required")
    if args.command == "put":
        try:
            data = args.file.read_bytes()
            snapshot = read_snapshot(data)
        except (OSError, SnapshotFileError) as exc:
            print(f"error: {args.file}: {exc}", file=sys.stderr)
            return 2
        if snapshot_bytes(snapshot) != data:
            print("note: the file was not in canonical form; stored canonically", file=sys.stderr)
        print(put_snapshot(snapshot, url))
        return 0
    postgres.migrate(url, MIGRATIONS, SCHEMA)
    engine = postgres.create_engine(url, pool_size=1)
    try:
        for record in PostgresSnapshotStore(engine).newest(sport_pb2.SPORT_UNSPECIFIED, 500, 0):
            print(f"{record.snapshot_hash}  {sport_pb2.Sport.Name(record.sport)}  {record.model}")
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
