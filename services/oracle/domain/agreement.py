"""The validation rule: when do independent observations make a result.

A result is AGREED once at least `required` distinct sources have reported and every one of
them reports the same outcome (sport, status, scores, set games, half-time scores). Any
disagreement holds the result for an operator: a bookmaker must never settle on a score that
its own sources dispute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from betmesh.common.v1 import sport_pb2
from betmesh.oracle.v1 import oracle_service_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2

from service_runtime.digest import canonical_bytes, digest_bytes
from service_runtime.errors import InvalidArgument

MAX_ID_LENGTH = 200
# Far above any real score; keeps every number inside a PostgreSQL integer.
MAX_SCORE = 10_000
VS = pb.ValidationState


@dataclass(frozen=True)
class Evaluation:
    state: VS.ValueType
    result: pb.MatchResult | None
    sources_hash: str


def outcome_key(result: pb.MatchResult) -> bytes:
    """The bytes two results must share to agree."""
    return canonical_bytes(result)


def sources_hash(observations: Iterable[pb.Observation]) -> str:
    """sha256 over the observations sorted by source, serialised as the `observations` field
    of an otherwise empty ValidatedResult: anyone holding the observations can recompute it."""
    ordered = sorted(observations, key=lambda o: o.source_id)
    return digest_bytes(canonical_bytes(pb.ValidatedResult(observations=ordered)))


def _violation(
    field: str, reason: str, description: str
) -> error_details_pb2.BadRequest.FieldViolation:
    return error_details_pb2.BadRequest.FieldViolation(
        field=field, reason=reason, description=description
    )


def check_result(
    result: pb.MatchResult, prefix: str
) -> list[error_details_pb2.BadRequest.FieldViolation]:
    problems = []
    if not result.fixture_id:
        problems.append(_violation(f"{prefix}.fixture_id", "FIXTURE_ID_REQUIRED", "required"))
    elif len(result.fixture_id) > MAX_ID_LENGTH:
        problems.append(_violation(f"{prefix}.fixture_id", "FIXTURE_ID_TOO_LONG", "too long"))
    if result.sport == sport_pb2.SPORT_UNSPECIFIED:
        problems.append(_violation(f"{prefix}.sport", "SPORT_REQUIRED", "required"))
    elif result.sport not in sport_pb2.Sport.values():
        problems.append(_violation(f"{prefix}.sport", "SPORT_INVALID", "unknown sport"))
    if result.status == pb.RESULT_STATUS_UNSPECIFIED:
        problems.append(_violation(f"{prefix}.status", "STATUS_REQUIRED", "required"))
    elif result.status not in pb.ResultStatus.values():
        problems.append(_violation(f"{prefix}.status", "STATUS_INVALID", "unknown status"))
    scores = [
        result.home_score,
        result.away_score,
        result.home_half_time_score,
        result.away_half_time_score,
        *result.set_games,
    ]
    if any(score > MAX_SCORE for score in scores):
        problems.append(_violation(f"{prefix}", "SCORE_OUT_OF_RANGE", f"scores above {MAX_SCORE}"))
    if len(result.set_games) % 2:
        problems.append(
            _violation(f"{prefix}.set_games", "SET_GAMES_INVALID", "home and away games per set")
        )
    return problems


def raise_if(problems: Sequence[error_details_pb2.BadRequest.FieldViolation]) -> None:
    if problems:
        fields = ", ".join(p.field for p in problems)
        raise InvalidArgument(
            problems[0].reason,
            "invalid: " + "; ".join(f"{p.field} {p.description}" for p in problems),
            {"fields": fields},
            details=[error_details_pb2.BadRequest(field_violations=problems)],
        )


def normalise_observation(observation: pb.Observation, now: Timestamp) -> pb.Observation:
    """A checked copy, stamped with the receipt time when the source gave none."""
    problems = []
    if not observation.source_id:
        problems.append(_violation("observation.source_id", "SOURCE_ID_REQUIRED", "required"))
    elif len(observation.source_id) > MAX_ID_LENGTH:
        problems.append(_violation("observation.source_id", "SOURCE_ID_TOO_LONG", "too long"))
    problems.extend(check_result(observation.result, "observation.result"))
    raise_if(problems)
    checked = pb.Observation()
    checked.CopyFrom(observation)
    if not checked.HasField("observed_at"):
        checked.observed_at.CopyFrom(now)
    return checked


def evaluate(observations: Sequence[pb.Observation], required: int) -> Evaluation:
    """The state the observations of one fixture (one per source) put its result in."""
    outcomes = {outcome_key(o.result) for o in observations}
    if len(outcomes) > 1:
        return Evaluation(pb.VALIDATION_STATE_HELD, None, "")
    if len({o.source_id for o in observations}) < required or not observations:
        return Evaluation(pb.VALIDATION_STATE_AWAITING_SOURCES, None, "")
    result = pb.MatchResult()
    result.CopyFrom(observations[0].result)
    return Evaluation(pb.VALIDATION_STATE_AGREED, result, sources_hash(observations))
