"""ConsensusGatewayService and FixtureService over gRPC: translation only."""

from __future__ import annotations

from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.gateway.v1 import (
    consensus_gateway_service_pb2_grpc,
    fixture_service_pb2,
    fixture_service_pb2_grpc,
)
from betmesh.quotes.v1 import quote_service_pb2
from google.protobuf import timestamp_pb2

from gateway.domain.consensus import Decision, Vote
from gateway.domain.gateway import Accepted, ConsensusGateway, NoQuorum
from gateway.domain.replicas import State
from service_runtime.errors import NotFound, Unimplemented
from service_runtime.server import ServicerContext
from service_runtime.telemetry import tracer

Context = ServicerContext


def _timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def _vote(vote: Vote) -> pb.ReplicaVote:
    return pb.ReplicaVote(
        replica_id=vote.replica_id,
        address=vote.address,
        outcome=pb.VoteOutcome.Value("VOTE_OUTCOME_" + vote.outcome.value),  # type: ignore[arg-type]
        digest=vote.digest,
        latency_micros=vote.latency_micros,
        first_difference=vote.first_difference,
        error=vote.error,
    )


def evidence(decision: Decision) -> pb.QuorumEvidence:
    return pb.QuorumEvidence(
        quorum=decision.quorum,
        replica_count=decision.replica_count,
        digest=decision.digest,
        votes=[_vote(v) for v in decision.votes],
    )


def accepted_message(accepted: Accepted) -> pb.AcceptedQuoteSet:
    return pb.AcceptedQuoteSet(
        quote_set_id=f"{accepted.digest}@{int(accepted.accepted_at * 1000)}",
        quote_set=accepted.quote_set,
        canonical_quote_set=accepted.data,
        digest=accepted.digest,
        evidence=evidence(accepted.decision),
        accepted_at=_timestamp(accepted.accepted_at),
    )


class ConsensusGatewayServicer(consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceServicer):
    def __init__(self, gateway: ConsensusGateway) -> None:
        self.gateway = gateway
        self._tracer = tracer(__name__)

    async def GetConsensusQuote(
        self, request: pb.GetConsensusQuoteRequest, context: Context
    ) -> pb.GetConsensusQuoteResponse:
        price_request = quote_service_pb2.PriceFixtureRequest(
            fixture=request.fixture,
            snapshot_hash=request.snapshot_hash,
            market_types=request.market_types,
        )
        if request.HasField("game_state"):
            price_request.game_state.CopyFrom(request.game_state)
        with self._tracer.start_as_current_span(
            "consensus",
            attributes={
                "betmesh.fixture.id": request.fixture.fixture_id,
                "betmesh.sport": sport_pb2.Sport.Name(request.fixture.sport),
            },
        ) as span:
            try:
                accepted = await self.gateway.quote(price_request)
            except NoQuorum as refusal:
                span.set_attribute("betmesh.consensus.accepted", False)
                refusal.details.append(
                    pb.ConsensusRefusal(
                        fixture_id=refusal.fixture_id,
                        sport=refusal.sport,  # type: ignore[arg-type]
                        evidence=evidence(refusal.decision),
                    )
                )
                raise
            span.set_attribute("betmesh.consensus.accepted", True)
            span.set_attribute("betmesh.quote_set.digest", accepted.digest)
        return pb.GetConsensusQuoteResponse(accepted=accepted_message(accepted))

    async def GetAcceptedQuoteSet(
        self, request: pb.GetAcceptedQuoteSetRequest, context: Context
    ) -> pb.GetAcceptedQuoteSetResponse:
        accepted = self.gateway.latest(request.fixture_id, request.phase)
        if accepted is None:
            raise NotFound("QUOTE_SET_NOT_FOUND", f"no accepted quote set for {request.fixture_id}")
        return pb.GetAcceptedQuoteSetResponse(accepted=accepted_message(accepted))

    async def ListReplicaSets(
        self, request: pb.ListReplicaSetsRequest, context: Context
    ) -> pb.ListReplicaSetsResponse:
        sets = []
        for sport, replica_set in sorted(self.gateway.replica_sets.items()):
            health = replica_set.health
            sets.append(
                pb.ReplicaSetStatus(
                    sport=sport,  # type: ignore[arg-type]
                    quorum=health.quorum,
                    replicas=[
                        pb.ReplicaStatus(
                            replica_id=r.replica_id,
                            address=r.address,
                            state=pb.REPLICA_STATE_QUARANTINED
                            if r.state == State.QUARANTINED
                            else pb.REPLICA_STATE_HEALTHY,
                            consecutive_faults=r.consecutive_faults,
                            agreed_total=r.agreed_total,
                            dissented_total=r.dissented_total,
                            timed_out_total=r.timed_out_total,
                        )
                        for r in health.replicas.values()
                    ],
                )
            )
        return pb.ListReplicaSetsResponse(replica_sets=sets)

    async def ListDissents(
        self, request: pb.ListDissentsRequest, context: Context
    ) -> pb.ListDissentsResponse:
        size = min(request.page_size or 100, 1000)
        start = int(request.page_token or 0)
        matching = [d for d in self.gateway.dissents if request.sport in (0, d.sport)]
        page = matching[start : start + size]
        return pb.ListDissentsResponse(
            dissents=[
                pb.Dissent(
                    fixture_id=d.fixture_id,
                    sport=d.sport,
                    vote=_vote(d.vote),
                    majority_digest=d.majority_digest,
                    recorded_at=_timestamp(d.recorded_at),
                )
                for d in page
            ],
            next_page_token=str(start + size) if start + size < len(matching) else "",
        )


class FixtureServicer(fixture_service_pb2_grpc.FixtureServiceServicer):
    """The fixtures store arrives with the pre-match scheduler; until then: UNIMPLEMENTED."""

    async def UpsertFixtures(
        self, request: fixture_service_pb2.UpsertFixturesRequest, context: Context
    ) -> fixture_service_pb2.UpsertFixturesResponse:
        raise Unimplemented("NOT_IMPLEMENTED", "the fixtures store is not built yet")

    async def GetFixture(
        self, request: fixture_service_pb2.GetFixtureRequest, context: Context
    ) -> fixture_service_pb2.GetFixtureResponse:
        raise Unimplemented("NOT_IMPLEMENTED", "the fixtures store is not built yet")

    async def ListFixtures(
        self, request: fixture_service_pb2.ListFixturesRequest, context: Context
    ) -> fixture_service_pb2.ListFixturesResponse:
        raise Unimplemented("NOT_IMPLEMENTED", "the fixtures store is not built yet")
