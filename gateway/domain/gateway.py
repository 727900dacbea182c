"""The consensus gateway's core: one replica set per sport, isolated from the others."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import quote_service_pb2

from gateway.domain.consensus import Decision, Outcome, ReplicaClient, Vote, decide
from gateway.domain.replicas import HealthPolicy, ReplicaHealth, ReplicaSetHealth, State
from service_runtime.errors import DomainError, FailedPrecondition, InvalidArgument

log = logging.getLogger(__name__)


@dataclass
class Accepted:
    quote_set: market_pb2.QuoteSet
    data: bytes
    digest: str
    decision: Decision
    accepted_at: float


@dataclass
class DissentRecord:
    fixture_id: str
    sport: sport_pb2.Sport.ValueType
    vote: Vote
    majority_digest: str
    recorded_at: float


class NoQuorum(DomainError):
    """No price: fewer than k replicas agreed. Carries every vote for the refusal's evidence."""

    code = "ABORTED"

    def __init__(self, decision: Decision, fixture_id: str, sport: int) -> None:
        super().__init__(
            "NO_QUORUM",
            f"no {decision.quorum} of {decision.replica_count} replicas agreed on {fixture_id}: "
            "no price",
            {"fixture_id": fixture_id, "sport": sport_pb2.Sport.Name(sport)},  # type: ignore[arg-type]
        )
        self.decision = decision
        self.fixture_id = fixture_id
        self.sport = sport


@dataclass
class ReplicaSet:
    sport: sport_pb2.Sport.ValueType
    clients: Sequence[ReplicaClient]
    health: ReplicaSetHealth
    # Each sport has its own limit, so a sport stuck on slow replicas cannot starve another.
    in_flight: asyncio.Semaphore


OnAccepted = Callable[[Accepted], Awaitable[None]]


@dataclass
class ConsensusGateway:
    replica_sets: dict[sport_pb2.Sport.ValueType, ReplicaSet]
    deadline_seconds: float
    on_accepted: OnAccepted | None = None
    accepted: dict[tuple[str, int], Accepted] = field(default_factory=dict)
    dissents: deque[DissentRecord] = field(default_factory=lambda: deque(maxlen=10_000))

    @classmethod
    def create(
        cls,
        sets: Sequence[tuple[sport_pb2.Sport.ValueType, int, Sequence[ReplicaClient]]],
        deadline_seconds: float,
        max_in_flight: int,
        policy: HealthPolicy,
        on_accepted: OnAccepted | None = None,
    ) -> ConsensusGateway:
        replica_sets = {}
        for sport, quorum, clients in sets:
            health = ReplicaSetHealth(sport, quorum, policy=policy)
            health.replicas = {
                c.replica_id: ReplicaHealth(c.replica_id, c.address) for c in clients
            }
            replica_sets[sport] = ReplicaSet(
                sport, clients, health, asyncio.Semaphore(max_in_flight)
            )
        return cls(replica_sets, deadline_seconds, on_accepted)

    async def quote(self, request: quote_service_pb2.PriceFixtureRequest) -> Accepted:
        fixture = request.fixture
        if not fixture.fixture_id:
            raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture.fixture_id is required")
        if fixture.sport == sport_pb2.SPORT_UNSPECIFIED:
            raise InvalidArgument("SPORT_REQUIRED", "fixture.sport is required")
        if not request.snapshot_hash:
            raise InvalidArgument("SNAPSHOT_REQUIRED", "snapshot_hash is required")
        replica_set = self.replica_sets.get(fixture.sport)
        if replica_set is None or not replica_set.clients:
            raise FailedPrecondition(
                "SPORT_NOT_CONFIGURED",
                f"no quote replicas are configured for {sport_pb2.Sport.Name(fixture.sport)}",
            )
        payload = request.SerializeToString(deterministic=True)
        counting_ids = set(replica_set.health.counting())
        counting = [c for c in replica_set.clients if c.replica_id in counting_ids]
        probed = [c for c in replica_set.clients if c.replica_id not in counting_ids]
        async with replica_set.in_flight:
            decision = await decide(
                counting,
                payload,
                replica_set.health.quorum,
                self.deadline_seconds,
                on_complete=lambda d: self._recorded(
                    replica_set, fixture.fixture_id, d, probed, payload
                ),
            )
        decision.replica_count = len(replica_set.clients)
        decision.votes += [Vote(c.replica_id, c.address, Outcome.QUARANTINED) for c in probed]
        decision.votes.sort(key=lambda v: v.replica_id)
        if decision.common_error is not None:
            error = decision.common_error
            raise _relayed(
                error.error_code,
                error.error_reason or "REPLICAS_REFUSED",
                f"the replicas refused the request: {error.error_reason or error.error_code}",
            )
        if not decision.accepted:
            raise NoQuorum(decision, fixture.fixture_id, fixture.sport)
        assert decision.data is not None
        accepted = Accepted(
            market_pb2.QuoteSet.FromString(decision.data),
            decision.data,
            decision.digest,
            decision,
            time.time(),
        )
        self.accepted[(fixture.fixture_id, accepted.quote_set.phase)] = accepted
        if self.on_accepted is not None:
            await self.on_accepted(accepted)
        return accepted

    async def _recorded(
        self,
        replica_set: ReplicaSet,
        fixture_id: str,
        decision: Decision,
        probed: Sequence[ReplicaClient],
        payload: bytes,
    ) -> None:
        for vote in decision.votes:
            if vote.outcome in (Outcome.DISSENTED, Outcome.BAD_DIGEST) and decision.accepted:
                self.dissents.appendleft(
                    DissentRecord(fixture_id, replica_set.sport, vote, decision.digest, time.time())
                )
                log.warning(
                    "replica dissent",
                    extra={
                        "replica": vote.replica_id,
                        "fixture_id": fixture_id,
                        "first_difference": vote.first_difference,
                    },
                )
        # Quarantined replicas are still asked, so they can earn their way back.
        if probed and decision.accepted:
            probe = await decide(probed, payload, len(probed) + 1, self.deadline_seconds)
            for vote in probe.votes:
                if vote.digest == decision.digest:
                    vote.outcome = Outcome.AGREED
                elif vote.digest:
                    vote.outcome = Outcome.DISSENTED
            decision = Decision(
                decision.quorum,
                decision.replica_count,
                decision.votes + probe.votes,
                decision.digest,
                decision.data,
            )
        for replica_id, state in replica_set.health.record(decision):
            log.warning(
                "replica %s",
                "quarantined" if state == State.QUARANTINED else "readmitted",
                extra={"replica": replica_id},
            )

    def latest(self, fixture_id: str, phase: int) -> Accepted | None:
        if phase:
            return self.accepted.get((fixture_id, phase))
        found = [a for (fid, _), a in self.accepted.items() if fid == fixture_id]
        return max(found, key=lambda a: a.accepted_at) if found else None


def _relayed(code: str, reason: str, message: str) -> DomainError:
    error = DomainError(reason, message)
    error.code = code
    return error
