"""A quote replica's snapshot list, read over gRPC (ListModelSnapshots)."""

from __future__ import annotations

import grpc
from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc

from gateway.domain.model import ListedSnapshot


class GrpcSnapshotCatalog:
    def __init__(
        self, replica_id: str, channel: grpc.aio.Channel, sport: sport_pb2.Sport.ValueType
    ) -> None:
        self.replica_id = replica_id
        self.sport = sport
        self._stub = quote_service_pb2_grpc.QuoteServiceStub(channel)

    async def snapshots(self, timeout: float) -> list[ListedSnapshot]:
        response = await self._stub.ListModelSnapshots(
            quote_service_pb2.ListModelSnapshotsRequest(sport=self.sport, page_size=50),
            timeout=timeout,
        )
        return [
            ListedSnapshot(s.snapshot_hash, s.snapshot.tennis.surface) for s in response.snapshots
        ]

    async def fitted_at(self, snapshot_hash: str, timeout: float) -> float | None:
        """When the snapshot was fitted (its training cutoff); None when unknown or unset."""
        response = await self._stub.ListModelSnapshots(
            quote_service_pb2.ListModelSnapshotsRequest(sport=self.sport, page_size=50),
            timeout=timeout,
        )
        for summary in response.snapshots:
            if summary.snapshot_hash == snapshot_hash and summary.snapshot.HasField("fitted_at"):
                return float(summary.snapshot.fitted_at.ToNanoseconds()) / 1e9
        return None


class FittedAt:
    """When a snapshot was fitted, from the first of the sport's replicas that answers (the
    canary's back-test only scores results after both snapshots' fits)."""

    def __init__(
        self,
        catalogs: dict[sport_pb2.Sport.ValueType, list[GrpcSnapshotCatalog]],
        timeout: float,
    ) -> None:
        self._catalogs = catalogs
        self._timeout = timeout

    async def __call__(self, sport: sport_pb2.Sport.ValueType, snapshot_hash: str) -> float | None:
        for catalog in self._catalogs.get(sport, []):
            try:
                return await catalog.fitted_at(snapshot_hash, self._timeout)
            except grpc.aio.AioRpcError:
                continue  # that replica is down: ask the next
        return None
