"""What a fixture must be before the gateway stores and prices it (UpsertFixtures)."""

from __future__ import annotations

from collections.abc import Sequence

from betmesh.common.v1 import sport_pb2

from service_runtime.errors import InvalidArgument


def check_fixtures(fixtures: Sequence[sport_pb2.Fixture]) -> None:
    """A batch is stored whole or not at all: one bad fixture refuses the request."""
    ids = [f.fixture_id for f in fixtures]
    if len(ids) != len(set(ids)):
        raise InvalidArgument("DUPLICATE_FIXTURE_ID", "a fixture_id appears twice in the request")
    for fixture in fixtures:
        check_fixture(fixture)


def check_fixture(fixture: sport_pb2.Fixture) -> None:
    where = {"fixture_id": fixture.fixture_id}
    if not fixture.fixture_id:
        raise InvalidArgument("FIXTURE_ID_REQUIRED", "every fixture needs a fixture_id")
    if fixture.sport == sport_pb2.SPORT_UNSPECIFIED:
        raise InvalidArgument("SPORT_REQUIRED", f"{fixture.fixture_id}: sport is required", where)
    if not fixture.home.participant_id or not fixture.away.participant_id:
        raise InvalidArgument(
            "PARTICIPANTS_REQUIRED", f"{fixture.fixture_id}: home and away are required", where
        )
    if fixture.home.participant_id == fixture.away.participant_id:
        raise InvalidArgument(
            "SAME_PARTICIPANTS", f"{fixture.fixture_id}: home and away must differ", where
        )
    if not fixture.HasField("start_time"):
        raise InvalidArgument(
            "START_TIME_REQUIRED", f"{fixture.fixture_id}: start_time is required", where
        )
    if fixture.sport == sport_pb2.SPORT_TENNIS and fixture.best_of_sets not in (3, 5):
        raise InvalidArgument(
            "INVALID_BEST_OF_SETS", f"{fixture.fixture_id}: best_of_sets must be 3 or 5", where
        )
    # A sport's own field on a fixture of another sport is a mistake in the caller's data (a
    # tennis surface on a football match): stored, it would be silently ignored by every
    # pricer, so it is refused instead.
    if fixture.basketball_rules and fixture.sport != sport_pb2.SPORT_BASKETBALL:
        raise InvalidArgument(
            "BASKETBALL_RULES_NOT_FOR_SPORT",
            f"{fixture.fixture_id}: basketball_rules is for basketball fixtures only",
            {**where, "sport": sport_pb2.Sport.Name(fixture.sport)},
        )
    if fixture.best_of_sets and fixture.sport != sport_pb2.SPORT_TENNIS:
        raise InvalidArgument(
            "BEST_OF_SETS_NOT_FOR_SPORT",
            f"{fixture.fixture_id}: best_of_sets is for tennis fixtures only",
            {**where, "sport": sport_pb2.Sport.Name(fixture.sport)},
        )
    if fixture.surface and fixture.sport != sport_pb2.SPORT_TENNIS:
        raise InvalidArgument(
            "SURFACE_NOT_FOR_SPORT",
            f"{fixture.fixture_id}: surface is for tennis fixtures only",
            {**where, "sport": sport_pb2.Sport.Name(fixture.sport)},
        )
