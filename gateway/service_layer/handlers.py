"""The gateway's use cases: one handler per command (commands.py). The servicer calls these,
never the adapters or the domain's objects. A handler reads through a port, asks the domain and
writes through a port; the rules stay in the domain (agreement, guard, canary, fixtures). It
reaches a port through its own fields, or asks a use case (the consensus round, the guard, the
canary, the scheduler) through its methods: never through another use case's port
(tests/unit/test_layout.py, test_handlers_reach_ports_only_through_their_own_fields)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2

from gateway.domain.fixtures import check_fixtures
from gateway.domain.guard import SnapshotVetted
from gateway.domain.holds import HoldStatus, PriceHold
from gateway.domain.model import Accepted, DissentRecord, UpsertCounts
from gateway.domain.ports import (
    DissentRepository,
    FixtureRepository,
    HoldRepository,
    ReviewRepository,
)
from gateway.domain.replicas import ReplicaHealth
from gateway.domain.scheduler import PassReport
from gateway.service_layer.canary import SnapshotCanary
from gateway.service_layer.commands import (
    DecidePriceHold,
    ForceSnapshot,
    GetAcceptedQuoteSet,
    GetConsensusQuote,
    GetFixture,
    ListDissents,
    ListFixtures,
    ListPriceHolds,
    ListSnapshotReviews,
    RunPreMatchPricing,
    SetReplicaHold,
    UpsertFixtures,
)
from gateway.service_layer.consensus import ConsensusGateway, ReplicaSetStatus
from gateway.service_layer.guard import PriceGuard
from gateway.service_layer.scheduler import PreMatchScheduler
from service_runtime.digest import is_digest
from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from service_runtime.telemetry import tracer

log = logging.getLogger(__name__)
_tracer = tracer(__name__)


@dataclass(frozen=True)
class HoldsPage:
    holds: list[PriceHold]
    # Holds ever raised, and those open now (each hold once, whatever rules it broke).
    held_total: int
    open_count: int
    # (rule, status) -> holds: a hold breaking two rules counts under each.
    counts: dict[tuple[str, str], int]


def snapshot_vetting(pinned: Collection[str], canary: SnapshotCanary | None) -> SnapshotVetted:
    """Whether a snapshot explains a pre-match move to the guard: a pinned one (the operator's
    own choice, by configuration), or one the canary vetted; every one without a canary."""

    async def vetted(snapshot_hash: str) -> bool:
        if snapshot_hash in pinned:
            return True
        return canary is None or await canary.vetted(snapshot_hash)

    return vetted


@dataclass
class GatewayHandlers:
    """ConsensusGatewayService's use cases."""

    gateway: ConsensusGateway
    scheduler: PreMatchScheduler
    # What operators list: the dissent log, the guard's holds, the canary's reviews.
    dissent_log: DissentRepository
    hold_log: HoldRepository
    review_log: ReviewRepository
    # None: this gateway runs without them (operators' calls are refused, FAILED_PRECONDITION).
    guard: PriceGuard | None = None
    canary: SnapshotCanary | None = None

    async def consensus_quote(self, command: GetConsensusQuote) -> Accepted:
        request = quote_service_pb2.PriceFixtureRequest(
            fixture=command.fixture,
            snapshot_hash=command.snapshot_hash,
            market_types=command.market_types,
        )
        if command.game_state is not None:
            request.game_state.CopyFrom(command.game_state)
        return await self.gateway.quote(request)

    async def accepted_quote_set(self, command: GetAcceptedQuoteSet) -> Accepted:
        if not command.fixture_id:
            raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")
        accepted = await self.gateway.latest(command.fixture_id, command.phase)
        if accepted is None and command.phase != market_pb2.PRICING_PHASE_LIVE:
            # Asked before any pass reached it: priced now (live prices come from live only).
            accepted = await self.scheduler.price_missing(command.fixture_id)
        if accepted is None:
            raise NotFound("QUOTE_SET_NOT_FOUND", f"no accepted quote set for {command.fixture_id}")
        return accepted

    def set_replica_hold(self, command: SetReplicaHold) -> ReplicaHealth:
        health = self.gateway.set_replica_hold(command.replica_id, command.quarantined)
        if health is None:
            raise NotFound("REPLICA_NOT_FOUND", "no replica of that id in this gateway")
        log.warning(
            "replica quarantined by an operator" if command.quarantined else "replica readmitted",
            extra={
                "replica_id": command.replica_id,
                "operator": command.operator,
                "note": command.note,
            },
        )
        return health

    def replica_sets(self) -> list[ReplicaSetStatus]:
        return self.gateway.replica_set_statuses()

    async def dissents(self, command: ListDissents) -> list[DissentRecord]:
        return await self.dissent_log.list(command.sport, command.limit, command.offset)

    async def run_pre_match_pricing(self, command: RunPreMatchPricing) -> PassReport:
        with _tracer.start_as_current_span("pre-match pricing pass"):
            return await self.scheduler.run_pass(command.horizon_days)

    # ---- the integrity guard and the snapshot canary (operators) -----------------------------

    def _guard(self) -> PriceGuard:
        if self.guard is None:
            raise FailedPrecondition("GUARD_DISABLED", "this gateway runs without the guard")
        return self.guard

    async def price_holds(self, command: ListPriceHolds) -> HoldsPage:
        self._guard()
        holds = self.hold_log
        return HoldsPage(
            holds=await holds.list(
                command.status, command.fixture_id, command.limit, command.offset
            ),
            held_total=await holds.total(None),
            open_count=await holds.total(HoldStatus.OPEN),
            counts=await holds.counts(),
        )

    async def release_price_hold(self, command: DecidePriceHold) -> tuple[PriceHold, bool]:
        """The hold, and whether its market was published (guard.PriceGuard.release)."""
        return await self._guard().release(command.hold_id, command.operator, command.note)

    async def reject_price_hold(self, command: DecidePriceHold) -> PriceHold:
        return await self._guard().reject(command.hold_id, command.operator, command.note)

    def _canary(self) -> SnapshotCanary:
        if self.canary is None:
            raise FailedPrecondition("CANARY_DISABLED", "this gateway runs without the canary")
        return self.canary

    async def snapshot_reviews(self, command: ListSnapshotReviews) -> list[pb.SnapshotReview]:
        self._canary()
        return await self.review_log.list(command.sport, command.limit, command.offset)

    async def force_snapshot(self, command: ForceSnapshot) -> pb.SnapshotReview:
        canary = self._canary()
        if not self.gateway.configured(command.sport):
            raise InvalidArgument("SPORT_NOT_CONFIGURED", "no replicas are configured for sport")
        if not is_digest(command.snapshot_hash):
            raise InvalidArgument(
                "INVALID_SNAPSHOT_HASH", "snapshot_hash must be 'sha256:' and 64 hex digits"
            )
        review = await canary.force(
            command.sport, command.snapshot_hash, command.operator, command.note
        )
        # Priced from at once, not at the next tick.
        self.scheduler.wake()
        return review


@dataclass
class FixtureHandlers:
    """FixtureService's use cases."""

    fixtures: FixtureRepository
    scheduler: PreMatchScheduler

    async def upsert_fixtures(self, command: UpsertFixtures) -> UpsertCounts:
        check_fixtures(command.fixtures)
        counts = await self.fixtures.upsert(list(command.fixtures))
        if counts.created or counts.updated:
            self.scheduler.wake()  # changed fixtures are priced now, not at the next tick
        return counts

    async def fixture(self, command: GetFixture) -> sport_pb2.Fixture:
        fixture = await self.fixtures.get(command.fixture_id)
        if fixture is None:
            raise NotFound("FIXTURE_NOT_FOUND", f"no fixture {command.fixture_id!r}")
        return fixture

    async def list_fixtures(self, command: ListFixtures) -> list[sport_pb2.Fixture]:
        return await self.fixtures.list(
            command.sports,
            command.starts_after,
            command.starts_before,
            command.limit,
            command.offset,
        )
