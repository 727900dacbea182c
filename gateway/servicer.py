"""ConsensusGatewayService and FixtureService over gRPC: translation only."""

from __future__ import annotations

import logging
from datetime import UTC

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import (
    consensus_gateway_service_pb2_grpc,
    fixture_service_pb2,
    fixture_service_pb2_grpc,
)
from betmesh.quotes.v1 import quote_service_pb2
from google.protobuf import timestamp_pb2
from opentelemetry import trace

from gateway.domain.canary import SnapshotCanary
from gateway.domain.evidence import evidence_message
from gateway.domain.gateway import ConsensusGateway, NoQuorum
from gateway.domain.guard import PriceGuard
from gateway.domain.holds import HoldStatus, PriceHold
from gateway.domain.ports import Accepted, FixtureRepository
from gateway.domain.replicas import ReplicaHealth, State
from gateway.domain.scheduler import PreMatchScheduler
from service_runtime import page_tokens
from service_runtime.auth import current_principal
from service_runtime.digest import is_digest
from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from service_runtime.server import ServicerContext
from service_runtime.telemetry import tracer

log = logging.getLogger(__name__)

Context = ServicerContext
MAX_PAGE = 1_000


def _timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (a message, bytes or a string)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_QUOTE_SET = pb.AcceptedQuoteSet.DESCRIPTOR.fields_by_name["quote_set"].number
_CANONICAL = pb.AcceptedQuoteSet.DESCRIPTOR.fields_by_name["canonical_quote_set"].number


def _accepted_encoded(accepted: Accepted) -> bytes:
    """An AcceptedQuoteSet on the wire. The quorum's canonical bytes ARE an encoded QuoteSet, so
    they go in as both `quote_set` and `canonical_quote_set` unchanged: no decode and re-encode
    of every market on the way out (fields may come in any order on the wire)."""
    rest = pb.AcceptedQuoteSet(
        quote_set_id=f"{accepted.digest}@{int(accepted.accepted_at * 1000)}",
        digest=accepted.digest,
        evidence=accepted.evidence,
        accepted_at=_timestamp(accepted.accepted_at),
    ).SerializeToString()
    return rest + _field(_QUOTE_SET, accepted.data) + _field(_CANONICAL, accepted.data)


def accepted_response(accepted: Accepted) -> bytes:
    """GetConsensusQuoteResponse and GetAcceptedQuoteSetResponse alike: `accepted` is field 1."""
    return _field(1, _accepted_encoded(accepted))


def _verdict(name: str) -> pb.DissentVerdict.ValueType:
    key = "DISSENT_VERDICT_" + name
    if key not in pb.DissentVerdict.keys():  # noqa: SIM118 - an enum wrapper, not a dict
        return pb.DISSENT_VERDICT_UNSPECIFIED
    return pb.DissentVerdict.Value(key)


_OFFSET = "off"


def _page(size: int, token: str) -> tuple[int, int]:
    # Opaque offsets, parsed strictly (service_runtime.page_tokens): no made-up token reaches
    # a query as an overflowing OFFSET.
    return min(size or 100, MAX_PAGE), page_tokens.decode_int(_OFFSET, token) or 0


def _next_token(offset: int, more: bool) -> str:
    return page_tokens.encode(_OFFSET, offset) if more else ""


