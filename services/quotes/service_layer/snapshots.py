"""Snapshots by hash for one replica: the cache, then the store, then the peers (the ports in
services/quotes/domain/snapshots.py); what to accept is the domain's `verify`."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence

from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import snapshot_pb2

from service_runtime.errors import FailedPrecondition
from services.quotes.domain.ports import SnapshotPeer, SnapshotStore
from services.quotes.domain.snapshots import (
    SnapshotRefused,
    StoredSnapshot,
    check_hash,
    verify,
)

log = logging.getLogger(__name__)


class SnapshotResolver:
    """Snapshots by hash for one replica: a small cache of verified snapshots, then the store,
    then the peers. Whatever comes from a peer is verified, then saved to the store."""

    def __init__(
        self, store: SnapshotStore, peers: Sequence[SnapshotPeer] = (), cache_size: int = 64
    ) -> None:
        self.store = store
        self.peers = list(peers)
        self._cache: OrderedDict[str, tuple[snapshot_pb2.ModelSnapshot, bytes]] = OrderedDict()
        self._cache_size = cache_size

    def _remember(self, key: str, snapshot: snapshot_pb2.ModelSnapshot, data: bytes) -> None:
        self._cache[key] = (snapshot, data)
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def put(self, snapshot: snapshot_pb2.ModelSnapshot) -> str:
        record = StoredSnapshot.of(snapshot)
        await asyncio.to_thread(self.store.save, record)
        return record.snapshot_hash

    async def local(self, key: str) -> tuple[snapshot_pb2.ModelSnapshot, bytes] | None:
        """From the cache or the store only (what GetModelSnapshot serves: never asks peers,
        so two replicas configured as each other's peers cannot loop)."""
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        data = await asyncio.to_thread(self.store.load, key)
        if data is None:
            return None
        try:
            snapshot = verify(key, data)
        except SnapshotRefused as exc:
            log.error("stored snapshot refused", extra={"snapshot_hash": key, "error": str(exc)})
            return None
        self._remember(key, snapshot, data)
        return snapshot, data

    async def resolve(self, key: str) -> snapshot_pb2.ModelSnapshot:
        check_hash(key)
        found = await self.local(key)
        if found is not None:
            return found[0]
        refused: list[str] = []
        for peer in self.peers:
            try:
                data = await peer.fetch(key)
            except Exception as exc:  # an unreachable peer is skipped, not fatal
                log.warning("snapshot peer failed", extra={"peer": peer.name, "error": repr(exc)})
                continue
            if data is None:
                continue
            try:
                snapshot = verify(key, data)
            except SnapshotRefused as exc:
                refused.append(peer.name)
                log.error(
                    "snapshot from peer refused",
                    extra={"peer": peer.name, "snapshot_hash": key, "error": str(exc)},
                )
                continue
            await asyncio.to_thread(
                self.store.save, StoredSnapshot(key, snapshot.sport, snapshot.model, data)
            )
            self._remember(key, snapshot, data)
            return snapshot
        if refused:
            raise FailedPrecondition(
                "SNAPSHOT_HASH_MISMATCH",
                f"snapshot {key} was offered by {', '.join(refused)} but its bytes do not match "
                "the hash; refused",
                {"snapshot_hash": key, "peers": ",".join(refused)},
            )
        raise FailedPrecondition(
            "SNAPSHOT_NOT_FOUND",
            f"snapshot {key} is not known to this replica or its peers",
            {"snapshot_hash": key},
        )

    async def newest(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[StoredSnapshot]:
        return await asyncio.to_thread(self.store.newest, sport, limit, offset)
