"""A quote replica's snapshot list, read over gRPC (ListModelSnapshots)."""

from __future__ import annotations

import grpc
from betmesh.common.v1 import sport_pb2
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc

from gateway.domain.ports import ListedSnapshot


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
