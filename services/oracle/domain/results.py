"""Results of fixtures as the oracle keeps them, and what may happen to them.

Each operation is a pure function from the stored record to the next one; the store applies
it atomically per fixture, so two sources reporting at once are evaluated one after the other.
Who may ask for what is decided here too; the use cases that sequence these over the store
and the bus are the service layer's (services/oracle/service_layer/handlers.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from betmesh.oracle.v1 import oracle_service_pb2 as pb

from service_runtime import page_tokens
from service_runtime.auth import Principal
from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.oracle.domain.agreement import (
    check_result,
    evaluate,
    outcome_key,
    raise_if,
    sources_hash,
)

VALIDATED = frozenset({pb.VALIDATION_STATE_AGREED, pb.VALIDATION_STATE_RESOLVED})
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
OPERATOR_ROLE = "operator"


PUBLICATION_STATUS = {
    "PENDING": pb.PUBLICATION_STATUS_PENDING,
    "SUBMITTED": pb.PUBLICATION_STATUS_SUBMITTED,
    "CONFIRMED": pb.PUBLICATION_STATUS_CONFIRMED,
    "FINAL": pb.PUBLICATION_STATUS_FINAL,
    # Refused: waits for an operator's RetryPublication, shown as what it is.
    "FAILED": pb.PUBLICATION_STATUS_FAILED,
}
MAX_NOTE_LENGTH = 500


@dataclass(frozen=True)
class PublicationView:
    status: str
    version: int
    transaction_hash: str = ""
    block_number: int = 0
    final_at: datetime | None = None
    failure: str = ""
    # A finalise transaction is on its way: the dispute window has closed.
    finalising: bool = False


@dataclass(frozen=True)
class ResultRecord:
    fixture_id: str
    state: pb.ValidationState.ValueType
    observations: tuple[pb.Observation, ...]  # one per source, sorted by source_id
    result: pb.MatchResult | None = None
    sources_hash: str = ""
    resolution_note: str = ""
    resolved_by: str = ""
    # Set when the result becomes validated, cleared once the event is on the bus (outbox).
    event_pending: bool = False
    # Observations stored before this change; the store inserts the rest.
    stored_sources: frozenset[str] = field(default=frozenset(), compare=False)
    # Read with the record; written by the chain publisher only.
    publication: PublicationView | None = field(default=None, compare=False)

    def to_proto(self, chain_id: int = 0, contract_address: str = "") -> pb.ValidatedResult:
        message = pb.ValidatedResult(
            fixture_id=self.fixture_id,
            state=self.state,
            observations=list(self.observations),
            publication=pb.Publication(status=pb.PUBLICATION_STATUS_NOT_PUBLISHED),
            sources_hash=self.sources_hash,
        )
        view = self.publication
        if view is not None:
            message.publication.CopyFrom(
                pb.Publication(
                    status=PUBLICATION_STATUS[view.status],
                    chain_id=chain_id,
                    contract_address=contract_address,
                    transaction_hash=view.transaction_hash,
                    block_number=view.block_number,
                    version=view.version,
                    failure=view.failure[:MAX_NOTE_LENGTH],
                )
            )
            if view.final_at is not None:
                message.publication.final_at.FromDatetime(view.final_at)
        if self.result is not None:
            message.result.CopyFrom(self.result)
        return message


def submit(
    current: ResultRecord | None, observation: pb.Observation, required: int
) -> tuple[ResultRecord, bool]:
    """The record after one source's observation, and whether it was a re-submission."""
    fixture_id = observation.result.fixture_id
    observations = list(current.observations) if current is not None else []
    previous = next((o for o in observations if o.source_id == observation.source_id), None)
    if previous is not None:
        if outcome_key(previous.result) == outcome_key(observation.result):
            assert current is not None
            return current, True
        raise FailedPrecondition(
            "OBSERVATION_CONFLICT",
            f"source {observation.source_id} already reported another result for {fixture_id}",
            {"fixture_id": fixture_id, "source_id": observation.source_id},
        )
    observations.append(observation)
    observations.sort(key=lambda o: o.source_id)
    stored = current.stored_sources if current is not None else frozenset()
    if current is not None and current.state != pb.VALIDATION_STATE_AWAITING_SOURCES:
        # Once agreed, held or resolved, a late report is kept for audit. It changes the result
        # only as a new agreement: `required` sources on another outcome, more of them than
        # back the current one, while the result can still be corrected on chain.
        kept = replace(current, observations=tuple(observations))
        return _new_agreement(kept, required) or kept, False
    evaluation = evaluate(observations, required)
    record = ResultRecord(
        fixture_id=fixture_id,
        state=evaluation.state,
        observations=tuple(observations),
        result=evaluation.result,
        sources_hash=evaluation.sources_hash,
        event_pending=evaluation.state in VALIDATED,
        stored_sources=stored,
    )
    return record, False


