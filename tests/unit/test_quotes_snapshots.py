"""Snapshot naming, verification and fetching by hash (memory store, in-process peers)."""

from __future__ import annotations

import pytest
from betmesh.common.v1 import sport_pb2

from service_runtime.errors import FailedPrecondition, InvalidArgument
from services.quotes.adapters.memory_store import MemorySnapshotStore
from services.quotes.domain.snapshots import (
    SnapshotRefused,
    StoredSnapshot,
    snapshot_bytes,
    snapshot_hash,
    verify,
)
from services.quotes.service_layer.snapshots import SnapshotResolver
from tests.support.demo_snapshots import (
    demo_basketball_snapshot,
    demo_football_snapshot,
    demo_tennis_snapshot,
)


class Peer:
    def __init__(self, name: str, blobs: dict[str, bytes]) -> None:
        self.name = name
        self.blobs = blobs
        self.asked: list[str] = []

    async def fetch(self, snapshot_hash: str) -> bytes | None:
        self.asked.append(snapshot_hash)
        return self.blobs.get(snapshot_hash)


def test_verify_accepts_only_the_canonical_bytes_named_by_the_hash() -> None:
    snapshot = demo_tennis_snapshot()
    data = snapshot_bytes(snapshot)
    assert snapshot_bytes(verify(snapshot_hash(snapshot), data)) == data
    with pytest.raises(SnapshotRefused, match="hash"):
        verify(snapshot_hash(snapshot), data + b"\x00")
    shuffled = demo_tennis_snapshot()
    players = list(shuffled.tennis.players)
    del shuffled.tennis.players[:]
    shuffled.tennis.players.extend(reversed(players))
    raw = shuffled.SerializeToString(deterministic=True)
    from service_runtime.digest import digest_bytes

    with pytest.raises(SnapshotRefused, match="canonical"):
        verify(digest_bytes(raw), raw)


async def test_a_missing_snapshot_is_fetched_from_a_peer_verified_and_kept() -> None:
    snapshot = demo_basketball_snapshot()
    key = snapshot_hash(snapshot)
    liar = Peer("liar", {key: snapshot_bytes(demo_football_snapshot())})
    honest = Peer("honest", {key: snapshot_bytes(snapshot)})
    store = MemorySnapshotStore()
    resolver = SnapshotResolver(store, [liar, honest])
    assert snapshot_bytes(await resolver.resolve(key)) == snapshot_bytes(snapshot)
    assert store.load(key) == snapshot_bytes(snapshot)
    # Cached now: the peers are not asked again.
    await resolver.resolve(key)
    assert honest.asked == [key]


async def test_only_a_mismatched_blob_is_refused_with_its_reason() -> None:
    key = snapshot_hash(demo_tennis_snapshot())
    resolver = SnapshotResolver(
        MemorySnapshotStore(), [Peer("liar", {key: snapshot_bytes(demo_football_snapshot())})]
    )
    with pytest.raises(FailedPrecondition) as raised:
        await resolver.resolve(key)
    assert raised.value.reason == "SNAPSHOT_HASH_MISMATCH"
    assert raised.value.metadata["peers"] == "liar"


async def test_unknown_and_malformed_hashes() -> None:
    resolver = SnapshotResolver(MemorySnapshotStore(), [Peer("empty", {})])
    with pytest.raises(FailedPrecondition) as raised:
        await resolver.resolve("sha256:" + "0" * 64)
    assert raised.value.reason == "SNAPSHOT_NOT_FOUND"
    with pytest.raises(InvalidArgument) as bad:
        await resolver.resolve("sha256:xyz")
    assert bad.value.reason == "INVALID_SNAPSHOT_HASH"
    with pytest.raises(InvalidArgument) as empty:
        await resolver.resolve("")
    assert empty.value.reason == "SNAPSHOT_REQUIRED"


def test_the_memory_store_lists_newest_first_and_keeps_the_first_record() -> None:
    store = MemorySnapshotStore()
    first, second = demo_football_snapshot(), demo_football_snapshot()
    second.model = "dixon-coles/2"
    store.save(StoredSnapshot.of(first))
    store.save(StoredSnapshot.of(demo_tennis_snapshot()))
    store.save(StoredSnapshot.of(second))
    store.save(StoredSnapshot.of(first))  # again: keeps its place
    football = store.newest(sport_pb2.SPORT_FOOTBALL, 10, 0)
    assert [s.model for s in football] == ["dixon-coles/2", "dixon-coles/demo-fixed"]
    assert len(store.newest(sport_pb2.SPORT_UNSPECIFIED, 10, 0)) == 3
    assert store.newest(sport_pb2.SPORT_UNSPECIFIED, 1, 1)[0].sport == sport_pb2.SPORT_TENNIS
