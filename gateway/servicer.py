"""ConsensusGatewayService and FixtureService over gRPC: translation only."""

from __future__ import annotations

from datetime import UTC

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import (
    consensus_gateway_service_pb2_grpc,
    fixture_service_pb2,
    fixture_service_pb2_grpc,
)
from google.protobuf import timestamp_pb2
from opentelemetry import trace

from gateway.domain.evidence import evidence_message
from gateway.domain.gateway import NoQuorum
from gateway.domain.holds import HoldStatus, PriceHold
from gateway.domain.model import Accepted
from gateway.domain.replicas import ReplicaHealth, State
from gateway.service_layer import commands
from gateway.service_layer.handlers import FixtureHandlers, GatewayHandlers
from service_runtime import page_tokens
from service_runtime.auth import current_principal
from service_runtime.errors import InvalidArgument
from service_runtime.server import ServicerContext

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
    def __init__(self, handlers: GatewayHandlers) -> None:
        self.handlers = handlers

    # Both quote-set answers go out pre-encoded (bytes pass the server's serializer untouched).
    async def GetConsensusQuote(  # type: ignore[override]
        self, request: pb.GetConsensusQuoteRequest, context: Context
    ) -> bytes:
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
            accepted = await self.handlers.consensus_quote(
                commands.GetConsensusQuote(
                    request.fixture,
                    request.snapshot_hash,
                    request.market_types,
                    request.game_state if request.HasField("game_state") else None,
                )
            )
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
        accepted = await self.handlers.accepted_quote_set(
            commands.GetAcceptedQuoteSet(request.fixture_id, request.phase)
        )
        return accepted_response(accepted)

    async def QuarantineReplica(
        self, request: pb.QuarantineReplicaRequest, context: Context
    ) -> pb.QuarantineReplicaResponse:
        replica = self.handlers.set_replica_hold(
            commands.SetReplicaHold(request.replica_id, True, _operator(), request.note)
        )
        return pb.QuarantineReplicaResponse(replica=replica_message(replica))

    async def ReadmitReplica(
        self, request: pb.ReadmitReplicaRequest, context: Context
    ) -> pb.ReadmitReplicaResponse:
        replica = self.handlers.set_replica_hold(
            commands.SetReplicaHold(request.replica_id, False, _operator(), request.note)
        )
        return pb.ReadmitReplicaResponse(replica=replica_message(replica))

    async def ListReplicaSets(
        self, request: pb.ListReplicaSetsRequest, context: Context
    ) -> pb.ListReplicaSetsResponse:
        return pb.ListReplicaSetsResponse(
            replica_sets=[
                pb.ReplicaSetStatus(
                    sport=s.sport,
                    quorum=s.quorum,
                    replicas=[
                        replica_message(r, r.replica_id in s.unreachable) for r in s.replicas
                    ],
                    min_engines=s.min_engines,
                    engines=s.engines,
                )
                for s in self.handlers.replica_sets()
            ]
        )

    async def ListDissents(
        self, request: pb.ListDissentsRequest, context: Context
    ) -> pb.ListDissentsResponse:
        size, offset = _page(request.page_size, request.page_token)
        found = await self.handlers.dissents(commands.ListDissents(request.sport, size + 1, offset))
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
        report = await self.handlers.run_pre_match_pricing(
            commands.RunPreMatchPricing(request.horizon_days)
        )
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

    async def ListPriceHolds(
        self, request: pb.ListPriceHoldsRequest, context: Context
    ) -> pb.ListPriceHoldsResponse:
        if len(request.fixture_id) > 200:
            raise InvalidArgument("FIXTURE_ID_TOO_LONG", "fixture_id is at most 200 characters")
        status = _HOLD_STATUS_IN.get(request.status)
        if request.status and status is None:
            raise InvalidArgument("HOLD_STATUS_INVALID", "status is not a PriceHoldStatus")
        size, offset = _page(request.page_size, request.page_token)
        page = await self.handlers.price_holds(
            commands.ListPriceHolds(status, request.fixture_id, size + 1, offset)
        )
        return pb.ListPriceHoldsResponse(
            holds=[hold_message(h) for h in page.holds[:size]],
            next_page_token=_next_token(offset + size, len(page.holds) > size),
            held_total=page.held_total,
            open_count=page.open_count,
            counts=[
                pb.PriceHoldCount(rule=rule, status=_HOLD_STATUS_OUT[HoldStatus(st)], count=n)
                for (rule, st), n in sorted(page.counts.items())
            ],
        )

    async def ReleasePriceHold(
        self, request: pb.ReleasePriceHoldRequest, context: Context
    ) -> pb.ReleasePriceHoldResponse:
        hold, published = await self.handlers.release_price_hold(
            commands.DecidePriceHold(request.hold_id, _operator(), request.note)
        )
        return pb.ReleasePriceHoldResponse(hold=hold_message(hold), published=published)

    async def RejectPriceHold(
        self, request: pb.RejectPriceHoldRequest, context: Context
    ) -> pb.RejectPriceHoldResponse:
        hold = await self.handlers.reject_price_hold(
            commands.DecidePriceHold(request.hold_id, _operator(), request.note)
        )
        return pb.RejectPriceHoldResponse(hold=hold_message(hold))

    async def ListSnapshotReviews(
        self, request: pb.ListSnapshotReviewsRequest, context: Context
    ) -> pb.ListSnapshotReviewsResponse:
        size, offset = _page(request.page_size, request.page_token)
        found = await self.handlers.snapshot_reviews(
            commands.ListSnapshotReviews(request.sport, size + 1, offset)
        )
        return pb.ListSnapshotReviewsResponse(
            reviews=found[:size],
            next_page_token=_next_token(offset + size, len(found) > size),
        )

    async def ForceSnapshot(
        self, request: pb.ForceSnapshotRequest, context: Context
    ) -> pb.ForceSnapshotResponse:
        review = await self.handlers.force_snapshot(
            commands.ForceSnapshot(request.sport, request.snapshot_hash, _operator(), request.note)
        )
        return pb.ForceSnapshotResponse(review=review)