class ConsensusGatewayServicer(consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceServicer):
    def __init__(
        self,
        gateway: ConsensusGateway,
        scheduler: PreMatchScheduler,
        guard: PriceGuard | None = None,
        canary: SnapshotCanary | None = None,
    ) -> None:
        self.gateway = gateway
        self.scheduler = scheduler
        self.guard = guard
        self.canary = canary
        self._tracer = tracer(__name__)

    # Both quote-set answers go out pre-encoded (bytes pass the server's serializer untouched).
    async def GetConsensusQuote(  # type: ignore[override]
        self, request: pb.GetConsensusQuoteRequest, context: Context
    ) -> bytes:
        price_request = quote_service_pb2.PriceFixtureRequest(
            fixture=request.fixture,
            snapshot_hash=request.snapshot_hash,
            market_types=request.market_types,
        )
        if request.HasField("game_state"):
            price_request.game_state.CopyFrom(request.game_state)
        # The consensus attributes go on the call's own server span (service_runtime.handlers):
        # a child span per call would only repeat it, at a fifth of the call's tracing CPU.
        span = trace.get_current_span()
        span.set_attributes(
            {
                "betmesh.fixture.id": request.fixture.fixture_id,
                "betmesh.sport": sport_pb2.Sport.Name(request.fixture.sport),
            }
        )
        try:
            accepted = await self.gateway.quote(price_request)
        except NoQuorum as refusal:
            span.set_attribute("betmesh.consensus.accepted", False)
            refusal.details.append(
                pb.ConsensusRefusal(
                    fixture_id=refusal.fixture_id,
                    sport=refusal.sport,
                    evidence=evidence_message(refusal.decision),
                )
            )
            raise
        span.set_attribute("betmesh.consensus.accepted", True)
        span.set_attribute("betmesh.quote_set.digest", accepted.digest)
        return accepted_response(accepted)

    async def GetAcceptedQuoteSet(  # type: ignore[override]
        self, request: pb.GetAcceptedQuoteSetRequest, context: Context
    ) -> bytes:
        if not request.fixture_id:
            raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")
        accepted = await self.gateway.latest(request.fixture_id, request.phase)
        if accepted is None and request.phase != market_pb2.PRICING_PHASE_LIVE:
            accepted = await self.scheduler.price_missing(request.fixture_id)
        if accepted is None:
            raise NotFound("QUOTE_SET_NOT_FOUND", f"no accepted quote set for {request.fixture_id}")
        return accepted_response(accepted)

    async def QuarantineReplica(
        self, request: pb.QuarantineReplicaRequest, context: Context
    ) -> pb.QuarantineReplicaResponse:
        return pb.QuarantineReplicaResponse(
            replica=self._set_by_operator(request.replica_id, True, request.note)
        )

    async def ReadmitReplica(
        self, request: pb.ReadmitReplicaRequest, context: Context
    ) -> pb.ReadmitReplicaResponse:
        return pb.ReadmitReplicaResponse(
            replica=self._set_by_operator(request.replica_id, False, request.note)
        )

    def _set_by_operator(self, replica_id: str, quarantined: bool, note: str) -> pb.ReplicaStatus:
        for replica_set in self.gateway.replica_sets.values():
            if replica_set.health.set_by_operator(replica_id, quarantined):
                log.warning(
                    "replica quarantined by an operator" if quarantined else "replica readmitted",
                    extra={"replica_id": replica_id, "operator": _operator(), "note": note},
                )
                return replica_message(replica_set.health.replicas[replica_id])
        raise NotFound("REPLICA_NOT_FOUND", "no replica of that id in this gateway")

    async def ListReplicaSets(
        self, request: pb.ListReplicaSetsRequest, context: Context
    ) -> pb.ListReplicaSetsResponse:
        sets = []
        for sport, replica_set in sorted(self.gateway.replica_sets.items()):
            health = replica_set.health
            sets.append(
                pb.ReplicaSetStatus(
                    sport=sport,
                    quorum=health.quorum,
                    replicas=[replica_message(r) for r in health.replicas.values()],
                    min_engines=self.gateway.engines_for(replica_set),
                    engines=health.engines(),
                )
            )
        return pb.ListReplicaSetsResponse(replica_sets=sets)

    async def ListDissents(
        self, request: pb.ListDissentsRequest, context: Context
    ) -> pb.ListDissentsResponse:
        size, offset = _page(request.page_size, request.page_token)
        found = await self.gateway.dissents.list(request.sport, size + 1, offset)
        return pb.ListDissentsResponse(
            dissents=[
                pb.Dissent(
                    fixture_id=d.fixture_id,
                    sport=d.sport,
                    vote=d.vote,
                    majority_digest=d.majority_digest,
                    recorded_at=_timestamp(d.recorded_at),
                    verdict=_verdict(d.verdict),
                    outvoted_by=d.outvoted_by,
                    decision_id=d.decision_id,
                    decision=d.decision,
                )
                for d in found[:size]
            ],
            next_page_token=_next_token(offset + size, len(found) > size),
        )

    async def RunPreMatchPricing(
        self, request: pb.RunPreMatchPricingRequest, context: Context
    ) -> pb.RunPreMatchPricingResponse:
        if request.horizon_days > 366:
            raise InvalidArgument("HORIZON_TOO_LONG", "horizon_days must be at most 366")
        with self._tracer.start_as_current_span("pre-match pricing pass"):
            report = await self.scheduler.run_pass(request.horizon_days)
        return pb.RunPreMatchPricingResponse(
            fixture_count=report.fixture_count,
            priced_count=report.priced,
            unchanged_count=report.unchanged,
            failed_count=report.failed,
            failures=[
                pb.PricingFailureCount(reason=reason, count=count)
                for reason, count in sorted(report.failures.items())
            ],
            snapshot_hashes={
                sport_pb2.Sport.Name(sport).removeprefix("SPORT_").lower(): snapshot
                for sport, snapshot in report.snapshots.items()
            },
            elapsed_micros=int(report.elapsed_seconds * 1e6),
        )

    # ---- the integrity guard and the snapshot canary (operators) -----------------------------

    def _guard(self) -> PriceGuard:
        if self.guard is None:
            raise FailedPrecondition("GUARD_DISABLED", "this gateway runs without the guard")
        return self.guard

    async def ListPriceHolds(
        self, request: pb.ListPriceHoldsRequest, context: Context
    ) -> pb.ListPriceHoldsResponse:
        guard = self._guard()
        if len(request.fixture_id) > 200:
            raise InvalidArgument("FIXTURE_ID_TOO_LONG", "fixture_id is at most 200 characters")
        status = _HOLD_STATUS_IN.get(request.status)
        if request.status and status is None:
            raise InvalidArgument("HOLD_STATUS_INVALID", "status is not a PriceHoldStatus")
        size, offset = _page(request.page_size, request.page_token)
        found = await guard.holds.list(status, request.fixture_id, size + 1, offset)
        # A hold breaking two rules counts under each rule; the totals count holds once.
        counts = await guard.holds.counts()
        return pb.ListPriceHoldsResponse(
            holds=[hold_message(h) for h in found[:size]],
            next_page_token=_next_token(offset + size, len(found) > size),
            held_total=await _total(guard, None),
            open_count=await _total(guard, HoldStatus.OPEN),
            counts=[
                pb.PriceHoldCount(rule=rule, status=_HOLD_STATUS_OUT[HoldStatus(st)], count=n)
                for (rule, st), n in sorted(counts.items())
            ],
        )

    async def ReleasePriceHold(
        self, request: pb.ReleasePriceHoldRequest, context: Context
    ) -> pb.ReleasePriceHoldResponse:
        hold, published = await self._guard().release(request.hold_id, _operator(), request.note)
        return pb.ReleasePriceHoldResponse(hold=hold_message(hold), published=published)

    async def RejectPriceHold(
        self, request: pb.RejectPriceHoldRequest, context: Context
    ) -> pb.RejectPriceHoldResponse:
        hold = await self._guard().reject(request.hold_id, _operator(), request.note)
        return pb.RejectPriceHoldResponse(hold=hold_message(hold))

    def _canary(self) -> SnapshotCanary:
        if self.canary is None:
            raise FailedPrecondition("CANARY_DISABLED", "this gateway runs without the canary")
        return self.canary

    async def ListSnapshotReviews(
        self, request: pb.ListSnapshotReviewsRequest, context: Context
    ) -> pb.ListSnapshotReviewsResponse:
        canary = self._canary()
        size, offset = _page(request.page_size, request.page_token)
        found = await canary.reviews.list(request.sport, size + 1, offset)
        return pb.ListSnapshotReviewsResponse(
            reviews=found[:size],
            next_page_token=_next_token(offset + size, len(found) > size),
        )

    async def ForceSnapshot(
        self, request: pb.ForceSnapshotRequest, context: Context
    ) -> pb.ForceSnapshotResponse:
        canary = self._canary()
        if request.sport not in self.gateway.replica_sets:
            raise InvalidArgument("SPORT_NOT_CONFIGURED", "no replicas are configured for sport")
        if not is_digest(request.snapshot_hash):
            raise InvalidArgument(
                "INVALID_SNAPSHOT_HASH", "snapshot_hash must be 'sha256:' and 64 hex digits"
            )
        review = await canary.force(request.sport, request.snapshot_hash, _operator(), request.note)
        self.scheduler.wake()
        return pb.ForceSnapshotResponse(review=review)


