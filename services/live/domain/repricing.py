"""Live repricing: market status on match events, and the rules of the repricing loop.

Market status (published on `markets.status` as MarketStatusChanged; `market_ids` empty means
every market of the fixture):
- at once, in the same Redis transaction that applies the event (so a suspension is never
  lost and never comes after the state it reacts to), by `status_changes`:
  * MATCH_STARTED: HANDED_OVER, reason "KICK_OFF": the pre-match markets close, the live
    producer takes the fixture over (its markets open with the first live price, ACTIVE);
  * a dangerous event (football: goal, goal cancelled, penalty awarded, red card; tennis: a
    point after which the receiver has a break point; basketball: none): SUSPENDED, reason
    "DANGEROUS_EVENT";
  * MATCH_ENDED / MATCH_ABANDONED: DEACTIVATED, reason "MATCH_ENDED" / "MATCH_ABANDONED";
- when the feed goes silent past its deadline (adapters/redis_liveness.py): SUSPENDED, reason
  "FEED_LOST"; when an event of a live match is held behind a sequence the feed never sent
  (domain/ingest.py): SUSPENDED, reason "FEED_GAP", until every held event is applied; by an
  operator (SuspendFixture): SUSPENDED, reason "OPERATOR". All three hold the
  fixture: while held, nothing is priced and nothing reopens; a reprice that was already under
  way when the hold began is answered with the hold's suspension again (its price went out on
  `quotes.accepted`, and the newer word must be the stop);
- after a reprice, by the repricer: ACTIVE (reason "REPRICED", the live set's offered market
  ids) once the gateway accepted a price for the latest event, if the fixture was suspended;
  SUSPENDED, reason "NO_CONSENSUS", when the gateway could not price it and it was open.
  A fixture whose reprice fails stays suspended and is retried on the cadence.

Cadence: every applied event makes the fixture due at once; after a reprice it is due again
after `busy_seconds` if an event (other than a bare clock update) came in the last
`busy_window_seconds`, else after `quiet_seconds`. The due times live in Redis, shared by
every live process, and a Redis lease per fixture makes one process at a time reprice it.
Between two reprices of the same event sequence the clock moves (`project_clock`), so a
cadence reprice is a real new price for football and basketball.

Why every process can safely give up when the lease is taken: the holder, after releasing it,
looks again whether the fixture became due meanwhile (`Repricer.run`, the use case in
services/live/service_layer/repricing.py), so an event that arrived while it was pricing is
priced by it, and the event is never left to the slow cadence. This module holds the rules and
the ports; the Repricer only orchestrates them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import match_event_pb2 as me

from services.live.domain import basketball, football
from services.live.domain.game import LiveGame, MatchStatus

log = logging.getLogger(__name__)

# Reasons of the fixture-wide stops that hold a fixture until lifted (see the module doc).
FEED_LOST = "FEED_LOST"
OPERATOR = "OPERATOR"
# An event came after a sequence the feed never sent: the state priced from is stale (the
# missing event may be a goal) until the feed resends it (domain/ingest.py).
FEED_GAP = "FEED_GAP"

DANGEROUS_FOOTBALL = frozenset(
    {
        me.MATCH_EVENT_TYPE_GOAL,
        me.MATCH_EVENT_TYPE_GOAL_CANCELLED,
        me.MATCH_EVENT_TYPE_PENALTY_AWARDED,
        me.MATCH_EVENT_TYPE_RED_CARD,
    }
)
# Period starts and ends stop or start the clock; everything else leaves it as it was.
CLOCK_STARTS = frozenset({me.MATCH_EVENT_TYPE_MATCH_STARTED, me.MATCH_EVENT_TYPE_PERIOD_STARTED})
CLOCK_STOPS = frozenset(
    {
        me.MATCH_EVENT_TYPE_PERIOD_ENDED,
        me.MATCH_EVENT_TYPE_MATCH_ENDED,
        me.MATCH_EVENT_TYPE_MATCH_ABANDONED,
    }
)


def break_point(tennis: game_state_pb2.TennisState) -> bool:
    """The receiver wins the game with the next point."""
    if tennis.in_tiebreak or not tennis.sets:
        return False
    server, receiver = (
        (tennis.home_points, tennis.away_points)
        if tennis.home_serving
        else (tennis.away_points, tennis.home_points)
    )
    return receiver >= 3 and receiver > server


def is_dangerous(event: me.MatchEvent, after: LiveGame) -> bool:
    if after.sport == sport_pb2.SPORT_FOOTBALL:
        return event.type in DANGEROUS_FOOTBALL
    if after.sport == sport_pb2.SPORT_TENNIS:
        return event.type == me.MATCH_EVENT_TYPE_POINT_WON and break_point(after.state.tennis)
    return False


def status_event(
    fixture_id: str,
    status: market_pb2.MarketStatus.ValueType,
    reason: str,
    sequence: int,
    market_ids: list[str] | None = None,
    event: me.MatchEvent | None = None,
) -> events_pb2.MarketStatusChanged:
    change = events_pb2.MarketStatusChanged(
        fixture_id=fixture_id,
        market_ids=market_ids or [],
        status=status,
        reason=reason,
        event_sequence=sequence,
    )
    if event is not None and event.HasField("occurred_at"):
        change.event_time.CopyFrom(event.occurred_at)
    return change


def status_changes(event: me.MatchEvent, after: LiveGame) -> list[events_pb2.MarketStatusChanged]:
    """What an applied event does to the fixture's markets at once."""
    sequence = after.applied_sequence
    fid = after.fixture_id
    if event.type == me.MATCH_EVENT_TYPE_MATCH_STARTED:
        status, reason = market_pb2.MARKET_STATUS_HANDED_OVER, "KICK_OFF"
    elif after.status == MatchStatus.ENDED:
        status, reason = market_pb2.MARKET_STATUS_DEACTIVATED, "MATCH_ENDED"
    elif after.status == MatchStatus.ABANDONED:
        status, reason = market_pb2.MARKET_STATUS_DEACTIVATED, "MATCH_ABANDONED"
    elif is_dangerous(event, after):
        status, reason = market_pb2.MARKET_STATUS_SUSPENDED, "DANGEROUS_EVENT"
    else:
        return []
    return [status_event(fid, status, reason, sequence, event=event)]


