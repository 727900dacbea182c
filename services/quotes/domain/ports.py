"""Where quotes' snapshots are kept and fetched from: ports only (typing.Protocol), implemented
in adapters/ and plugged in by app.py (fetching by hash: services/quotes/service_layer/
snapshots.py)."""

from __future__ import annotations

from typing import Protocol

from betmesh.common.v1 import sport_pb2

from services.quotes.domain.snapshots import StoredSnapshot


class SnapshotStore(Protocol):
    """Where snapshots live (PostgreSQL in a mesh, services/quotes/adapters/postgres_store.py;
    memory without a database, adapters/memory_store.py). Synchronous: the resolver runs it in a
    worker thread."""

    def save(self, snapshot: StoredSnapshot) -> None:
        """Idempotent: saving a hash already stored keeps the first record (and its age)."""
        ...

    def load(self, snapshot_hash: str) -> bytes | None: ...

    def newest(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[StoredSnapshot]:
        """Newest first (then by hash); sport 0 means every sport."""
        ...


class SnapshotPeer(Protocol):
    """Another replica that may hold a snapshot (GetModelSnapshot)."""

    name: str

    async def fetch(self, snapshot_hash: str) -> bytes | None: ...
