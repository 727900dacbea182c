"""Peer replicas as snapshot sources (their GetModelSnapshot); what they send is verified by
the resolver before use."""

from __future__ import annotations

import grpc
from betmesh.quotes.v1 import quote_service_pb2, quote_service_pb2_grpc


class GrpcSnapshotPeer:
    def __init__(self, address: str, channel: grpc.aio.Channel, timeout: float) -> None:
        self.name = address
        self._stub = quote_service_pb2_grpc.QuoteServiceStub(channel)
        self._timeout = timeout

    async def fetch(self, snapshot_hash: str) -> bytes | None:
        try:
            response = await self._stub.GetModelSnapshot(
                quote_service_pb2.GetModelSnapshotRequest(snapshot_hash=snapshot_hash),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return bytes(response.snapshot)
