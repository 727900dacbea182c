"""Adds LiveOddsService to a server, with StreamOdds sending messages already encoded.

The stream core encodes each message itself so that the update bytes shared by many streams
are not parsed and re-serialised once per stream (services/live/stream/wire.py); the generated
registration would serialise again, so StreamOdds gets a serializer that passes bytes through
(and still serialises a message object, should one be written).
"""

from __future__ import annotations

from typing import Any

import grpc
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["LiveOddsService"].full_name


def _encoded(message: Any) -> bytes:
    if isinstance(message, bytes):
        return message
    return bytes(message.SerializeToString())


def add_live_odds_service(
    servicer: live_odds_service_pb2_grpc.LiveOddsServiceServicer, server: grpc.aio.Server
) -> None:
    handlers = {
        "IngestMatchEvent": grpc.unary_unary_rpc_method_handler(
            servicer.IngestMatchEvent,
            request_deserializer=pb.IngestMatchEventRequest.FromString,
            response_serializer=pb.IngestMatchEventResponse.SerializeToString,
        ),
        "GetGameState": grpc.unary_unary_rpc_method_handler(
            servicer.GetGameState,
            request_deserializer=pb.GetGameStateRequest.FromString,
            response_serializer=pb.GetGameStateResponse.SerializeToString,
        ),
        "StreamOdds": grpc.unary_stream_rpc_method_handler(
            servicer.StreamOdds,
            request_deserializer=pb.StreamOddsRequest.FromString,
            response_serializer=_encoded,
        ),
        "UpdateSubscription": grpc.unary_unary_rpc_method_handler(
            servicer.UpdateSubscription,
            request_deserializer=pb.UpdateSubscriptionRequest.FromString,
            response_serializer=pb.UpdateSubscriptionResponse.SerializeToString,
        ),
    }
    generated = set(pb.DESCRIPTOR.services_by_name["LiveOddsService"].methods_by_name)
    # A method added to the proto must be added here too, or it would silently be UNIMPLEMENTED.
    if generated != set(handlers):
        raise RuntimeError(f"LiveOddsService registration out of date: {generated ^ set(handlers)}")
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)  # type: ignore[attr-defined]
