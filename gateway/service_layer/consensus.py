"""The consensus round as a use case: one replica set per sport, isolated from the others.
Asks the replicas (the ReplicaClient port), asks the domain whether they agree
(gateway/domain/consensus.py, agreement.py), records dissent and replica health, has the guard
screen a changed price, stores it with the holds the guard raised in one unit of work (opened
once the replicas have answered: no transaction waits on the network) and, once committed, has
it announced. The rules: gateway/domain/."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import quote_service_pb2

from gateway.domain.consensus import Decision, Outcome, Verdict, Vote
from gateway.domain.evidence import evidence_message, vote_message
from gateway.domain.gateway import (
    NoQuorum,
    RelayedRefusal,
    ReplicaSet,
    decision_outcome,
    diverse_first,
    judge_probe,
    votes_to_record,
)
from gateway.domain.holds import PriceHold
from gateway.domain.model import Accepted, DissentRecord, fixture_digest
from gateway.domain.ports import DissentRepository, QuoteSetRepository, ReplicaClient
from gateway.domain.replicas import HealthPolicy, ReplicaHealth, ReplicaSetHealth, State
from gateway.service_layer.fanout import decide
from gateway.service_layer.guard import PriceGuard
from gateway.service_layer.ports import UnitOfWork
from service_runtime.errors import FailedPrecondition, InvalidArgument
from service_runtime.shedding import overloaded

log = logging.getLogger(__name__)

PRE_MATCH = market_pb2.PRICING_PHASE_PRE_MATCH
# The hint given to callers shed at a sport's limit: about one consensus round.
RETRY_AFTER_SECONDS = 0.1
MARGIN_SCALE_NONE = 10_000
# Fixtures whose last stored digest is remembered (a week of fixtures fits many times over).
LAST_DIGESTS = 100_000
# Published sets answered again for an unchanged agreement (the rest are read from storage).
PUBLISHED_CACHE = 5_000


# A refused decision records every vote: the log says which were dissents and which were not
# (a replica that timed out, or the only one to answer, priced nothing differently).
_LOGGED_AS = {
    Verdict.MAJORITY_SUSPECT.value: "majority suspect",
    Verdict.NO_ANSWER.value: "gave no answer",
    Verdict.NO_MAJORITY.value: "in no majority",
}
# Outcomes that say more than their verdict: answers nobody disagreed with.
_OUTCOME_LOGGED_AS = {
    Outcome.TOO_FEW_ANSWERS: "answered, but too few others did",
    Outcome.TOO_FEW_ENGINES: "agreed, but only with replicas of too few engines",
}


OnDecision = Callable[[sport_pb2.Sport.ValueType, Decision, float], Awaitable[None]]


@dataclass(frozen=True)
class ReplicaSetStatus:
    sport: sport_pb2.Sport.ValueType
    quorum: int
    replicas: list[ReplicaHealth]
    # Distinct engines that must agree in the sport, and those its replicas run.
    min_engines: int
    engines: list[str]
    # Replicas shown unreachable: no gRPC server at their address, or resting after timeouts
    # in a row (gateway/domain/replicas.py).
    unreachable: set[str] = field(default_factory=set)


@dataclass
class ConsensusGateway:
    replica_sets: dict[sport_pb2.Sport.ValueType, ReplicaSet]
    deadline_seconds: float
    quote_sets: QuoteSetRepository
    dissents: DissentRepository
    # A round's writes (the set, the guard's new holds) are one of these.
    units: Callable[[], UnitOfWork]
    # Called after a quote set is stored: the event announcement.
    on_accepted: Callable[[Accepted], Awaitable[None]] | None = None
    # Called for every decision, accepted or not, with its duration: metrics.
    on_decision: OnDecision | None = None
    # Hedged fan-out: ask k replicas, the others when needed or after this many seconds.
    hedge_after: float | None = None
    # Consensus calls in flight per sport; beyond it, callers are shed (see quote()).
    max_in_flight: int = 64
    # The integrity guard between agreement and publication (gateway/domain/guard.py).
    guard: PriceGuard | None = None
    _published: OrderedDict[tuple[str, int], Accepted] = field(default_factory=OrderedDict)
    # Distinct engines that must agree before anything is published (docs/architecture.md).
    min_engines: int = 2
    _last_digest: OrderedDict[tuple[str, int], tuple[str, str]] = field(default_factory=OrderedDict)
    # The return-to-player controller's margin scale (gateway/domain/rtp_controller.py), set
    # on every request the gateway sends, pre-match and live alike. None: no steer (10000).
    margin_scale: Callable[[], int] | None = None

    def margin_scale_e4(self) -> int:
        """The steer in force as the request field carries it: 0 for none (10000)."""
        scale = self.margin_scale() if self.margin_scale is not None else 0
        return 0 if scale == MARGIN_SCALE_NONE else scale

    def _steered(
        self, request: quote_service_pb2.PriceFixtureRequest
    ) -> quote_service_pb2.PriceFixtureRequest:
        # Callers never choose the steer: the gateway's controller is its one source.
        scale = self.margin_scale_e4()
        if request.margin_scale_e4 == scale:
            return request
        steered = quote_service_pb2.PriceFixtureRequest()
        steered.CopyFrom(request)
        steered.margin_scale_e4 = scale
        return steered

    @classmethod
    def create(
        cls,
        sets: Sequence[tuple[sport_pb2.Sport.ValueType, int, Sequence[ReplicaClient]]],
        deadline_seconds: float,
        max_in_flight: int,
        policy: HealthPolicy,
        quote_sets: QuoteSetRepository,
        dissents: DissentRepository,
        units: Callable[[], UnitOfWork],
        min_engines: int = 2,
        min_engines_by_sport: dict[sport_pb2.Sport.ValueType, int] | None = None,
    ) -> ConsensusGateway:
        replica_sets = {}
        for sport, quorum, clients in sets:
            health = ReplicaSetHealth(sport, quorum, policy=policy)
            health.replicas = {
                c.replica_id: ReplicaHealth(
                    c.replica_id, c.address, engine=getattr(c, "engine", "")
                )
                for c in clients
            }
            replica_sets[sport] = ReplicaSet(
                sport,
                clients,
                health,
                asyncio.Semaphore(max_in_flight),
                min_engines=(min_engines_by_sport or {}).get(sport),
            )
        return cls(
            replica_sets,
            deadline_seconds,
            quote_sets,
            dissents,
            units,
            max_in_flight=max_in_flight,
            min_engines=min_engines,
        )

    def engines_for(self, replica_set: ReplicaSet) -> int:
        """Distinct engines that must agree in the set's sport."""
        return replica_set.min_engines or self.min_engines

    def configured(self, sport: sport_pb2.Sport.ValueType) -> bool:
        """Whether this gateway has replicas for the sport."""
        return sport in self.replica_sets

    def quorum(self, sport: sport_pb2.Sport.ValueType) -> int | None:
        """The sport's k; None when it has no replicas here."""
        replica_set = self.replica_sets.get(sport)
        return None if replica_set is None else replica_set.health.quorum

    def replica_set_statuses(self) -> list[ReplicaSetStatus]:
        return [
            ReplicaSetStatus(
                sport=sport,
                quorum=replica_set.health.quorum,
                replicas=list(replica_set.health.replicas.values()),
                min_engines=self.engines_for(replica_set),
                engines=list(replica_set.health.engines()),
                unreachable=replica_set.health.unreachable(),
            )
            for sport, replica_set in sorted(self.replica_sets.items())
        ]

    def set_replica_hold(self, replica_id: str, quarantined: bool) -> ReplicaHealth | None:
        """An operator's quarantine or readmission; None when no sport has that replica."""
        for replica_set in self.replica_sets.values():
            if replica_set.health.set_by_operator(replica_id, quarantined):
                return replica_set.health.replicas[replica_id]
        return None

    async def quote(
        self, request: quote_service_pb2.PriceFixtureRequest, *, shed: bool = True
    ) -> Accepted:
        """The agreed quote set. A sport at its in-flight limit refuses at once (OVERLOADED)
        rather than queue a caller past its deadline; `shed=False` waits for a slot (the
        pre-match scheduler, which has no caller waiting and bounds its own concurrency)."""
        request = self._steered(request)
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
        engines = {replica_set.health.replicas[r].engine for r in counting_ids}
        configured = set(replica_set.health.engines())
        if len(counting_ids) < replica_set.health.quorum or (
            configured
            and len(engines & configured) < min(self.engines_for(replica_set), len(configured))
        ):
            # Too few healthy replicas (or engines) for the rule: quarantine steps aside rather
            # than leave the sport unpriceable for ever. Safety does not rest on it: k
            # agreeing outputs of two engines are still required, and agreeing again is how a
            # quarantined replica is readmitted.
            counting_ids = {c.replica_id for c in replica_set.clients}
        # Replicas resting after timeouts in a row are not asked at all (the domain hands out
        # one probe per cool-down): a call the others cannot decide is refused at once. Unlike
        # quarantine, a rest does not step aside when too few are left: it ends by itself, and
        # stepping aside would await a frozen replica's deadline on every call again.
        resting = replica_set.health.stepping_aside(time.monotonic())
        counting_ids -= resting
        counting = [c for c in replica_set.clients if c.replica_id in counting_ids]
        if self.hedge_after is not None and counting:
            replica_set.turn = (replica_set.turn + 1) % len(counting)
            counting = diverse_first(
                counting[replica_set.turn :] + counting[: replica_set.turn],
                replica_set.health.quorum,
            )
        probed = [
            c
            for c in replica_set.clients
            if c.replica_id not in counting_ids and c.replica_id not in resting
        ]
        started = time.perf_counter()
        if shed and replica_set.in_flight.locked():
            raise overloaded(
                f"consensus for {sport_pb2.Sport.Name(fixture.sport)}",
                self.max_in_flight,
                RETRY_AFTER_SECONDS,
            )
        async with replica_set.in_flight:
            decision = await decide(
                counting,
                payload,
                replica_set.health.quorum,
                self.deadline_seconds,
                on_complete=lambda d: self._recorded(
                    replica_set, fixture.fixture_id, d, probed, payload, resting
                ),
                hedge_after=self.hedge_after,
                hedge_budget=replica_set.hedge_budget,
                min_engines=self.engines_for(replica_set),
            )
        decision.replica_count = len(replica_set.clients)
        decision.votes += [Vote(c.replica_id, c.address, Outcome.QUARANTINED) for c in probed]
        decision.votes += _resting_votes(replica_set, resting)
        decision.votes.sort(key=lambda v: v.replica_id)
        if self.on_decision is not None:
            await self.on_decision(fixture.sport, decision, time.perf_counter() - started)
        if decision.common_error is not None:
            error = decision.common_error
            raise RelayedRefusal(
                error.error_code,
                error.error_reason or "REPLICAS_REFUSED",
                f"the replicas refused the request: {error.error_reason or error.error_code}",
            )
        if not decision.accepted:
            raise NoQuorum(decision, fixture.fixture_id, fixture.sport)
        assert decision.data is not None
        accepted = Accepted(
            data=decision.data,
            digest=decision.digest,
            evidence=evidence_message(decision),
            accepted_at=time.time(),
            fixture_digest=fixture_digest(fixture),
        )
        # The phase follows from the request (a game state means in play), so the hot path
        # never decodes the quote set.
        phase = market_pb2.PRICING_PHASE_LIVE if request.HasField("game_state") else PRE_MATCH
        key = (fixture.fixture_id, phase)
        agreed = (accepted.digest, accepted.fixture_digest)
        if self._last_digest.get(key) != agreed:
            # Only a changed price is screened, stored and announced: asking again for a price
            # that has not moved (a frequent live case) costs no check, no write and no event.
            if self.guard is not None:
                state = request.game_state if request.HasField("game_state") else None
                if state is not None:
                    accepted.game_state = state.SerializeToString(deterministic=True)
                accepted = await self.guard.screen(accepted, state, self._store)
            else:
                await self._store(accepted, ())
            await self._announce(key, accepted)
            self._last_digest[key] = agreed
            self._last_digest.move_to_end(key)
            while len(self._last_digest) > LAST_DIGESTS:
                self._last_digest.popitem(last=False)
        elif self.guard is not None:
            # The same agreement as last time: answer what was published for it (held markets
            # suspended), never the agreed set itself.
            published = self._published.get(key) or await self.quote_sets.latest(*key)
            if published is not None and published.digest != accepted.digest:
                accepted = replace(accepted, data=published.data, digest=published.digest)
        return accepted

    async def agree(self, request: quote_service_pb2.PriceFixtureRequest) -> market_pb2.QuoteSet:
        """A quorum's quote set, neither recorded, stored nor published: what the snapshot
        canary compares (a candidate snapshot's prices must never reach a player)."""
        request = self._steered(request)
        replica_set = self.replica_sets.get(request.fixture.sport)
        if replica_set is None or not replica_set.clients:
            raise FailedPrecondition("SPORT_NOT_CONFIGURED", "no quote replicas for this sport")
        async with replica_set.in_flight:
            decision = await decide(
                list(replica_set.clients),
                request.SerializeToString(deterministic=True),
                replica_set.health.quorum,
                self.deadline_seconds,
                min_engines=self.engines_for(replica_set),
            )
        if decision.common_error is not None:
            error = decision.common_error
            raise RelayedRefusal(
                error.error_code,
                error.error_reason or "REPLICAS_REFUSED",
                f"the replicas refused the request: {error.error_reason or error.error_code}",
            )
        if not decision.accepted or decision.data is None:
            raise NoQuorum(decision, request.fixture.fixture_id, request.fixture.sport)
        return market_pb2.QuoteSet.FromString(decision.data)

    async def _store(self, accepted: Accepted, holds: Sequence[PriceHold]) -> list[PriceHold]:
        """The round's writes in one unit of work: the guard's new holds and the set that
        shows their markets suspended are kept together or not at all. A failure keeps
        neither, and nothing was published: the same agreement is screened (and held) again
        on the next call, as `_last_digest` is only set after this succeeds."""
        async with self.units() as uow:
            stored = await uow.holds.add(holds) if holds else []
            await uow.quote_sets.save(accepted)
            await uow.commit()
        return stored

    async def _announce(self, key: tuple[str, int], accepted: Accepted) -> None:
        """After the commit only: a set rolled back is never announced nor answered again."""
        if self.on_accepted is not None:
            await self.on_accepted(accepted)
        if self.guard is not None:
            self._published[key] = accepted
            self._published.move_to_end(key)
            while len(self._published) > PUBLISHED_CACHE:
                self._published.popitem(last=False)

    async def released(self, accepted: Accepted) -> None:
        """A set the guard stored for an operator's release, its unit of work committed."""
        key = (accepted.quote_set.fixture_id, accepted.quote_set.phase)
        await self._announce(key, accepted)
        # The next identical agreement is screened again, against what is published now.
        self._last_digest.pop(key, None)

    async def _recorded(
        self,
        replica_set: ReplicaSet,
        fixture_id: str,
        decision: Decision,
        probed: Sequence[ReplicaClient],
        payload: bytes,
        resting: AbstractSet[str] = frozenset(),
    ) -> None:
        """After every replica answered: dissent records (domain: votes_to_record) and
        replica health."""
        now = time.time()
        # The replicas left resting are in the record of a refusal, with every vote.
        decision.votes = sorted(
            decision.votes + _resting_votes(replica_set, resting), key=lambda v: v.replica_id
        )
        outcome = decision_outcome(decision)
        recorded = votes_to_record(decision, outcome)
        # Drawn only when something is recorded: a clean acceptance (nearly every call) needs
        # no id, and uuid4 is a system call (urandom) per consensus call.
        decision_id = uuid.uuid4().hex if recorded else ""
        dissents = [
            DissentRecord(
                fixture_id,
                replica_set.sport,
                vote_message(v),
                decision.digest,
                now,
                verdict=v.verdict.value,
                outvoted_by=tuple(v.outvoted_by),
                decision_id=decision_id,
                decision=outcome,
            )
            for v in recorded
        ]
        for vote, record in zip(recorded, dissents, strict=True):
            if record.verdict == Verdict.AGREED.value:
                continue
            log.warning(
                "replica %s",
                _OUTCOME_LOGGED_AS.get(vote.outcome) or _LOGGED_AS.get(record.verdict, "dissent"),
                extra={
                    "replica": record.vote.replica_id,
                    "fixture_id": fixture_id,
                    "verdict": record.verdict,
                    "outcome": vote.outcome.value,
                    "error": vote.error[:200],
                    "outvoted_by": ",".join(record.outvoted_by),
                    "decision": outcome,
                    "first_difference": record.vote.first_difference,
                },
            )
        if dissents:
            try:
                await self.dissents.record(dissents)
            except Exception:  # a lost dissent record must not fail pricing
                log.exception("could not record dissent")
        # Quarantined replicas are still asked, so they can earn their way back.
        if probed and decision.accepted:
            probe = await decide(probed, payload, len(probed) + 1, self.deadline_seconds)
            judge_probe(decision, probe.votes)
            decision = Decision(
                decision.quorum,
                decision.replica_count,
                decision.votes + probe.votes,
                decision.digest,
                decision.data,
                min_engines=decision.min_engines,
                withheld=decision.withheld,
                engines=decision.engines,
            )
        for replica_id, state in replica_set.health.record(decision, time.monotonic()):
            log.warning(
                "replica %s",
                "quarantined" if state == State.QUARANTINED else "readmitted",
                extra={"replica": replica_id},
            )

    async def latest(
        self, fixture_id: str, phase: market_pb2.PricingPhase.ValueType
    ) -> Accepted | None:
        return await self.quote_sets.latest(fixture_id, phase)


def _resting_votes(replica_set: ReplicaSet, resting: AbstractSet[str]) -> list[Vote]:
    return [
        Vote(c.replica_id, c.address, Outcome.RESTING, engine=getattr(c, "engine", ""))
        for c in replica_set.clients
        if c.replica_id in resting
    ]
