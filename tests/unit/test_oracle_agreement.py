"""The validation rule and the result transitions, without storage."""

from __future__ import annotations

import hashlib

import pytest
from betmesh.common.v1 import sport_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2

from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from services.oracle.domain.agreement import evaluate, normalise_observation, sources_hash
from services.oracle.domain.results import ResultRecord, resolve, submit

NOW = Timestamp(seconds=1_700_000_000)


def result(home: int = 2, away: int = 1, **extra: object) -> pb.MatchResult:
    fields: dict[str, object] = {
        "fixture_id": "fx-1",
        "sport": sport_pb2.SPORT_FOOTBALL,
        "status": pb.RESULT_STATUS_COMPLETED,
        "home_score": home,
        "away_score": away,
        "home_half_time_score": 1,
        "away_half_time_score": 0,
        **extra,
    }
    return pb.MatchResult(**fields)  # type: ignore[arg-type]


def observation(source: str, match: pb.MatchResult | None = None) -> pb.Observation:
    return pb.Observation(source_id=source, result=match or result(), observed_at=NOW)


def test_one_source_is_not_enough() -> None:
    assert evaluate([observation("a")], 2).state == pb.VALIDATION_STATE_AWAITING_SOURCES


def test_agreement_of_the_required_sources() -> None:
    evaluation = evaluate([observation("a"), observation("b")], 2)
    assert evaluation.state == pb.VALIDATION_STATE_AGREED
    assert evaluation.result == result()
    assert evaluation.sources_hash.startswith("sha256:")


@pytest.mark.parametrize(
    "other",
    [
        result(home=3),
        result(away=0),
        result(status=pb.RESULT_STATUS_ABANDONED),
        result(home_half_time_score=2),
        result(away_half_time_score=1),
        result(sport=sport_pb2.SPORT_BASKETBALL),
        result(set_games=[6, 4]),
    ],
)
def test_any_difference_holds(other: pb.MatchResult) -> None:
    for required in (1, 2, 3):
        evaluation = evaluate([observation("a"), observation("b", other)], required)
        assert evaluation.state == pb.VALIDATION_STATE_HELD
        assert evaluation.result is None


def test_tennis_sets_must_match_in_order() -> None:
    first = result(sport=sport_pb2.SPORT_TENNIS, home=2, away=1, set_games=[6, 4, 3, 6, 7, 6])
    swapped = result(sport=sport_pb2.SPORT_TENNIS, home=2, away=1, set_games=[3, 6, 6, 4, 7, 6])
    assert (
        evaluate([observation("a", first), observation("b", first)], 2).state
        == pb.VALIDATION_STATE_AGREED
    )
    assert (
        evaluate([observation("a", first), observation("b", swapped)], 2).state
        == pb.VALIDATION_STATE_HELD
    )


def test_sources_hash_is_order_free_and_recomputable() -> None:
    a, b = observation("a"), observation("b")
    digest = sources_hash([b, a])
    assert digest == sources_hash([a, b])
    expected = hashlib.sha256(
        pb.ValidatedResult(observations=[a, b]).SerializeToString(deterministic=True)
    ).hexdigest()
    assert digest == "sha256:" + expected
    assert sources_hash([a, observation("b", result(home=3))]) != digest


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (pb.Observation(result=result()), "SOURCE_ID_REQUIRED"),
        (pb.Observation(source_id="a", result=result(fixture_id="")), "FIXTURE_ID_REQUIRED"),
        (pb.Observation(source_id="a", result=result(status=0)), "STATUS_REQUIRED"),
        (pb.Observation(source_id="a", result=result(status=99)), "STATUS_INVALID"),
        (pb.Observation(source_id="a", result=result(sport=0)), "SPORT_REQUIRED"),
        (pb.Observation(source_id="a", result=result(set_games=[6])), "SET_GAMES_INVALID"),
        (pb.Observation(source_id="a", result=result(home=1_000_000)), "SCORE_OUT_OF_RANGE"),
        (pb.Observation(source_id="x" * 201, result=result()), "SOURCE_ID_TOO_LONG"),
    ],
)
def test_bad_observations(bad: pb.Observation, reason: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        normalise_observation(bad, NOW)
    assert caught.value.reason == reason
    (details,) = caught.value.details
    assert isinstance(details, error_details_pb2.BadRequest)
    assert details.field_violations[0].reason == reason


def test_every_problem_is_reported() -> None:
    with pytest.raises(InvalidArgument) as caught:
        normalise_observation(pb.Observation(), NOW)
    assert caught.value.reason == "SOURCE_ID_REQUIRED"
    fields = caught.value.metadata["fields"].split(", ")
    assert fields == [
        "observation.source_id",
        "observation.result.fixture_id",
        "observation.result.sport",
        "observation.result.status",
    ]


def test_receipt_time_when_the_source_gives_none() -> None:
    stamped = normalise_observation(pb.Observation(source_id="a", result=result()), NOW)
    assert stamped.observed_at == NOW


def test_submit_transitions() -> None:
    first, duplicate = submit(None, observation("b"), 2)
    assert (first.state, duplicate) == (pb.VALIDATION_STATE_AWAITING_SOURCES, False)
    again, duplicate = submit(first, observation("b"), 2)
    assert duplicate and again is first
    with pytest.raises(FailedPrecondition) as conflict:
        submit(first, observation("b", result(home=0)), 2)
    assert conflict.value.reason == "OBSERVATION_CONFLICT"
    agreed, _ = submit(first, observation("a"), 2)
    assert agreed.state == pb.VALIDATION_STATE_AGREED
    assert [o.source_id for o in agreed.observations] == ["a", "b"]
    assert agreed.event_pending
    # A late dissent is recorded but does not undo a validated result.
    late, _ = submit(agreed, observation("c", result(home=5)), 2)
    assert late.state == pb.VALIDATION_STATE_AGREED
    assert late.result == agreed.result and late.sources_hash == agreed.sources_hash
    assert len(late.observations) == 3


def test_held_stays_held_until_resolved() -> None:
    held, _ = submit(submit(None, observation("a"), 3)[0], observation("b", result(home=3)), 3)
    assert held.state == pb.VALIDATION_STATE_HELD
    still, _ = submit(held, observation("c"), 3)
    assert still.state == pb.VALIDATION_STATE_HELD

    with pytest.raises(InvalidArgument) as unobserved:
        resolve(still, "fx-1", result(home=4), "why", "op")
    assert unobserved.value.reason == "RESOLUTION_NOT_OBSERVED"
    resolved = resolve(still, "fx-1", result(), "two of three and the video", "op")
    assert resolved.state == pb.VALIDATION_STATE_RESOLVED
    assert resolved.result == result()
    assert resolved.sources_hash == sources_hash([observation("a"), observation("c")])
    assert (resolved.resolution_note, resolved.resolved_by) == ("two of three and the video", "op")

    with pytest.raises(FailedPrecondition) as not_held:
        resolve(resolved, "fx-1", result(), "again", "op")
    assert not_held.value.reason == "RESULT_NOT_HELD"
    with pytest.raises(NotFound):
        resolve(None, "fx-2", result(), "n", "op")


def test_record_equality_ignores_bookkeeping() -> None:
    record = ResultRecord("fx", pb.VALIDATION_STATE_HELD, (observation("a"),))
    assert record == ResultRecord(
        "fx", pb.VALIDATION_STATE_HELD, (observation("a"),), stored_sources=frozenset({"a"})
    )
