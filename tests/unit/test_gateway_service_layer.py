"""The gateway's service layer (gateway/service_layer/) on in-memory fakes of its ports:
scripted replicas, in-memory fixtures, quote sets, holds and reviews. What each handler asks of
the ports and the domain, and the refusals it owes callers. The same paths through gRPC on real
replicas and PostgreSQL: tests/integration/test_gateway_consensus.py, test_gateway_scheduler.py,
test_gateway_guard.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import pytest
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2
from google.protobuf import timestamp_pb2

from gateway.adapters.guard_store import MemoryHolds, MemoryReviews
from gateway.adapters.memory import MemoryDissents, MemoryFixtures, MemoryQuoteSets, memory_units
from gateway.domain.canary import CanaryPolicy
from gateway.domain.consensus import Reply
from gateway.domain.holds import HoldStatus, PriceHold
from gateway.domain.integrity import GuardPolicy, Violation
from gateway.domain.model import Accepted
from gateway.domain.replicas import HealthPolicy, State
from gateway.service_layer import commands
from gateway.service_layer.canary import SnapshotCanary
from gateway.service_layer.consensus import ConsensusGateway
from gateway.service_layer.guard import PriceGuard
from gateway.service_layer.handlers import FixtureHandlers, GatewayHandlers, snapshot_vetting
from gateway.service_layer.scheduler import PreMatchScheduler
from service_runtime.digest import digest_bytes
from service_runtime.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound

FOOTBALL, TENNIS, BASKETBALL = (
    sport_pb2.SPORT_FOOTBALL,
    sport_pb2.SPORT_TENNIS,
    sport_pb2.SPORT_BASKETBALL,
)
SNAPSHOT = "sha256:" + "a" * 64
PRE_MATCH, LIVE = market_pb2.PRICING_PHASE_PRE_MATCH, market_pb2.PRICING_PHASE_LIVE
# Inside the scheduler's horizon, and the same for every fixture made (the same fixture twice
# is unchanged).
START = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)


def fixture(fixture_id: str, sport: sport_pb2.Sport.ValueType = FOOTBALL) -> sport_pb2.Fixture:
    start = timestamp_pb2.Timestamp()
    start.FromDatetime(START)
    return sport_pb2.Fixture(
        fixture_id=fixture_id,
        sport=sport,
        home=sport_pb2.Participant(participant_id="h"),
        away=sport_pb2.Participant(participant_id="a"),
        start_time=start,
        status=sport_pb2.FIXTURE_STATUS_SCHEDULED,
        best_of_sets=3 if sport == TENNIS else 0,
    )


class Replica:
    """A fake replica that prices what it is asked: the fixture, phase and snapshot of the
    request, one market at fixed odds (what the store keys and the scheduler compares)."""

    def __init__(self, replica_id: str) -> None:
        self.replica_id = replica_id
        self.address = f"test:{replica_id}"
        self.engine = ""
        self.calls = 0
        self.asked: list[quote_service_pb2.PriceFixtureRequest] = []

    async def price(self, request: bytes, timeout: float) -> Reply:
        self.calls += 1
        asked = quote_service_pb2.PriceFixtureRequest.FromString(request)
        self.asked.append(asked)
        fixture_id = asked.fixture.fixture_id
        quote_set = market_pb2.QuoteSet(
            fixture_id=fixture_id,
            sport=asked.fixture.sport,
            phase=LIVE if asked.HasField("game_state") else PRE_MATCH,
            snapshot_hash=asked.snapshot_hash,
            margin_scale_e4=asked.margin_scale_e4,
            markets=[
                market_pb2.Market(
                    market_id=f"{fixture_id}/MATCH_RESULT",
                    selections=[market_pb2.Selection(selection_id="home", odds_e4=21_000)],
                )
            ],
        )
        data = quote_set.SerializeToString(deterministic=True)
        return Reply(data=data, claimed_digest=digest_bytes(data))


class FlakyQuoteSets(MemoryQuoteSets):
    """Memory quote sets whose saves fail while `failing` is set: a write failing after another
    in the same unit of work."""

    failing = False

    async def save(self, accepted: Accepted) -> None:
        if self.failing:
            raise ConnectionError("the store went away")
        await super().save(accepted)


class Mesh:
    """The handlers over three scripted football replicas and in-memory storage."""

    def __init__(self, *, guard: bool = True, canary: bool = True) -> None:
        self.replicas = [Replica(r) for r in "abc"]
        self.quote_sets = FlakyQuoteSets()
        self.fixtures = MemoryFixtures()
        self.holds = MemoryHolds()
        self.dissents = MemoryDissents()
        self.reviews = MemoryReviews()
        self.units = memory_units(self.quote_sets, self.holds)
        self.gateway = ConsensusGateway.create(
            [(FOOTBALL, 2, self.replicas)],
            1.0,
            8,
            HealthPolicy(),
            self.quote_sets,
            self.dissents,
            self.units,
            min_engines=1,
        )
        self.canary = (
            SnapshotCanary(
                CanaryPolicy(),
                self.reviews,
                self.gateway.agree,
                self.fixtures,
                self.quote_sets,
                lambda sport: [],
                _never_fitted,
            )
            if canary
            else None
        )
        self.scheduler = PreMatchScheduler(
            self.gateway, self.fixtures, self.quote_sets, {}, {FOOTBALL: SNAPSHOT}
        )
        self.guard = (
            PriceGuard(
                GuardPolicy(),
                self.holds,
                self.quote_sets,
                snapshot_vetting([SNAPSHOT], self.canary),
                self.units,
                on_released=self.gateway.released,
            )
            if guard
            else None
        )
        self.handlers = GatewayHandlers(
            self.gateway,
            self.scheduler,
            self.dissents,
            self.holds,
            self.reviews,
            self.guard,
            self.canary,
        )
        self.fixture_handlers = FixtureHandlers(self.fixtures, self.scheduler)

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.replicas)


async def _never_fitted(sport: sport_pb2.Sport.ValueType, snapshot_hash: str) -> float | None:
    return None


async def refused(call: Awaitable[object]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await call
    return caught.value


# ---- fixtures ------------------------------------------------------------------------------


async def test_a_sports_own_field_on_a_fixture_of_another_sport_is_refused_and_nothing_stored() -> (
    None
):
    mesh = Mesh()
    football_with_rules = fixture("f-rules")
    football_with_rules.basketball_rules = sport_pb2.BASKETBALL_RULES_FIBA
    tennis_with_rules = fixture("t-rules", TENNIS)
    tennis_with_rules.basketball_rules = sport_pb2.BASKETBALL_RULES_NBA
    football_on_clay = fixture("f-clay")
    football_on_clay.surface = sport_pb2.TENNIS_SURFACE_CLAY
    basketball_on_grass = fixture("b-grass", BASKETBALL)
    basketball_on_grass.surface = sport_pb2.TENNIS_SURFACE_GRASS
    football_in_sets = fixture("f-sets")
    football_in_sets.best_of_sets = 3
    for wrong, reason in (
        (football_with_rules, "BASKETBALL_RULES_NOT_FOR_SPORT"),
        (tennis_with_rules, "BASKETBALL_RULES_NOT_FOR_SPORT"),
        (football_on_clay, "SURFACE_NOT_FOR_SPORT"),
        (basketball_on_grass, "SURFACE_NOT_FOR_SPORT"),
        (football_in_sets, "BEST_OF_SETS_NOT_FOR_SPORT"),
    ):
        # One bad fixture refuses the whole batch: the good one beside it is not stored either.
        error = await refused(
            mesh.fixture_handlers.upsert_fixtures(commands.UpsertFixtures([fixture("good"), wrong]))
        )
        assert isinstance(error, InvalidArgument) and error.reason == reason
        assert error.metadata["fixture_id"] == wrong.fixture_id
        assert error.metadata["sport"] == sport_pb2.Sport.Name(wrong.sport)
    assert await mesh.fixtures.list([], None, None, 10, 0) == []
    assert not mesh.scheduler.woken.is_set()

    # Each on its own sport is taken.
    basketball = fixture("b-fiba", BASKETBALL)
    basketball.basketball_rules = sport_pb2.BASKETBALL_RULES_FIBA
    clay = fixture("t-clay", TENNIS)
    clay.surface = sport_pb2.TENNIS_SURFACE_CLAY
    counts = await mesh.fixture_handlers.upsert_fixtures(
        commands.UpsertFixtures([basketball, clay])
    )
    assert (counts.created, counts.updated, counts.unchanged) == (2, 0, 0)
    stored = await mesh.fixture_handlers.fixture(commands.GetFixture("t-clay"))
    assert stored.surface == sport_pb2.TENNIS_SURFACE_CLAY


async def test_fixtures_are_checked_and_only_a_change_wakes_the_scheduler() -> None:
    mesh = Mesh()
    upsert = mesh.fixture_handlers.upsert_fixtures
    duplicate = await refused(upsert(commands.UpsertFixtures([fixture("x"), fixture("x")])))
    assert duplicate.reason == "DUPLICATE_FIXTURE_ID"
    same = fixture("x")
    same.away.participant_id = "h"
    assert (await refused(upsert(commands.UpsertFixtures([same])))).reason == "SAME_PARTICIPANTS"
    five_sets_or_three = fixture("t", TENNIS)
    five_sets_or_three.best_of_sets = 4
    error = await refused(upsert(commands.UpsertFixtures([five_sets_or_three])))
    assert error.reason == "INVALID_BEST_OF_SETS"
    assert not mesh.scheduler.woken.is_set()

    await upsert(commands.UpsertFixtures([fixture("x")]))
    assert mesh.scheduler.woken.is_set()
    mesh.scheduler.woken.clear()
    counts = await upsert(commands.UpsertFixtures([fixture("x")]))
    assert counts.unchanged == 1 and not mesh.scheduler.woken.is_set()

    missing = await refused(mesh.fixture_handlers.fixture(commands.GetFixture("nope")))
    assert isinstance(missing, NotFound) and missing.reason == "FIXTURE_NOT_FOUND"
    assert [
        f.fixture_id
        for f in await mesh.fixture_handlers.list_fixtures(
            commands.ListFixtures([TENNIS], None, None, 10, 0)
        )
    ] == []


# ---- prices --------------------------------------------------------------------------------


async def test_a_consensus_quote_is_published_in_the_phase_its_game_state_says() -> None:
    mesh = Mesh()
    live = await mesh.handlers.consensus_quote(
        commands.GetConsensusQuote(
            fixture("f1"),
            SNAPSHOT,
            (market_pb2.MARKET_TYPE_MATCH_RESULT,),
            game_state_pb2.GameState(event_sequence=3, elapsed_seconds=600),
        )
    )
    assert live.quote_set.phase == LIVE and mesh.calls == 3
    # The replicas were asked exactly what the caller asked.
    asked = mesh.replicas[0].asked[0]
    assert list(asked.market_types) == [market_pb2.MARKET_TYPE_MATCH_RESULT]
    assert asked.game_state.event_sequence == 3 and asked.snapshot_hash == SNAPSHOT
    assert await mesh.quote_sets.latest("f1", LIVE) is not None
    assert await mesh.quote_sets.latest("f1", PRE_MATCH) is None
    # Asked for in play and published: read back without asking the replicas again.
    got = await mesh.handlers.accepted_quote_set(commands.GetAcceptedQuoteSet("f1", LIVE))
    assert got.digest == live.digest and mesh.calls == 3


async def test_an_accepted_set_missing_before_the_match_is_priced_at_once_but_never_live() -> None:
    mesh = Mesh()
    required = await refused(
        mesh.handlers.accepted_quote_set(commands.GetAcceptedQuoteSet("", PRE_MATCH))
    )
    assert isinstance(required, InvalidArgument) and required.reason == "FIXTURE_ID_REQUIRED"
    await mesh.fixtures.upsert([fixture("f1")])
    # Nothing live was published: no price is made up for it.
    none = await refused(mesh.handlers.accepted_quote_set(commands.GetAcceptedQuoteSet("f1", LIVE)))
    assert isinstance(none, NotFound) and none.reason == "QUOTE_SET_NOT_FOUND"
    assert mesh.calls == 0
    # Pre-match: priced now from the sport's snapshot, then stored.
    priced = await mesh.handlers.accepted_quote_set(commands.GetAcceptedQuoteSet("f1", PRE_MATCH))
    assert priced.quote_set.snapshot_hash == SNAPSHOT and mesh.calls == 3
    assert await mesh.quote_sets.latest("f1", PRE_MATCH) is not None
    unknown = await refused(
        mesh.handlers.accepted_quote_set(commands.GetAcceptedQuoteSet("nope", PRE_MATCH))
    )
    assert unknown.reason == "QUOTE_SET_NOT_FOUND"


async def test_an_operator_quarantines_and_readmits_a_replica_by_id() -> None:
    mesh = Mesh()
    held = mesh.handlers.set_replica_hold(commands.SetReplicaHold("b", True, "ops", "slow"))
    assert held.state == State.QUARANTINED and held.held_by_operator
    (status,) = mesh.handlers.replica_sets()
    assert (status.sport, status.quorum, status.min_engines) == (FOOTBALL, 2, 1)
    assert [r.replica_id for r in status.replicas if r.state == State.QUARANTINED] == ["b"]
    back = mesh.handlers.set_replica_hold(commands.SetReplicaHold("b", False, "ops", ""))
    assert back.state == State.HEALTHY and not back.held_by_operator
    with pytest.raises(NotFound) as unknown:
        mesh.handlers.set_replica_hold(commands.SetReplicaHold("zz", True, "ops", ""))
    assert unknown.value.reason == "REPLICA_NOT_FOUND"


async def test_a_pass_asked_for_prices_each_scheduled_fixture_once() -> None:
    mesh = Mesh()
    await mesh.fixtures.upsert([fixture("f1"), fixture("f2")])
    report = await mesh.handlers.run_pre_match_pricing(commands.RunPreMatchPricing(0))
    assert (report.fixture_count, report.priced, report.unchanged) == (2, 2, 0)
    assert report.snapshots == {FOOTBALL: SNAPSHOT}
    again = await mesh.handlers.run_pre_match_pricing(commands.RunPreMatchPricing(0))
    assert (again.priced, again.unchanged) == (0, 2)


# ---- the guard and the canary (operators) ------------------------------------------------


def hold(market_id: str, rules: tuple[str, ...]) -> PriceHold:
    return PriceHold(
        fixture_id="f1",
        sport=FOOTBALL,
        phase=PRE_MATCH,
        market_id=market_id,
        violations=tuple(Violation(market_id, rule, "test") for rule in rules),
        snapshot_hash=SNAPSHOT,
        event_sequence=0,
        quote_set_digest="sha256:x",
        held_market=market_pb2.Market(market_id=market_id).SerializeToString(),
        published_market=b"",
        held_at=1.0,
    )


async def test_price_holds_are_listed_with_their_totals_and_decided_once() -> None:
    mesh = Mesh()
    first, second = await mesh.holds.add(
        [hold("f1/A", ("PAYOUT_OUT_OF_BOUNDS", "PRICE_MOVED")), hold("f1/B", ("PRICE_MOVED",))]
    )
    rejected = await mesh.handlers.reject_price_hold(
        commands.DecidePriceHold(first.hold_id, "ops", "bad fit")
    )
    assert rejected.status == HoldStatus.REJECTED and rejected.decided_by == "ops"
    again = await refused(
        mesh.handlers.reject_price_hold(commands.DecidePriceHold(first.hold_id, "ops", ""))
    )
    assert isinstance(again, FailedPrecondition) and again.reason == "HOLD_ALREADY_DECIDED"
    page = await mesh.handlers.price_holds(commands.ListPriceHolds(HoldStatus.OPEN, "", 10, 0))
    assert [h.hold_id for h in page.holds] == [second.hold_id]
    assert (page.held_total, page.open_count) == (2, 1)
    assert page.counts == {
        ("PAYOUT_OUT_OF_BOUNDS", "REJECTED"): 1,
        ("PRICE_MOVED", "REJECTED"): 1,
        ("PRICE_MOVED", "OPEN"): 1,
    }
    # Nothing was ever published for the fixture: released, but there is nothing to publish into.
    released, published = await mesh.handlers.release_price_hold(
        commands.DecidePriceHold(second.hold_id, "ops", "")
    )
    assert released.status == HoldStatus.RELEASED and not published


async def test_a_gateway_without_the_guard_or_the_canary_refuses_their_operators_calls() -> None:
    mesh = Mesh(guard=False, canary=False)
    for call in (
        mesh.handlers.price_holds(commands.ListPriceHolds(None, "", 10, 0)),
        mesh.handlers.release_price_hold(commands.DecidePriceHold("1", "ops", "")),
        mesh.handlers.reject_price_hold(commands.DecidePriceHold("1", "ops", "")),
    ):
        error = await refused(call)
        assert isinstance(error, FailedPrecondition) and error.reason == "GUARD_DISABLED"
    canary_calls: tuple[Awaitable[object], ...] = (
        mesh.handlers.snapshot_reviews(commands.ListSnapshotReviews(FOOTBALL, 10, 0)),
        mesh.handlers.force_snapshot(commands.ForceSnapshot(FOOTBALL, SNAPSHOT, "ops", "")),
    )
    for canary_call in canary_calls:
        error = await refused(canary_call)
        assert isinstance(error, FailedPrecondition) and error.reason == "CANARY_DISABLED"


async def test_a_forced_snapshot_is_recorded_and_priced_from_at_once() -> None:
    mesh = Mesh()
    force = mesh.handlers.force_snapshot
    other_sport = await refused(force(commands.ForceSnapshot(TENNIS, SNAPSHOT, "ops", "")))
    assert other_sport.reason == "SPORT_NOT_CONFIGURED"
    bad_hash = await refused(force(commands.ForceSnapshot(FOOTBALL, "md5:abc", "ops", "")))
    assert bad_hash.reason == "INVALID_SNAPSHOT_HASH"
    assert not mesh.scheduler.woken.is_set()
    review = await force(commands.ForceSnapshot(FOOTBALL, SNAPSHOT, "ops", "by hand"))
    assert review.verdict == pb.SNAPSHOT_VERDICT_FORCED and review.forced_by == "ops"
    assert mesh.scheduler.woken.is_set()
    listed = await mesh.handlers.snapshot_reviews(commands.ListSnapshotReviews(FOOTBALL, 10, 0))
    assert [r.snapshot_hash for r in listed] == [SNAPSHOT]


async def test_a_pinned_or_vetted_snapshot_explains_a_move_and_a_forced_one_does_not() -> None:
    canary = Mesh().canary
    assert canary is not None
    other, forced = "sha256:" + "b" * 64, "sha256:" + "c" * 64
    vetted = snapshot_vetting([SNAPSHOT], canary)
    assert await vetted(SNAPSHOT)  # pinned: never reviewed, the operator's choice
    assert not await vetted(other)  # never reviewed
    await canary.current(FOOTBALL, [other])  # the sport's first: the baseline
    assert await vetted(other)
    await canary.force(FOOTBALL, forced, "ops", "")
    assert not await vetted(forced)
    assert await snapshot_vetting([], None)(forced)  # no canary: every snapshot


# ---- units of work: a use case's writes are kept together or not at all -------------------


async def test_a_held_price_and_its_hold_are_stored_together_or_not_at_all() -> None:
    mesh = Mesh()
    mesh.gateway.guard = mesh.guard  # the replicas' one-selection market breaks the guard's rules
    ask = commands.GetConsensusQuote(fixture("f1"), SNAPSHOT, (), None)
    mesh.quote_sets.failing = True
    with pytest.raises(ConnectionError):
        await mesh.handlers.consensus_quote(ask)
    # The hold was added before the save failed: rolled back with it, as nothing was published.
    assert await mesh.holds.total(None) == 0
    assert await mesh.quote_sets.latest("f1", PRE_MATCH) is None

    mesh.quote_sets.failing = False
    published = await mesh.handlers.consensus_quote(ask)
    # The same agreement is screened again, and held again: fail closed.
    (held,) = await mesh.holds.list(HoldStatus.OPEN, "f1", 10, 0)
    assert held.market_id == "f1/MATCH_RESULT"
    assert published.quote_set.markets == []  # never published before: left out while held
    stored = await mesh.quote_sets.latest("f1", PRE_MATCH)
    assert stored is not None and stored.digest == published.digest


async def test_a_release_whose_market_cannot_be_stored_leaves_the_hold_open() -> None:
    mesh = Mesh()
    mesh.gateway.guard = mesh.guard
    await mesh.handlers.consensus_quote(
        commands.GetConsensusQuote(fixture("f1"), SNAPSHOT, (), None)
    )
    (held,) = await mesh.holds.list(HoldStatus.OPEN, "f1", 10, 0)
    release = commands.DecidePriceHold(held.hold_id, "ops", "checked")

    mesh.quote_sets.failing = True
    with pytest.raises(ConnectionError):
        await mesh.handlers.release_price_hold(release)
    # Not released with its market still unpublished: the operator can release it again.
    (still,) = await mesh.holds.list(None, "f1", 10, 0)
    assert still.status == HoldStatus.OPEN and still.decided_by == ""

    mesh.quote_sets.failing = False
    released, published = await mesh.handlers.release_price_hold(release)
    assert published and released.status == HoldStatus.RELEASED
    latest = await mesh.quote_sets.latest("f1", PRE_MATCH)
    assert latest is not None and [m.market_id for m in latest.quote_set.markets] == [
        "f1/MATCH_RESULT"
    ]


# ---- the pre-match pass under load -------------------------------------------------------


class Gated(Replica):
    """A replica that holds every answer until the test opens the gate."""

    def __init__(self, replica_id: str, gate: asyncio.Event) -> None:
        super().__init__(replica_id)
        self.gate = gate

    async def price(self, request: bytes, timeout: float) -> Reply:
        self.calls += 1
        await self.gate.wait()
        self.calls -= 1  # counted again, with the request, by the answer
        return await super().price(request, timeout)


async def test_a_first_pass_keeps_at_most_the_settings_calls_in_flight_per_sport() -> None:
    mesh = Mesh()
    gate = asyncio.Event()
    gated = [Gated(r, gate) for r in "abc"]
    mesh.gateway.replica_sets[FOOTBALL].clients = gated
    await mesh.fixtures.upsert([fixture(f"f{n}") for n in range(12)])
    assert mesh.scheduler.concurrency == 4  # the default (BETMESH_GATEWAY_SCHEDULER_CONCURRENCY)
    passing = asyncio.ensure_future(
        mesh.handlers.run_pre_match_pricing(commands.RunPreMatchPricing(0))
    )
    for _ in range(100):
        await asyncio.sleep(0)
    asked = [r.calls for r in gated]
    # Four consensus calls waiting on their replicas, not the twelve fixtures at once.
    assert asked == [4, 4, 4] and not passing.done()
    gate.set()
    report = await passing
    assert (report.fixture_count, report.priced) == (12, 12)
