"""Feed liveness and fixture holds, decided here (pure): when a fixture's feed counts as lost,
and what a feed-loss or an operator's stop writes. The Redis adapter
(services/live/adapters/redis_liveness.py) reads the fixture, asks these, and writes the plan
in one transaction; how a touch ends a feed loss is its script's (atomic with the touch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from betmesh.common.v1 import market_pb2
from betmesh.events.v1 import events_pb2

from services.live.domain.repricing import FEED_LOST, OPERATOR, status_event


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