_HOLD_STATUS_OUT = {
    HoldStatus.OPEN: pb.PRICE_HOLD_STATUS_OPEN,
    HoldStatus.RELEASED: pb.PRICE_HOLD_STATUS_RELEASED,
    HoldStatus.REJECTED: pb.PRICE_HOLD_STATUS_REJECTED,
}
_HOLD_STATUS_IN = {v: k for k, v in _HOLD_STATUS_OUT.items()}


def _replica_state(r: ReplicaHealth, unreachable: bool) -> pb.ReplicaState.ValueType:
    if r.state == State.QUARANTINED:
        return pb.REPLICA_STATE_QUARANTINED
    if unreachable or r.unreachable:
        return pb.REPLICA_STATE_UNREACHABLE
    return pb.REPLICA_STATE_HEALTHY


def replica_message(r: ReplicaHealth, unreachable: bool = False) -> pb.ReplicaStatus:
    return pb.ReplicaStatus(
        replica_id=r.replica_id,
        address=r.address,
        state=_replica_state(r, unreachable),
        consecutive_faults=r.consecutive_faults,
        agreed_total=r.agreed_total,
        dissented_total=r.dissented_total,
        timed_out_total=r.timed_out_total,
        unavailable_total=r.unavailable_total,
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


class FixtureServicer(fixture_service_pb2_grpc.FixtureServiceServicer):
    def __init__(self, handlers: FixtureHandlers) -> None:
        self.handlers = handlers

    async def UpsertFixtures(
        self, request: fixture_service_pb2.UpsertFixturesRequest, context: Context
    ) -> fixture_service_pb2.UpsertFixturesResponse:
        counts = await self.handlers.upsert_fixtures(commands.UpsertFixtures(request.fixtures))
        return fixture_service_pb2.UpsertFixturesResponse(
            created_count=counts.created,
            updated_count=counts.updated,
            unchanged_count=counts.unchanged,
        )

    async def GetFixture(
        self, request: fixture_service_pb2.GetFixtureRequest, context: Context
    ) -> fixture_service_pb2.GetFixtureResponse:
        fixture = await self.handlers.fixture(commands.GetFixture(request.fixture_id))
        return fixture_service_pb2.GetFixtureResponse(fixture=fixture)

    async def ListFixtures(
        self, request: fixture_service_pb2.ListFixturesRequest, context: Context
    ) -> fixture_service_pb2.ListFixturesResponse:
        size, offset = _page(request.page_size, request.page_token)
        found = await self.handlers.list_fixtures(
            commands.ListFixtures(
                list(request.sports),
                request.starts_after.ToDatetime(UTC) if request.HasField("starts_after") else None,
                request.starts_before.ToDatetime(UTC)
                if request.HasField("starts_before")
                else None,
                size + 1,
                offset,
            )
        )
        return fixture_service_pb2.ListFixturesResponse(
            fixtures=found[:size], next_page_token=_next_token(offset + size, len(found) > size)
        )
