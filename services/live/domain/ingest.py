"""What one ingest writes, decided in one place: the sequencing decision, the events it
publishes (each applied state, and the bet stops it causes with it) and the repricing fields.

Pure: no Redis, no gRPC. The service layer (services/live/service_layer/ingestion.py) runs
`plan_ingest` inside the store's atomic read-decide-write; the Redis adapter only writes the
plan it is handed, in one transaction, so the bus sees exactly the applied events, in order,
and never an event for a write that did not happen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from betmesh.common.v1 import market_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import match_event_pb2 as me

from services.live.domain.game import LiveGame, MatchStatus
from services.live.domain.repricing import (
    CLOCK_STARTS,
    CLOCK_STOPS,
    FEED_GAP,
    status_changes,
    status_event,
)
from services.live.domain.sequencing import Decision, HeldEvent, Outcome, decide

PricingValue = bytes | str | float | int


class Due(StrEnum):
    """What an ingest does to the fixture's place in the repricing queue."""

    NOW = "NOW"  # live: the next reprice takes this event
    DROP = "DROP"  # finished: never repriced again
    KEEP = "KEEP"


@dataclass(frozen=True)
class IngestPlan:
    decision: Decision
    # The events to write as held and release, as stored (the event, then released ones).
    events: tuple[me.MatchEvent, ...] = ()
    # In publishing order: each applied state, then the bet stops it caused.
    publications: tuple[events_pb2.EventEnvelope, ...] = ()
    # Repricing fields of the fixture (services/live/adapters/redis_store.py's pricing hash).
    pricing: Mapping[str, PricingValue] = field(default_factory=dict)
    due: Due = Due.KEEP


def plan_ingest(
    game: LiveGame | None,
    held: Mapping[int, HeldEvent],
    announced: int,
    event: me.MatchEvent,
    now: float,
    *,
    hold_seconds: float,
    best_of_sets: int,
) -> IngestPlan:
    """The sequencing decision for `event` and everything it writes (nothing if unchanged).
    `announced` is the highest sequence the feed's heartbeats said it sent (0: none; see
    domain/liveness.py's progress_plan): a gap lasts until that is applied too.
    `now` is the shared clock (Redis' TIME), so hold windows mean the same on every process."""
    decision = decide(game, held, event, now, hold_seconds=hold_seconds, best_of_sets=best_of_sets)
    if not decision.changed:
        return IngestPlan(decision)
    # Events the feed sent and we have not applied: held ones, or a tail it announced.
    pending = bool(held) or announced > (game.applied_sequence if game else 0)
    if decision.outcome == Outcome.HELD:
        return _gap_opened(decision, event, opened=not pending)
    events = (event, *(held[sequence].event for sequence in decision.release))
    publications: list[events_pb2.EventEnvelope] = []
    pricing: dict[str, PricingValue] = {}
    for applied, source in zip(decision.applied, events, strict=False):
        changed = events_pb2.GameStateChanged(
            fixture_id=applied.fixture_id,
            state=applied.state,
            match_status=applied.status.value,
        )
        if source.HasField("occurred_at"):
            changed.event_time.CopyFrom(source.occurred_at)
        publications.append(events_pb2.EventEnvelope(game_state_changed=changed))
        # Bet stops go out with the state that caused them, never later, never lost.
        for change in status_changes(source, applied):
            publications.append(events_pb2.EventEnvelope(market_status_changed=change))
            # After the hand-over no live market is open until the first live price.
            if change.status in (
                market_pb2.MARKET_STATUS_SUSPENDED,
                market_pb2.MARKET_STATUS_HANDED_OVER,
            ):
                pricing["suspended"] = 1
            elif change.status == market_pb2.MARKET_STATUS_DEACTIVATED:
                pricing["suspended"] = 0
        if source.type in CLOCK_STARTS:
            pricing["clock_running"] = 1
        elif source.type in CLOCK_STOPS:
            pricing["clock_running"] = 0
        pricing["clock_elapsed"] = applied.state.elapsed_seconds
        pricing["clock_at"] = now
        if source.type != me.MATCH_EVENT_TYPE_CLOCK:
            pricing["last_event_at"] = now
        if (
            source.type == me.MATCH_EVENT_TYPE_MATCH_STARTED
            and source.fixture.home.participant_id
            and source.fixture.away.participant_id
        ):
            pricing["fixture"] = source.fixture.SerializeToString(deterministic=True)
    if pending and not set(held) - set(decision.release) and decision.applied_sequence >= announced:
        # Every held event is applied (or dropped, its sequence open again, which the feed
        # must resend before anything after it applies), and so is every event the feed
        # announced: the state is current again. The fixture is due at once below, and that
        # reprice reopens it.
        pricing["gap"] = 0
    due = Due.KEEP
    if decision.applied and decision.game is not None:
        if decision.game.status == MatchStatus.LIVE:
            due = Due.NOW
        elif decision.game.finished:
            due = Due.DROP
    return IngestPlan(decision, events, tuple(publications), pricing, due)


def _gap_opened(decision: Decision, event: me.MatchEvent, *, opened: bool) -> IngestPlan:
    """An event held behind a sequence never received: what live priced from is stale (the
    missing event may be a goal), so a live match's markets stop at once (FEED_GAP) and stay
    held until the feed resends what is missing; a held event never left them open at the
    old price while the repricer kept pricing the old state. Said once per gap."""
    game = decision.game
    if not opened or game is None or game.status != MatchStatus.LIVE:
        return IngestPlan(decision, (event,))
    stop = status_event(
        game.fixture_id,
        market_pb2.MARKET_STATUS_SUSPENDED,
        FEED_GAP,
        game.applied_sequence,
        event=event,
    )
    return IngestPlan(
        decision,
        (event,),
        (events_pb2.EventEnvelope(market_status_changed=stop),),
        {"gap": 1, "suspended": 1},
    )