def _new_agreement(record: ResultRecord, required: int) -> ResultRecord | None:
    if record.state not in VALIDATED or record.result is None:
        return None
    view = record.publication
    if view is None or view.finalising or view.status not in ("PENDING", "FAILED", "CONFIRMED"):
        return None  # not published here, in flight, or final: nothing to correct now
    groups: dict[object, list[pb.Observation]] = {}
    for o in record.observations:
        groups.setdefault(outcome_key(o.result), []).append(o)
    backing = len(groups.get(outcome_key(record.result), []))
    best = max(
        (g for k, g in groups.items() if k != outcome_key(record.result)),
        key=len,
        default=[],
    )
    if len({o.source_id for o in best}) < required or len(best) <= backing:
        return None
    result = pb.MatchResult()
    result.CopyFrom(best[0].result)
    return replace(
        record,
        state=pb.VALIDATION_STATE_AGREED,
        result=result,
        sources_hash=sources_hash(best),
        resolution_note="a new agreement of sources",
        resolved_by="sources",
    )


def resolve(
    current: ResultRecord | None, fixture_id: str, chosen: pb.MatchResult, note: str, resolver: str
) -> ResultRecord:
    if current is None:
        raise NotFound(
            "RESULT_NOT_FOUND", f"no observations for {fixture_id}", {"fixture_id": fixture_id}
        )
    if current.state != pb.VALIDATION_STATE_HELD:
        raise FailedPrecondition(
            "RESULT_NOT_HELD",
            f"{fixture_id} is {pb.ValidationState.Name(current.state)}, not held",
            {"fixture_id": fixture_id, "state": pb.ValidationState.Name(current.state)},
        )
    backing = _backing(current, chosen)
    if not backing:
        raise InvalidArgument(
            "RESOLUTION_NOT_OBSERVED",
            "the chosen result must be one a source observed",
            {"fixture_id": fixture_id},
        )
    return _resolved(current, chosen, backing, note, resolver)


def _backing(current: ResultRecord, chosen: pb.MatchResult) -> list[pb.Observation]:
    """The observations that saw the outcome an operator chose."""
    return [o for o in current.observations if outcome_key(o.result) == outcome_key(chosen)]


def _resolved(
    current: ResultRecord,
    chosen: pb.MatchResult,
    backing: list[pb.Observation],
    note: str,
    by: str,
) -> ResultRecord:
    """The record as an operator resolved it: their result, hashed from what backs it, and
    announced like any validated result (partners' provisional settlements follow it)."""
    return replace(
        current,
        state=pb.VALIDATION_STATE_RESOLVED,
        result=chosen,
        sources_hash=sources_hash(backing),
        resolution_note=note,
        resolved_by=by,
        event_pending=True,
    )


