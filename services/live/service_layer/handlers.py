"""Live's use cases: one handler per command (commands.py). The servicer calls these, never
the adapters. A handler reads and writes through ports, asks the domain what to do, and tells
the repricer what changed; it holds no rule of its own."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from service_runtime.errors import NotFound, Unimplemented
from services.live.domain.game import DEFAULT_BEST_OF_SETS, LiveGame, check_operator_can_stop
from services.live.domain.ingest import plan_ingest
from services.live.domain.liveness import (
    Behind,
    check_progress,
    ingest_ends_feed_loss,
    latest_progress,
)
from services.live.domain.ports import LiveStore
from services.live.domain.sequencing import Decision, Outcome
from services.live.service_layer.commands import (
    IngestMatchEvent,
    ResumeFixture,
    SendFeedHeartbeat,
    SuspendFixture,
)
from services.live.service_layer.ports import FeedLiveness, Reprices

log = logging.getLogger(__name__)

# Liveness counts per feed; a feed that does not name itself is this one.
UNNAMED_SOURCE = "unnamed"


@dataclass(frozen=True)
class Heartbeat:
    # Fixtures the heartbeat brought back from a lost feed (repriced at once).
    recovered: list[str]
    deadline_seconds: float
    # Fixtures whose events we are missing, by the feed's own last sequence, and what to resend.
    behind: list[Behind] = field(default_factory=list)


@dataclass
class LiveHandlers:
    store: LiveStore
    hold_seconds: float
    best_of_sets: int = DEFAULT_BEST_OF_SETS
    liveness: FeedLiveness | None = None
    repricer: Reprices | None = None

    async def ingest_match_event(self, command: IngestMatchEvent) -> Decision:
        """Applies, holds or ignores one event (domain/ingest.py decides what is written); its
        state and bet stops are on the bus when this returns, in the same write; the price
        follows (the repricer is poked)."""
        event = command.event
        plan = await self.store.apply(
            event.fixture_id,
            lambda game, held, announced, now: plan_ingest(
                game,
                held,
                announced,
                event,
                now,
                hold_seconds=self.hold_seconds,
                best_of_sets=self.best_of_sets,
            ),
        )
        decision = plan.decision
        for dropped in decision.discarded:
            log.warning(
                "held match event dropped",
                extra={
                    "fixture_id": event.fixture_id,
                    "sequence": dropped.sequence,
                    "reason": dropped.reason,
                    "detail": dropped.message,
                },
            )
        if self.liveness is not None:
            # Applied, held or repeated: the feed is talking, so the match is watched; only an
            # event applied in sequence proves nothing is missing and may end a feed loss.
            await self.liveness.touch(
                event.source or UNNAMED_SOURCE,
                [event.fixture_id],
                recover=ingest_ends_feed_loss(decision.outcome),
            )
        if decision.outcome == Outcome.APPLIED and self.repricer is not None:
            # Bet stops are already out (with the state, in the ingest); the price follows.
            self.repricer.poke(event.fixture_id)
        return decision

    async def send_feed_heartbeat(self, command: SendFeedHeartbeat) -> Heartbeat:
        """Every fixture named is alive; a fixture's feed loss ends, or its missing tail holds
        it, by the last sequence the feed gives for it (domain/liveness.py). A last sequence
        below what we applied refuses the whole heartbeat before anything is written."""
        liveness = self._liveness()
        progress = latest_progress(command.fixtures)
        applied = await self.store.applied_sequences([p.fixture_id for p in progress])
        for item in progress:
            check_progress(item, applied.get(item.fixture_id, 0))
        named = set(command.fixture_ids) | {p.fixture_id for p in progress}
        # Alive first, so that the watchdog cannot take the feed for lost in between.
        await liveness.touch(command.source, sorted(named), recover=False)
        recovered, behind = [], []
        for item, plan in zip(progress, await liveness.progress(progress), strict=True):
            if plan.recovered:
                recovered.append(item.fixture_id)
            if plan.behind is not None:
                behind.append(plan.behind)
        if self.repricer is not None:
            for fixture_id in recovered:
                self.repricer.poke(fixture_id)
        return Heartbeat(recovered, liveness.deadline_seconds, behind)

    async def suspend_fixture(self, command: SuspendFixture) -> None:
        check_operator_can_stop(command.fixture_id, await self.store.game(command.fixture_id))
        if await self._liveness().hold(command.fixture_id, True):
            log.warning(
                "fixture suspended by an operator",
                extra={
                    "fixture_id": command.fixture_id,
                    "operator": command.operator.subject if command.operator is not None else "",
                    "reason": command.reason,
                },
            )

    async def resume_fixture(self, command: ResumeFixture) -> None:
        check_operator_can_stop(command.fixture_id, await self.store.game(command.fixture_id))
        if await self._liveness().hold(command.fixture_id, False):
            log.warning(
                "fixture resumed by an operator",
                extra={
                    "fixture_id": command.fixture_id,
                    "operator": command.operator.subject if command.operator is not None else "",
                },
            )
            # Reopens with the next accepted reprice, at once, not before.
            if self.repricer is not None:
                self.repricer.poke(command.fixture_id)

    async def game(self, fixture_id: str) -> LiveGame:
        game = await self.store.game(fixture_id)
        if game is None:
            raise NotFound(
                "FIXTURE_NOT_FOUND",
                f"no match event has been applied for fixture {fixture_id}",
                {"fixture_id": fixture_id},
            )
        return game

    def _liveness(self) -> FeedLiveness:
        if self.liveness is None:
            raise Unimplemented("NOT_IMPLEMENTED", "feed liveness is not configured here")
        return self.liveness