# ---- the match clock between events --------------------------------------------------------


@dataclass(frozen=True)
class MatchClock:
    running: bool
    # Elapsed seconds reported by the last event, and when it was applied (epoch seconds).
    elapsed: int
    at: float


def period_end(game: LiveGame) -> int | None:
    """Where the clock of the current period stops (stoppage time is not projected)."""
    state = game.state
    if game.sport == sport_pb2.SPORT_FOOTBALL:
        regulation = state.football.regulation_seconds or football.REGULATION_SECONDS
        extra = regulation // 6  # two halves of extra time, 15 of 90 minutes each
        ends = {1: regulation // 2, 2: regulation, 3: regulation + extra, 4: regulation + 2 * extra}
        return ends.get(state.period)
    if game.sport == sport_pb2.SPORT_BASKETBALL:
        regulation = state.basketball.regulation_seconds or basketball.REGULATION_SECONDS
        if state.period <= 4:
            return regulation * max(state.period, 1) // 4
        return regulation + (state.period - 4) * 300
    return None


def project_clock(game: LiveGame, clock: MatchClock | None, now: float) -> game_state_pb2.GameState:
    """The game state with the clock moved on to `now` while it runs (whole seconds)."""
    end = period_end(game)
    if clock is None or not clock.running or end is None:
        return game.state
    elapsed = clock.elapsed + max(0, math.floor(now - clock.at))
    elapsed = min(elapsed, max(end, clock.elapsed))
    if elapsed == game.state.elapsed_seconds:
        return game.state
    state = game_state_pb2.GameState()
    state.CopyFrom(game.state)
    state.elapsed_seconds = elapsed
    return state


# ---- the repricing loop ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cadence:
    busy_seconds: float
    quiet_seconds: float
    busy_window_seconds: float

    def interval(self, last_event_at: float | None, now: float) -> float:
        busy = last_event_at is not None and now - last_event_at <= self.busy_window_seconds
        return self.busy_seconds if busy else self.quiet_seconds


@dataclass(frozen=True)
class PricingTarget:
    """What the gateway is asked to price in play: the fixture and the pre-match snapshot."""

    fixture: sport_pb2.Fixture
    snapshot_hash: str


@dataclass(frozen=True)
class FixtureView:
    """One read of a fixture's repricing state."""

    game: LiveGame
    due_at: float | None
    suspended: bool
    last_event_at: float | None
    clock: MatchClock | None
    # The fixture from MATCH_STARTED, when the feed sent one.
    announced_fixture: sport_pb2.Fixture | None
    target: PricingTarget | None
    # FEED_LOST, FEED_GAP or OPERATOR while the fixture is held (nothing priced, nothing
    # reopened).
    hold: str | None = None
    # Bumped at every recovery from a lost feed.
    feed_epoch: int = 0


class PricingFailed(Exception):
    """No live price: the gateway refused (no quorum, unknown snapshot, ...) or is unreachable."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Completion:
    fixture_id: str
    # The event sequence priced; nothing is written if the fixture moved on since.
    sequence: int
    next_due: float
    # Published (and the fixture marked open) only if the fixture is suspended.
    reopen: events_pb2.MarketStatusChanged | None = None
    # Published (and the fixture marked suspended) only if the fixture is open.
    suspend: events_pb2.MarketStatusChanged | None = None
    target: PricingTarget | None = None
    # The feed epoch the price was made in: a reopen from another epoch is refused.
    feed_epoch: int = 0


def fixture_hold(feed_lost: bool, operator: bool, gap: bool = False) -> str | None:
    """The fixture-wide stop holding a fixture, if any: the feed's first (lifting it needs the
    feed back, whatever the operator does), then a gap in its events."""
    if feed_lost:
        return FEED_LOST
    if gap:
        return FEED_GAP
    if operator:
        return OPERATOR
    return None


@dataclass(frozen=True)
class CompletionPlan:
    """What a completed reprice writes (the Redis adapter executes it as it is)."""

    next_due: float
    # markets.status events, in order.
    publications: tuple[events_pb2.MarketStatusChanged, ...] = ()
    # Repricing fields of the fixture.
    fields: Mapping[str, bytes | int] = field(default_factory=dict)


def plan_completion(
    completion: Completion, *, suspended: bool, hold: str | None, feed_epoch: int
) -> CompletionPlan:
    """Given the fixture as stored now (still at the priced sequence), what its reprice's end
    writes: reopen only a suspended fixture nothing holds, suspend only an open one."""
    # A price made before the feed came back is not the fresh one that may reopen: the
    # recovery made the fixture due at once; that reprice reopens.
    stale = feed_epoch != completion.feed_epoch
    publications: list[events_pb2.MarketStatusChanged] = []
    fields: dict[str, bytes | int] = {}
    if completion.reopen is not None and hold is not None:
        # Held since this reprice began: its price is out on quotes.accepted, so the stop is
        # said again, newer than that price.
        publications.append(
            status_event(
                completion.fixture_id,
                market_pb2.MARKET_STATUS_SUSPENDED,
                hold,
                completion.sequence,
            )
        )
    elif completion.reopen is not None and stale:
        pass
    elif completion.reopen is not None and suspended:
        publications.append(completion.reopen)
        fields["suspended"] = 0
    if completion.suspend is not None and not suspended:
        publications.append(completion.suspend)
        fields["suspended"] = 1
    if completion.target is not None:
        fields["target_fixture"] = completion.target.fixture.SerializeToString(deterministic=True)
        fields["snapshot_hash"] = completion.target.snapshot_hash.encode()
    return CompletionPlan(0 if stale else completion.next_due, tuple(publications), fields)


def reprice_completion(
    view: FixtureView,
    now: float,
    cadence: Cadence,
    target: PricingTarget | None,
    quote_set: market_pb2.QuoteSet | None,
) -> Completion:
    """What a reprice's end asks for (plan_completion decides what it writes): reopen the
    markets the accepted set offers (ACTIVE, "REPRICED"), or with no price suspend them
    ("NO_CONSENSUS"); due again on the cadence; the target kept when newly resolved."""
    game = view.game
    fixture_id, sequence = game.fixture_id, game.applied_sequence
    next_due = now + cadence.interval(view.last_event_at, now)
    new_target = target if target is not view.target else None
    if quote_set is None:
        suspend = status_event(
            fixture_id, market_pb2.MARKET_STATUS_SUSPENDED, "NO_CONSENSUS", sequence
        )
        return Completion(
            fixture_id,
            sequence,
            next_due,
            suspend=suspend,
            target=new_target,
            feed_epoch=view.feed_epoch,
        )
    offered = [
        m.market_id for m in quote_set.markets if m.status == market_pb2.MARKET_STATUS_ACTIVE
    ]
    reopen = status_event(
        fixture_id, market_pb2.MARKET_STATUS_ACTIVE, "REPRICED", sequence, offered
    )
    return Completion(
        fixture_id, sequence, next_due, reopen=reopen, target=new_target, feed_epoch=view.feed_epoch
    )
