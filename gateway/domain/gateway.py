"""The consensus round's rules: the refusals a caller sees, each sport's replica set, which
votes a decision records, and how a quarantined replica's probe is judged
(gateway/service_layer/consensus.py runs the round)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from betmesh.common.v1 import sport_pb2

from gateway.domain.agreement import ENGINES_DISAGREE, NO_QUORUM, SINGLE_ENGINE
from gateway.domain.consensus import (
    Decision,
    HedgeBudget,
    Outcome,
    Verdict,
    Vote,
    decode_quote_set,
    tolerably_same,
)
from gateway.domain.ports import ReplicaClient
from gateway.domain.replicas import ReplicaSetHealth
from service_runtime.errors import DomainError

_REFUSALS = {
    NO_QUORUM: "no {k} of {n} replicas agreed on {fixture}: no price",
    ENGINES_DISAGREE: "{k} replicas of one engine agreed on {fixture} but no other engine "
    "confirmed it: no price (the majority may share a mistake)",
    SINGLE_ENGINE: "only one pricing engine answered for {fixture}; prices need {engines} "
    "engines to agree: no price",
}


class NoQuorum(DomainError):
    """No price: the agreement rule was not met (k replicas of `min_engines` engines). Carries
    every vote for the refusal's evidence. ABORTED (NO_QUORUM, ENGINES_DISAGREE), or
    UNAVAILABLE when only one engine answered (SINGLE_ENGINE: retry once it is back)."""

    code = "ABORTED"

    def __init__(
        self, decision: Decision, fixture_id: str, sport: sport_pb2.Sport.ValueType
    ) -> None:
        reason = decision.refusal or NO_QUORUM
        super().__init__(
            reason,
            _REFUSALS.get(reason, _REFUSALS[NO_QUORUM]).format(
                k=decision.quorum,
                n=decision.replica_count,
                fixture=fixture_id[:100],
                engines=decision.min_engines,
            ),
            {"fixture_id": fixture_id[:100], "sport": sport_pb2.Sport.Name(sport)},
        )
        if reason == SINGLE_ENGINE:
            self.code = "UNAVAILABLE"
        self.decision = decision
        self.fixture_id = fixture_id
        self.sport = sport


class RelayedRefusal(DomainError):
    """A quorum of replicas refused the request alike: the caller's mistake, passed on."""

    def __init__(self, code: str, reason: str, message: str) -> None:
        super().__init__(reason, message)
        self.code = code


@dataclass
class ReplicaSet:
    sport: sport_pb2.Sport.ValueType
    clients: Sequence[ReplicaClient]
    health: ReplicaSetHealth
    # Each sport has its own limit, so a sport stuck on slow replicas cannot starve another.
    in_flight: asyncio.Semaphore
    # Hedged calls start from a different replica each time, so every replica is heard.
    turn: int = 0
    hedge_budget: HedgeBudget = field(default_factory=HedgeBudget)
    # Distinct engines that must agree in this sport (None: the gateway's default).
    min_engines: int | None = None


def decision_outcome(decision: Decision) -> str:
    """What a decision is recorded as: "" for a refusal relayed from the replicas (the caller's
    mistake: nothing to record), ACCEPTED, PARTIAL (markets withheld), or the refusal reason."""
    if decision.common_error is not None:
        return ""
    if not decision.accepted:
        return decision.refusal or NO_QUORUM
    return "PARTIAL" if decision.withheld else "ACCEPTED"


def votes_to_record(decision: Decision, outcome: str) -> list[Vote]:
    """A clean acceptance records its faulty votes. A refusal or a partial set is recorded with
    EVERY vote, each with its verdict (who outvoted whom), so an operator can see a suspect
    majority of one engine, or that all replicas disagreed."""
    if not outcome:
        return []
    if outcome != "ACCEPTED":
        return list(decision.votes)
    return [
        v
        for v in decision.votes
        if v.outcome
        in (Outcome.DISSENTED, Outcome.BAD_DIGEST, Outcome.ENGINE_MISMATCH, Outcome.MALFORMED)
    ]


def judge_probe(decision: Decision, probe: Sequence[Vote]) -> None:
    """Quarantined replicas' answers against the published set: agreeing (byte for byte, or
    market by market within the rounding) earns their way back; any other answer is outvoted
    by the replicas that agreed on what was published."""
    agreeing = [v.replica_id for v in decision.votes if v.outcome == Outcome.AGREED]
    for vote in probe:
        if vote.digest == decision.digest or (vote.digest and agrees_with(decision, vote)):
            vote.outcome, vote.verdict = Outcome.AGREED, Verdict.AGREED
        elif vote.digest:
            vote.outcome, vote.verdict = Outcome.DISSENTED, Verdict.REPLICA_FAULTY
            vote.outvoted_by = agreeing


def diverse_first(clients: Sequence[ReplicaClient], quorum: int) -> list[ReplicaClient]:
    """Hedged calls ask the first k: make them span two engines where the set has them, or
    agreement would always need the spare replicas."""
    ordered = list(clients)
    if quorum < 2 or len({getattr(c, "engine", "") for c in ordered}) < 2:
        return ordered
    head = ordered[:quorum]
    if len({getattr(c, "engine", "") for c in head}) >= 2:
        return ordered
    other = next(c for c in ordered[quorum:] if c.engine != head[0].engine)
    ordered.remove(other)
    ordered.insert(quorum - 1, other)
    return ordered


def agrees_with(decision: Decision, vote: Vote) -> bool:
    """A probe's answer agrees with the published set market by market (rounding tolerance)."""
    return tolerably_same(decode_quote_set(decision.data), decode_quote_set(vote.data))