_HOLD_STATUS_OUT = {
    HoldStatus.OPEN: pb.PRICE_HOLD_STATUS_OPEN,
    HoldStatus.RELEASED: pb.PRICE_HOLD_STATUS_RELEASED,
    HoldStatus.REJECTED: pb.PRICE_HOLD_STATUS_REJECTED,
}
_HOLD_STATUS_IN = {v: k for k, v in _HOLD_STATUS_OUT.items()}


async def _total(guard: PriceGuard, status: HoldStatus | None) -> int:
    return await guard.holds.total(status)


def replica_message(r: ReplicaHealth) -> pb.ReplicaStatus:
    return pb.ReplicaStatus(
        replica_id=r.replica_id,
        address=r.address,
        state=pb.REPLICA_STATE_QUARANTINED
        if r.state == State.QUARANTINED
        else pb.REPLICA_STATE_HEALTHY,
        consecutive_faults=r.consecutive_faults,
        agreed_total=r.agreed_total,
        dissented_total=r.dissented_total,
        timed_out_total=r.timed_out_total,
        engine=r.engine,
        majority_suspect_total=r.majority_suspect_total,
        last_verdict=_verdict(r.last_verdict.value if r.last_verdict else ""),
        held_by_operator=r.held_by_operator,
    )


def _operator() -> str:
    principal = current_principal.get()
    return principal.subject if principal is not None else "unauthenticated"


