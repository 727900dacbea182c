"""Announces validated results on the event bus (Redis Streams)."""

from __future__ import annotations

from betmesh.events.v1 import events_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as pb

from service_runtime.events import EventPublisher, Topic
from services.oracle.domain.results import ResultRecord
from services.oracle.service_layer.ports import FinalNotice


def result_validated(record: ResultRecord) -> events_pb2.EventEnvelope:
    if record.result is None:
        raise ValueError(f"{record.fixture_id} has no validated result to announce")
    return events_pb2.EventEnvelope(
        # Derived from the record, so a re-announcement after a crash carries the same id and
        # consumers drop it as a duplicate.
        # The sources hash names the result's content: a correction is a new event.
        event_id=(
            f"oracle:result-validated:{record.fixture_id}:"
            f"{pb.ValidationState.Name(record.state)}:{record.sources_hash}"
        ),
        result_validated=events_pb2.ResultValidated(
            fixture_id=record.fixture_id,
            home_score=record.result.home_score,
            away_score=record.result.away_score,
            status=pb.ResultStatus.Name(record.result.status),
            sources_hash=record.sources_hash,
        ),
    )


class ResultEventPublisher:
    def __init__(self, publisher: EventPublisher) -> None:
        self.publisher = publisher

    async def __call__(self, record: ResultRecord) -> None:
        await self.publisher.publish(Topic.RESULT_VALIDATED, result_validated(record))


def result_finalised(
    record: ResultRecord, version: int, transaction_hash: str, block_number: int
) -> events_pb2.EventEnvelope:
    """Built from what the chain says is final; the id makes a re-announcement a duplicate."""
    if record.result is None:
        raise ValueError(f"{record.fixture_id} has no validated result to announce")
    return events_pb2.EventEnvelope(
        event_id=f"oracle:result-finalised:{record.fixture_id}:{version}",
        result_finalised=events_pb2.ResultFinalised(
            fixture_id=record.fixture_id,
            home_score=record.result.home_score,
            away_score=record.result.away_score,
            status=pb.ResultStatus.Name(record.result.status),
            version=version,
            transaction_hash=transaction_hash,
            block_number=block_number,
            correction=version > 1,
            set_games=list(record.result.set_games),
            sources_hash=record.sources_hash,
        ),
    )


class FinalEventPublisher:
    def __init__(self, publisher: EventPublisher) -> None:
        self.publisher = publisher

    async def __call__(self, record: ResultRecord, notice: FinalNotice) -> None:
        await self.publisher.publish(
            Topic.RESULT_FINALISED,
            result_finalised(record, notice.version, notice.transaction_hash, notice.block_number),
        )
