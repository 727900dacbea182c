"""Accepted quote sets announced on the bus (`quotes.accepted`, service_runtime.events)."""

from __future__ import annotations

from betmesh.events.v1 import events_pb2

from gateway.domain.evidence import agreeing
from gateway.domain.model import Accepted
from service_runtime.events import EventPublisher, Topic


class QuoteSetAnnouncer:
    """What ConsensusGateway.on_accepted calls after a set is stored."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    async def announce(self, accepted: Accepted) -> None:
        await self._publisher.publish(
            Topic.QUOTE_SET_ACCEPTED,
            events_pb2.EventEnvelope(
                quote_set_accepted=events_pb2.QuoteSetAccepted(
                    quote_set=accepted.quote_set,
                    digest=accepted.digest,
                    agreeing_replicas=agreeing(accepted.evidence),
                    quorum=accepted.evidence.quorum,
                )
            ),
        )