def correct(
    current: ResultRecord | None, fixture_id: str, chosen: pb.MatchResult, note: str, by: str
) -> tuple[ResultRecord, int]:
    """The record after an operator's correction, and the version it is published at: the
    next one when the current version is on chain, the same one when it never got there."""
    if current is None or current.state not in VALIDATED or current.result is None:
        raise FailedPrecondition(
            "RESULT_NOT_VALIDATED",
            f"{fixture_id} has no validated result to correct",
            {"fixture_id": fixture_id},
        )
    view = current.publication
    if view is None:
        raise FailedPrecondition(
            "NOT_PUBLISHED", "results are not published on chain here", {"fixture_id": fixture_id}
        )
    if view.status == "FINAL" or view.finalising:
        raise FailedPrecondition(
            "RESULT_FINAL",
            f"the dispute window of {fixture_id} has closed: it can no longer be corrected",
            {"fixture_id": fixture_id},
        )
    if view.status == "SUBMITTED":
        raise FailedPrecondition(
            "PUBLICATION_IN_FLIGHT",
            f"version {view.version} of {fixture_id} is being sent: retry once confirmed",
            {"fixture_id": fixture_id},
        )
    if outcome_key(current.result) == outcome_key(chosen):
        return current, view.version  # already what the operator asks: a retry
    backing = _backing(current, chosen)
    if not backing:
        # The operator's word is the source: hashed like one observation, recomputable
        # from the audit row.
        backing = [pb.Observation(source_id=f"operator:{by}", result=chosen, source_reference=note)]
    version = view.version + 1 if view.status == "CONFIRMED" else view.version
    return _resolved(current, chosen, backing, note, by), version


def encode_page_token(fixture_id: str) -> str:
    return page_tokens.encode("held", fixture_id)


def decode_page_token(token: str) -> str:
    # Strictly parsed (service_runtime.page_tokens): printable ASCII, bounded, or a refusal.
    return page_tokens.decode_key("held", token) or ""


def check_fixture_id(fixture_id: str) -> None:
    if not fixture_id:
        raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")


def page_size(asked: int) -> int:
    return min(asked or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def held_resolution(
    fixture_id: str, chosen: pb.MatchResult | None, note: str, caller: Principal | None
) -> pb.MatchResult:
    """The result an operator's resolution of a held result chooses, once it may be taken."""
    # Deciding a disputed result decides payouts: only an authenticated operator may.
    if caller is None or caller.role != OPERATOR_ROLE:
        raise PermissionDenied("OPERATOR_REQUIRED", "only an operator may resolve a held result")
    return _chosen_result(fixture_id, chosen, note)


def operator_correction(
    fixture_id: str, chosen: pb.MatchResult | None, note: str, caller: Principal | None
) -> pb.MatchResult:
    """The result an operator's correction chooses, once it may be taken."""
    if caller is None or caller.role != OPERATOR_ROLE:
        raise PermissionDenied("OPERATOR_REQUIRED", "only an operator may correct a result")
    result = _chosen_result(fixture_id, chosen, note)
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidArgument("NOTE_TOO_LONG", "the note is at most 500 characters")
    return result


def check_publication_retry(fixture_id: str, note: str, caller: Principal | None) -> None:
    if caller is None or caller.role != OPERATOR_ROLE:
        raise PermissionDenied("OPERATOR_REQUIRED", "only an operator may retry a publication")
    check_fixture_id(fixture_id)
    if not note.strip() or len(note) > MAX_NOTE_LENGTH:
        raise InvalidArgument("NOTE_REQUIRED", "a note (at most 500 characters) is required")


def _chosen_result(fixture_id: str, chosen: pb.MatchResult | None, note: str) -> pb.MatchResult:
    check_fixture_id(fixture_id)
    if chosen is None:
        raise InvalidArgument("RESULT_REQUIRED", "the chosen result is required")
    result = pb.MatchResult()
    result.CopyFrom(chosen)
    result.fixture_id = result.fixture_id or fixture_id
    if result.fixture_id != fixture_id:
        raise InvalidArgument("FIXTURE_MISMATCH", "result.fixture_id differs from fixture_id")
    raise_if(check_result(result, "result"))
    if not note.strip():
        raise InvalidArgument("NOTE_REQUIRED", "a note is required for the audit trail")
    return result


def announced_now(current: ResultRecord | None, record: ResultRecord) -> bool:
    """Whether this change validated the result: only the report that did announces it; an
    event still pending after that (publish failed) is the relay's, so concurrent reports do
    not repeat it."""
    return record.state in VALIDATED and (current is None or current.state not in VALIDATED)
