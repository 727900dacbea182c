"""Feed liveness and fixture holds, decided here (pure): when a fixture's feed counts as lost,
what a feed-loss or an operator's stop writes, and what a feed's word on where it is up to
(a heartbeat's last sequence) writes. The Redis adapter
(services/live/adapters/redis_liveness.py) reads the fixture, asks these, and writes the plan
in one transaction.

Recovery from a lost feed (Sportradar's model: stay suspended until the producer says which
message it is up to and we have it): the feed being heard from again proves nothing about the
events it sent meanwhile. A goal sent during the outage and not redelivered yet would leave
us pricing, and reopening at, the pre-goal score. So a feed loss ends only on evidence that
nothing is missing at the tail: the next event in sequence applied (`ingest_ends_feed_loss`),
or a heartbeat whose last sequence is the one we applied (`progress_plan`). A heartbeat that
says the feed is further on than we are suspends the fixture (FEED_GAP) until the missing
events are applied (domain/ingest.py lifts the gap), whether or not the feed was lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from betmesh.common.v1 import market_pb2
from betmesh.events.v1 import events_pb2

from service_runtime.errors import FailedPrecondition
from services.live.domain.repricing import FEED_GAP, FEED_LOST, OPERATOR, status_event
from services.live.domain.sequencing import Outcome


class FeedCheck(StrEnum):
    WATCH = "WATCH"  # heard from in time: keep watching
    FORGET = "FORGET"  # finished, or already held: the next touch puts it back if needed
    SUSPEND = "SUSPEND"  # its feed is lost: stop its markets (FEED_LOST)


def check_feed(
    *,
    live: bool,
    already_lost: bool,
    fixture_seen: float,
    producer_seen: float | None,
    cutoff: float,
) -> FeedCheck:
    """A live fixture's feed is lost when the fixture was not touched since `cutoff` (now minus
    the deadline), or its producer was not heard from since."""
    if not live or already_lost:
        return FeedCheck.FORGET
    lost = fixture_seen <= cutoff or (producer_seen is not None and producer_seen <= cutoff)
    return FeedCheck.SUSPEND if lost else FeedCheck.WATCH


def vouched_for(
    *, fixture_seen: float, producer_seen: float | None, cutoff: float, hold: str | None
) -> bool:
    """Whether live's heartbeat names a live fixture: watched, its feed heard from in time and
    not held (FEED_LOST, FEED_GAP, OPERATOR). Bets takes in-play bets only on those."""
    watching = check_feed(
        live=True,
        already_lost=False,
        fixture_seen=fixture_seen,
        producer_seen=producer_seen,
        cutoff=cutoff,
    )
    return hold is None and watching == FeedCheck.WATCH


@dataclass(frozen=True)
class HoldPlan:
    """What setting or lifting a fixture-wide hold writes."""

    # Fields of the fixture's repricing state.
    fields: Mapping[str, int] = field(default_factory=dict)
    # markets.status events, in order.
    publications: tuple[events_pb2.MarketStatusChanged, ...] = ()
    # Due for a reprice at once (the markets reopen only with the next accepted price).
    due_now: bool = False


def feed_lost_plan(fixture_id: str, sequence: int) -> HoldPlan:
    return HoldPlan(
        {"feed_lost": 1, "suspended": 1},
        (status_event(fixture_id, market_pb2.MARKET_STATUS_SUSPENDED, FEED_LOST, sequence),),
    )


def operator_hold_plan(
    fixture_id: str, held: bool, currently_held: bool, sequence: int
) -> HoldPlan | None:
    """An operator's stop (held) or its lifting; None when it is already so (idempotent). The
    lifting reopens nothing by itself: the fixture is due at once and the next accepted reprice
    reopens it, unless its feed is lost too."""
    if held == currently_held:
        return None
    if held:
        return HoldPlan(
            {"operator": 1, "suspended": 1},
            (status_event(fixture_id, market_pb2.MARKET_STATUS_SUSPENDED, OPERATOR, sequence),),
        )
    return HoldPlan({"operator": 0}, due_now=True)


def ingest_ends_feed_loss(outcome: Outcome) -> bool:
    """Whether an ingest ends its fixture's feed loss: only an event applied in sequence (the
    next one after what we had, so nothing before it is missing). A repeated event says
    nothing about what came after it, and a held one leaves a gap (FEED_GAP holds anyway)."""
    return outcome == Outcome.APPLIED


@dataclass(frozen=True)
class FixtureProgress:
    """A feed's word on one fixture: the last sequence it has sent."""

    fixture_id: str
    last_sequence: int


