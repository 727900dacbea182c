"""Quorum evidence as it is returned to callers and stored: the votes, as a protobuf message."""

from __future__ import annotations

from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb

from gateway.domain.consensus import Decision, Vote


def vote_message(vote: Vote) -> pb.ReplicaVote:
    return pb.ReplicaVote(
        replica_id=vote.replica_id,
        address=vote.address,
        outcome=pb.VoteOutcome.Value("VOTE_OUTCOME_" + vote.outcome.value),
        digest=vote.digest,
        latency_micros=vote.latency_micros,
        first_difference=vote.first_difference,
        error=vote.error[:200],
        engine=vote.engine,
    )


def evidence_message(decision: Decision) -> pb.QuorumEvidence:
    return pb.QuorumEvidence(
        quorum=decision.quorum,
        replica_count=decision.replica_count,
        digest=decision.digest,
        votes=[vote_message(v) for v in decision.votes],
        engines=decision.engines,
        withheld=[pb.WithheldMarket(market_id=m, reason=r) for m, r in decision.withheld],
    )


def agreeing(evidence: pb.QuorumEvidence) -> int:
    return sum(1 for v in evidence.votes if v.outcome == pb.VOTE_OUTCOME_AGREED)
