"""QuoteService replicas over gRPC, as the consensus core's `ReplicaClient`.

The request goes out as pre-serialised bytes so every replica receives exactly the same
message; the reply's quote-set bytes come back untouched for the core to hash.
"""

from __future__ import annotations

import grpc
from betmesh.quotes.v1 import quote_service_pb2
from google.protobuf.message import DecodeError

from gateway.domain.consensus import Reply
from service_runtime.errors import error_info, status_from_metadata

PRICE_FIXTURE = "/betmesh.quotes.v1.QuoteService/PriceFixture"


class GrpcReplicaClient:
    def __init__(
        self, replica_id: str, address: str, channel: grpc.aio.Channel, engine: str = ""
    ) -> None:
        self.replica_id = replica_id
        self.address = address
        self.engine = engine  # as configured; "" takes the replica's declaration
        self._call = channel.unary_unary(
            PRICE_FIXTURE,
            request_serializer=None,  # bytes as they are
            # Decoded here, not by grpc: grpc logs a message that does not decode and hands
            # back None, which failed the whole consensus call INTERNAL however many replicas
            # agreed. An undecodable answer is this replica's wrong answer, nothing more.
            response_deserializer=None,
        )

    async def price(self, request: bytes, timeout: float) -> Reply:
        try:
            raw = await self._call(request, timeout=timeout, wait_for_ready=False)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return Reply(error_code="TIMED_OUT", error_message=exc.details() or "")
            if code == grpc.StatusCode.UNAVAILABLE:
                return Reply(error_code="UNAVAILABLE", error_message=exc.details() or "")
            info = error_info(status_from_metadata(exc.trailing_metadata()))
            return Reply(
                error_code=code.name,
                error_reason=info.reason if info else "",
                error_message=exc.details() or "",
            )
        try:
            response = quote_service_pb2.PriceFixtureResponse.FromString(raw)
        except DecodeError:
            return Reply(error_code="MALFORMED", error_message="not a PriceFixtureResponse")
        return Reply(
            data=response.quote_set, claimed_digest=response.digest, engine=response.engine
        )