def hold_message(hold: PriceHold) -> pb.PriceHold:
    message = pb.PriceHold(
        hold_id=hold.hold_id,
        fixture_id=hold.fixture_id,
        sport=hold.sport,
        phase=hold.phase,
        market_id=hold.market_id,
        violations=[
            pb.PriceHoldViolation(
                rule=v.rule, detail=v.detail, values={k: str(x) for k, x in v.values.items()}
            )
            for v in hold.violations
        ],
        snapshot_hash=hold.snapshot_hash,
        event_sequence=hold.event_sequence,
        quote_set_digest=hold.quote_set_digest,
        held_market=market_pb2.Market.FromString(hold.held_market),
        status=_HOLD_STATUS_OUT[hold.status],
        held_at=_timestamp(hold.held_at),
        decided_by=hold.decided_by,
        note=hold.note,
    )
    if hold.published_market:
        message.published_market.ParseFromString(hold.published_market)
    if hold.decided_at is not None:
        message.decided_at.CopyFrom(_timestamp(hold.decided_at))
    return message


def _validate_fixture(fixture: sport_pb2.Fixture) -> None:
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


class FixtureServicer(fixture_service_pb2_grpc.FixtureServiceServicer):
    def __init__(self, fixtures: FixtureRepository, scheduler: PreMatchScheduler) -> None:
        self.fixtures = fixtures
        self.scheduler = scheduler

    async def UpsertFixtures(
        self, request: fixture_service_pb2.UpsertFixturesRequest, context: Context
    ) -> fixture_service_pb2.UpsertFixturesResponse:
        ids = [f.fixture_id for f in request.fixtures]
        if len(ids) != len(set(ids)):
            raise InvalidArgument(
                "DUPLICATE_FIXTURE_ID", "a fixture_id appears twice in the request"
            )
        for fixture in request.fixtures:
            _validate_fixture(fixture)
        counts = await self.fixtures.upsert(list(request.fixtures))
        if counts.created or counts.updated:
            self.scheduler.wake()
        return fixture_service_pb2.UpsertFixturesResponse(
            created_count=counts.created,
            updated_count=counts.updated,
            unchanged_count=counts.unchanged,
        )

    async def GetFixture(
        self, request: fixture_service_pb2.GetFixtureRequest, context: Context
    ) -> fixture_service_pb2.GetFixtureResponse:
        fixture = await self.fixtures.get(request.fixture_id)
        if fixture is None:
            raise NotFound("FIXTURE_NOT_FOUND", f"no fixture {request.fixture_id!r}")
        return fixture_service_pb2.GetFixtureResponse(fixture=fixture)

    async def ListFixtures(
        self, request: fixture_service_pb2.ListFixturesRequest, context: Context
    ) -> fixture_service_pb2.ListFixturesResponse:
        size, offset = _page(request.page_size, request.page_token)
        after = request.starts_after.ToDatetime(UTC) if request.HasField("starts_after") else None
        before = (
            request.starts_before.ToDatetime(UTC) if request.HasField("starts_before") else None
        )
        found = await self.fixtures.list(list(request.sports), after, before, size + 1, offset)
        return fixture_service_pb2.ListFixturesResponse(
            fixtures=found[:size], next_page_token=_next_token(offset + size, len(found) > size)
        )
