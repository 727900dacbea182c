"""Two agreeing sources for a fixture, straight through the oracle core."""

from __future__ import annotations

from betmesh.common.v1 import sport_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as pb

from services.oracle.adapters.postgres_store import PostgresResultStore
from services.oracle.service_layer.commands import SubmitObservation
from services.oracle.service_layer.handlers import OracleHandlers


async def agree(store: PostgresResultStore, fixture: str) -> None:
    oracle = OracleHandlers(store, 2, None)
    for source in ("simulator", "stats-feed"):
        await oracle.submit_observation(
            SubmitObservation(
                pb.Observation(
                    source_id=source,
                    result=pb.MatchResult(
                        fixture_id=fixture,
                        sport=sport_pb2.SPORT_FOOTBALL,
                        status=pb.RESULT_STATUS_COMPLETED,
                        home_score=2,
                        away_score=1,
                    ),
                )
            )
        )
