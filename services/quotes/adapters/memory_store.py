"""Snapshots in memory: the store of a replica started without a database (and of unit tests)."""

from __future__ import annotations

from betmesh.common.v1 import sport_pb2

from services.quotes.domain.snapshots import StoredSnapshot


class MemorySnapshotStore:
    def __init__(self) -> None:
        self._records: dict[str, tuple[int, StoredSnapshot]] = {}
        self._counter = 0

    def save(self, snapshot: StoredSnapshot) -> None:
        if snapshot.snapshot_hash not in self._records:
            self._counter += 1
            self._records[snapshot.snapshot_hash] = (self._counter, snapshot)

    def load(self, snapshot_hash: str) -> bytes | None:
        found = self._records.get(snapshot_hash)
        return found[1].data if found else None

    def newest(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[StoredSnapshot]:
        ordered = sorted(self._records.values(), key=lambda r: (-r[0], r[1].snapshot_hash))
        chosen = [s for _, s in ordered if sport in (0, s.sport)]
        return chosen[offset : offset + limit]
