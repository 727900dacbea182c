"""Results reported to an oracle as its sources do: over gRPC to a running one, or through the
service layer straight onto a result store."""

from __future__ import annotations

from collections.abc import Sequence

from betmesh.common.v1 import sport_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from betmesh.oracle.v1 import oracle_service_pb2_grpc

from services.oracle.domain.ports import ResultStore
from services.oracle.service_layer.commands import SubmitObservation
from services.oracle.service_layer.handlers import OracleHandlers

# The two sources a local oracle requires to agree (BETMESH_ORACLE_REQUIRED_SOURCES=2).
SOURCES = ("simulator", "stats-feed")


def football_observation(source: str, fixture_id: str, home: int, away: int) -> pb.Observation:
    """`source` saw the football match `fixture_id` completed, ending home-away."""
    return pb.Observation(
        source_id=source,
        result=pb.MatchResult(
            fixture_id=fixture_id,
            sport=sport_pb2.SPORT_FOOTBALL,
            status=pb.RESULT_STATUS_COMPLETED,
            home_score=home,
            away_score=away,
        ),
    )


async def report_football_result(
    oracle: oracle_service_pb2_grpc.OracleServiceStub,
    fixture_id: str,
    home: int,
    away: int,
    sources: Sequence[str] = SOURCES,
) -> None:
    """Each source reports the result to a running oracle."""
    for source in sources:
        await oracle.SubmitObservation(
            pb.SubmitObservationRequest(
                observation=football_observation(source, fixture_id, home, away)
            )
        )


async def agree_on_football_result(
    store: ResultStore, fixture_id: str, home: int = 2, away: int = 1
) -> None:
    """Both sources agree on the result through the service layer: validated in `store`."""
    oracle = OracleHandlers(store, len(SOURCES), None)
    for source in SOURCES:
        await oracle.submit_observation(
            SubmitObservation(football_observation(source, fixture_id, home, away))
        )
