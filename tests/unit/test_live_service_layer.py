"""Live's service layer on in-memory fakes of its ports: what one match event writes (state,
bet stops, repricing fields, queue), who is told (liveness, repricer), and what a refusal
leaves. The same path on real Redis: tests/integration/test_live_service.py and friends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import DomainError, FailedPrecondition, NotFound
from services.live.domain.game import LiveGame
from services.live.domain.ingest import Due, IngestPlan
from services.live.domain.liveness import Behind, FixtureProgress, HoldPlan, ProgressPlan
from services.live.domain.ports import Planner
from services.live.domain.sequencing import HeldEvent, Outcome
from services.live.service_layer.commands import (
    IngestMatchEvent,
    ResumeFixture,
    SendFeedHeartbeat,
    SuspendFixture,
)
from services.live.service_layer.handlers import UNNAMED_SOURCE, LiveHandlers
from tests.unit.test_live_sequencing import goal, kick_off


@dataclass
class MemoryStore:
    """The LiveStore port in memory: applies a plan the way the Redis adapter does."""

    now: float = 1_000.0
    games: dict[str, LiveGame] = field(default_factory=dict)
    held: dict[str, dict[int, HeldEvent]] = field(default_factory=dict)
    published: list[events_pb2.EventEnvelope] = field(default_factory=list)
    pricing: dict[str, dict[str, object]] = field(default_factory=dict)
    due: dict[str, float] = field(default_factory=dict)

    async def apply(self, fixture_id: str, planner: Planner) -> IngestPlan:
        held = self.held.setdefault(fixture_id, {})
        plan = planner(self.games.get(fixture_id), dict(held), 0, self.now)
        decision = plan.decision
        if decision.applied and decision.game is not None:
            self.games[fixture_id] = decision.game
        for sequence in decision.release:
            del held[sequence]
        if decision.hold is not None:
            held[decision.hold.event.sequence] = decision.hold
        self.published += plan.publications
        self.pricing.setdefault(fixture_id, {}).update(plan.pricing)
        if plan.due == Due.NOW:
            self.due[fixture_id] = 0
        elif plan.due == Due.DROP:
            self.due.pop(fixture_id, None)
        return plan

    async def game(self, fixture_id: str) -> LiveGame | None:
        return self.games.get(fixture_id)

    async def applied_sequences(self, fixture_ids: Sequence[str]) -> dict[str, int]:
        return {f: game.applied_sequence if (game := self.games.get(f)) else 0 for f in fixture_ids}


@dataclass
class MemoryLiveness:
    """Records what it is told; `plans` is what a fixture's progress comes to (the domain's
    progress_plan, tested on its own in test_live_liveness_rules.py)."""

    deadline_seconds: float = 20.0
    touched: list[tuple[str, list[str], bool]] = field(default_factory=list)
    progressed: list[tuple[str, int]] = field(default_factory=list)
    plans: dict[str, ProgressPlan] = field(default_factory=dict)

    async def touch(self, source: str, fixture_ids: list[str], *, recover: bool) -> list[str]:
        self.touched.append((source, fixture_ids, recover))
        return []

    async def progress(self, fixtures: Sequence[FixtureProgress]) -> list[ProgressPlan]:
        self.progressed += [(f.fixture_id, f.last_sequence) for f in fixtures]
        return [self.plans.get(f.fixture_id, ProgressPlan()) for f in fixtures]

    async def hold(self, fixture_id: str, held: bool) -> bool:
        return True


@dataclass
class Pokes:
    fixtures: list[str] = field(default_factory=list)

    def poke(self, fixture_id: str) -> None:
        self.fixtures.append(fixture_id)


def handlers() -> tuple[LiveHandlers, MemoryStore, MemoryLiveness, Pokes]:
    store, liveness, pokes = MemoryStore(), MemoryLiveness(), Pokes()
    return LiveHandlers(store, 30.0, liveness=liveness, repricer=pokes), store, liveness, pokes


def kinds(published: list[events_pb2.EventEnvelope]) -> list[str]:
    return [str(e.WhichOneof("payload")) for e in published]


async def test_kick_off_hands_markets_over_with_its_state_and_is_repriced() -> None:
    use_case, store, liveness, pokes = handlers()
    decision = await use_case.ingest_match_event(IngestMatchEvent(kick_off()))
    assert decision.outcome == Outcome.APPLIED
    # The state, then the bet stop it causes, in the same write.
    assert kinds(store.published) == ["game_state_changed", "market_status_changed"]
    stop = store.published[1].market_status_changed
    assert (stop.status, stop.reason) == (market_pb2.MARKET_STATUS_HANDED_OVER, "KICK_OFF")
    assert store.pricing["fb-seq"]["suspended"] == 1
    assert store.pricing["fb-seq"]["last_event_at"] == store.now
    assert store.due == {"fb-seq": 0}
    assert pokes.fixtures == ["fb-seq"]
    # Applied in sequence: the touch may end a feed loss.
    assert liveness.touched == [(UNNAMED_SOURCE, ["fb-seq"], True)]


async def test_a_duplicate_writes_nothing_and_is_not_repriced_but_keeps_the_feed_alive() -> None:
    use_case, store, liveness, pokes = handlers()
    await use_case.ingest_match_event(IngestMatchEvent(kick_off()))
    published, pokes_before = list(store.published), list(pokes.fixtures)
    again = await use_case.ingest_match_event(IngestMatchEvent(kick_off()))
    assert again.outcome == Outcome.DUPLICATE
    assert store.published == published
    assert pokes.fixtures == pokes_before
    # Alive, but a repeated event proves nothing about what came after it.
    assert liveness.touched[1] == (UNNAMED_SOURCE, ["fb-seq"], False)


async def test_a_gap_holds_then_releases_every_state_in_sequence_order() -> None:
    use_case, store, _, pokes = handlers()
    await use_case.ingest_match_event(IngestMatchEvent(kick_off()))
    held = await use_case.ingest_match_event(IngestMatchEvent(goal(3)))
    assert held.outcome == Outcome.HELD
    assert pokes.fixtures == ["fb-seq"]  # nothing new to price while held
    store.published.clear()
    filled = await use_case.ingest_match_event(IngestMatchEvent(goal(2)))
    assert filled.applied_sequence == 3
    states = [
        e.game_state_changed.state.football.home_goals
        for e in store.published
        if e.HasField("game_state_changed")
    ]
    assert states == [1, 2]


async def test_a_refused_event_changes_nothing_and_tells_nobody() -> None:
    use_case, store, liveness, pokes = handlers()
    with pytest.raises(DomainError):
        # A goal in a tennis match: refused by the domain.
        await use_case.ingest_match_event(
            IngestMatchEvent(
                me.MatchEvent(
                    fixture_id="fb-seq",
                    sport=sport_pb2.SPORT_TENNIS,
                    sequence=1,
                    type=me.MATCH_EVENT_TYPE_GOAL,
                )
            )
        )
    assert (store.published, store.games, pokes.fixtures, liveness.touched) == ([], {}, [], [])


async def test_an_unsequenced_heartbeat_keeps_fixtures_alive_and_brings_none_back() -> None:
    use_case, _, liveness, pokes = handlers()
    beat = await use_case.send_feed_heartbeat(SendFeedHeartbeat("feed-1", ("b", "a", "b")))
    assert (beat.recovered, beat.behind, beat.deadline_seconds) == ([], [], 20.0)
    assert liveness.touched == [("feed-1", ["a", "b"], False)]
    assert (liveness.progressed, pokes.fixtures) == ([], [])


async def test_a_sequenced_heartbeat_reprices_what_it_brings_back_and_reports_what_is_behind() -> (
    None
):
    use_case, _, liveness, pokes = handlers()
    gap = Behind("c", 4, 6, 3)
    liveness.plans = {
        "b": ProgressPlan(HoldPlan({"feed_lost": 0}, due_now=True), ends_loss=True),
        "c": ProgressPlan(HoldPlan({"feed_lost": 0, "gap": 1}), ends_loss=True, behind=gap),
    }
    beat = await use_case.send_feed_heartbeat(
        SendFeedHeartbeat(
            "feed-1",
            ("a", "b"),
            (FixtureProgress("c", 5), FixtureProgress("b", 0), FixtureProgress("c", 6)),
        )
    )
    # Named in either field: alive first; then each fixture's word once, its highest.
    assert liveness.touched == [("feed-1", ["a", "b", "c"], False)]
    assert liveness.progressed == [("b", 0), ("c", 6)]
    assert (beat.recovered, beat.behind) == (["b"], [gap])
    assert pokes.fixtures == ["b"]  # "c" reopens only once its events are applied


async def test_a_heartbeat_below_what_was_applied_is_refused_before_anything_is_written() -> None:
    use_case, _, liveness, _ = handlers()
    await use_case.ingest_match_event(IngestMatchEvent(kick_off()))
    await use_case.ingest_match_event(IngestMatchEvent(goal(2)))
    liveness.touched.clear()
    with pytest.raises(FailedPrecondition) as refused:
        await use_case.send_feed_heartbeat(
            SendFeedHeartbeat("feed-1", (), (FixtureProgress("a", 0), FixtureProgress("fb-seq", 1)))
        )
    assert refused.value.reason == "LAST_SEQUENCE_BEHIND_APPLIED"
    assert refused.value.metadata == {
        "fixture_id": "fb-seq",
        "last_sequence": "1",
        "applied_sequence": "2",
    }
    assert (liveness.touched, liveness.progressed) == ([], [])


async def test_an_operator_stops_only_a_fixture_in_play() -> None:
    use_case, _, _, pokes = handlers()
    with pytest.raises(NotFound):
        await use_case.suspend_fixture(SuspendFixture("fb-seq", "", None))
    await use_case.ingest_match_event(IngestMatchEvent(kick_off()))
    await use_case.suspend_fixture(SuspendFixture("fb-seq", "pitch check", None))
    pokes.fixtures.clear()
    await use_case.resume_fixture(ResumeFixture("fb-seq", None))
    assert pokes.fixtures == ["fb-seq"]  # reopens with the next accepted reprice
    ended = me.MatchEvent(
        fixture_id="fb-seq",
        sport=sport_pb2.SPORT_FOOTBALL,
        sequence=2,
        type=me.MATCH_EVENT_TYPE_MATCH_ENDED,
    )
    await use_case.ingest_match_event(IngestMatchEvent(ended))
    with pytest.raises(FailedPrecondition) as refused:
        await use_case.suspend_fixture(SuspendFixture("fb-seq", "", None))
    assert refused.value.reason == "FIXTURE_NOT_LIVE"