def latest_progress(progress: Iterable[FixtureProgress]) -> list[FixtureProgress]:
    """One word per fixture (its highest last sequence: the feed's latest), in fixture order."""
    latest: dict[str, int] = {}
    for item in progress:
        latest[item.fixture_id] = max(item.last_sequence, latest.get(item.fixture_id, 0))
    return [FixtureProgress(f, latest[f]) for f in sorted(latest)]


def check_progress(progress: FixtureProgress, applied: int) -> None:
    """A feed saying it sent less than we applied has lost count (restarted without its
    state, or counts another fixture's events): its word cannot vouch for anything, so the
    heartbeat is refused, for the feed to notice, rather than ignored."""
    if progress.last_sequence < applied:
        raise FailedPrecondition(
            "LAST_SEQUENCE_BEHIND_APPLIED",
            f"fixture {progress.fixture_id}: the feed says its last sequence is "
            f"{progress.last_sequence}, but live has applied up to {applied}",
            {
                "fixture_id": progress.fixture_id,
                "last_sequence": str(progress.last_sequence),
                "applied_sequence": str(applied),
            },
        )


@dataclass(frozen=True)
class Behind:
    """A fixture whose events live is missing: the feed resends missing_sequence through
    missing_through (the names SEQUENCE_GAP's metadata uses)."""

    fixture_id: str
    missing_sequence: int
    missing_through: int
    applied_sequence: int


@dataclass(frozen=True)
class ProgressPlan:
    """What a feed's last sequence for a fixture writes."""

    # The pricing hash's fields, the bet stop and whether a reprice is due at once.
    hold: HoldPlan = field(default_factory=HoldPlan)
    # The feed loss ends (the adapter bumps feed_epoch: a reprice started before cannot reopen).
    ends_loss: bool = False
    # The highest sequence the feed said it sent, when higher than the one stored (the gap
    # lasts until it is applied: domain/ingest.py).
    announced: int | None = None
    behind: Behind | None = None

    @property
    def recovered(self) -> bool:
        """Recovered from a lost feed and due for the reprice that reopens it."""
        return self.ends_loss and self.hold.due_now

    @property
    def writes(self) -> bool:
        return bool(self.hold.fields or self.ends_loss or self.announced is not None)


def progress_plan(
    fixture_id: str,
    *,
    live: bool,
    applied: int,
    last_sequence: int,
    announced: int,
    feed_lost: bool,
    gap: bool,
) -> ProgressPlan:
    """What a feed's last sequence writes for a fixture whose last applied sequence is
    `applied`; `announced` is the highest the feed said before (0: none), `feed_lost` and
    `gap` its holds. The caller refused a last sequence below `applied` (check_progress); one
    found below it here was overtaken by the feed's own next event, applied since: it says
    nothing more."""
    through = max(last_sequence, announced)
    behind = Behind(fixture_id, applied + 1, through, applied) if through > applied else None
    if not live or last_sequence < applied:
        # Not in play: no market of ours to stop, nothing to end; the feed still hears what
        # it should resend.
        return ProgressPlan(behind=behind)
    if behind is None:
        if not feed_lost:
            return ProgressPlan()
        # We have everything the feed sent: the next accepted reprice reopens.
        return ProgressPlan(HoldPlan({"feed_lost": 0}, due_now=True), ends_loss=True)
    # The tail is missing (a goal in the outage, perhaps): stop at once, even if open, and
    # say FEED_GAP once (or in place of FEED_LOST: the feed is back, its events are not).
    fields: dict[str, int] = {}
    publications: tuple[events_pb2.MarketStatusChanged, ...] = ()
    if feed_lost:
        fields["feed_lost"] = 0
    if feed_lost or not gap:
        fields.update(gap=1, suspended=1)
        publications = (
            status_event(fixture_id, market_pb2.MARKET_STATUS_SUSPENDED, FEED_GAP, applied),
        )
    return ProgressPlan(
        HoldPlan(fields, publications),
        ends_loss=feed_lost,
        announced=last_sequence if last_sequence > announced else None,
        behind=behind,
    )
