"""DeadLetterService over gRPC: the runtime's dead-letter stream for operators (translation
only; the rules live in service_runtime.dead_letters, the role in the token policy)."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from betmesh.bets.v1 import dead_letter_service_pb2 as pb
from betmesh.bets.v1 import dead_letter_service_pb2_grpc
from google.protobuf import timestamp_pb2

from service_runtime.dead_letters import DeadLetter, DeadLetterStore
from service_runtime.errors import InvalidArgument
from service_runtime.events import Topic

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
_TOPICS = frozenset(topic.value for topic in Topic)


def _message(letter: DeadLetter) -> pb.DeadLetter:
    dead_at = timestamp_pb2.Timestamp()
    dead_at.FromMilliseconds(letter.dead_at_ms)
    return pb.DeadLetter(
        dead_letter_id=letter.dead_letter_id,
        topic=letter.topic,
        consumer_group=letter.group,
        consumer=letter.consumer,
        stream_entry_id=letter.stream_entry_id,
        event_id=letter.event_id,
        payload_type=letter.payload_type,
        attempts=min(letter.attempts, 2**32 - 1),
        reason=letter.reason,
        error=letter.error,
        dead_at=dead_at,
        envelope=letter.envelope,
    )


class DeadLetterServicer(dead_letter_service_pb2_grpc.DeadLetterServiceServicer):
    def __init__(self, store: DeadLetterStore) -> None:
        self.store = store

    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: Context
    ) -> pb.ListDeadLettersResponse:
        if request.topic and request.topic not in _TOPICS:
            raise InvalidArgument("TOPIC_UNKNOWN", "topic must be an event topic or empty")
        letters, next_token = await self.store.list(
            request.topic, request.page_size, request.page_token
        )
        return pb.ListDeadLettersResponse(
            dead_letters=[_message(letter) for letter in letters],
            next_page_token=next_token,
            total_count=await self.store.count(),
        )

    async def RequeueDeadLetter(
        self, request: pb.RequeueDeadLetterRequest, context: Context
    ) -> pb.RequeueDeadLetterResponse:
        entry_id = await self.store.requeue(request.dead_letter_id)
        return pb.RequeueDeadLetterResponse(stream_entry_id=entry_id)

    async def DiscardDeadLetter(
        self, request: pb.DiscardDeadLetterRequest, context: Context
    ) -> pb.DiscardDeadLetterResponse:
        await self.store.discard(request.dead_letter_id)
        return pb.DiscardDeadLetterResponse()
