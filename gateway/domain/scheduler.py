"""The pre-match scheduler's rules: which snapshot prices a fixture, and whether a fixture's
latest price is still current (gateway/service_layer/scheduler.py runs the passes).

The current snapshot of a sport is the one pinned by configuration, or else the newest snapshot
that a quorum of the sport's replicas know (they list theirs newest first). Tennis is fitted per
court surface: a fixture is priced from the current snapshot of its surface (Fixture.surface),
and falls back to the hard-court one (a snapshot naming no surface counts as hard) while none
of its surface is published; the quote set's snapshot_hash says which it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from betmesh.common.v1 import sport_pb2

from gateway.domain.model import ListedSnapshot, PricedState, fixture_digest

PRICEABLE = (sport_pb2.FIXTURE_STATUS_UNSPECIFIED, sport_pb2.FIXTURE_STATUS_SCHEDULED)

HARD = sport_pb2.TENNIS_SURFACE_HARD
Surface: TypeAlias = sport_pb2.TennisSurface.ValueType


def snapshot_surface(sport: sport_pb2.Sport.ValueType, surface: Surface) -> Surface:
    """The surface whose snapshots price a fixture (or make a snapshot) of `surface`: its own
    for clay and grass, hard for hard courts and for none named; 0 outside tennis."""
    if sport != sport_pb2.SPORT_TENNIS:
        return sport_pb2.TENNIS_SURFACE_UNSPECIFIED
    return (
        surface
        if surface in (sport_pb2.TENNIS_SURFACE_CLAY, sport_pb2.TENNIS_SURFACE_GRASS)
        else HARD
    )


def falls_back_to_hard(wanted: Surface) -> bool:
    """A clay or grass fixture with no snapshot of its surface is priced from the hard one."""
    return wanted not in (sport_pb2.TENNIS_SURFACE_UNSPECIFIED, HARD)


def quorum_snapshots(
    lists: Sequence[Sequence[ListedSnapshot]],
    quorum: int,
    sport: sport_pb2.Sport.ValueType,
    wanted: Surface,
) -> list[str]:
    """The snapshots of the `wanted` surface that at least `quorum` replicas list, newest first
    as the first replica listing any of them orders them (each replica lists newest first)."""
    known = Counter(s for listed in lists for s in set(listed))
    agreed: list[str] = []
    for listed in lists:
        for snapshot in listed:  # newest first
            if (
                known[snapshot] >= quorum
                and snapshot_surface(sport, snapshot.tennis_surface) == wanted
                and snapshot.snapshot_hash not in agreed
            ):
                agreed.append(snapshot.snapshot_hash)
        if agreed:
            break
    return agreed


def priced_as_now(
    state: PricedState | None, snapshot: str, fixture: sport_pb2.Fixture, margin_scale_e4: int
) -> bool:
    """The fixture's latest pre-match price comes from the current snapshot, the fixture as it
    is now and the steer in force: nothing to re-price. A new steer of the return-to-player
    controller re-prices every fixture, so no pre-match price keeps an old margin."""
    return (
        state is not None
        and state.snapshot_hash == snapshot
        and state.fixture_digest == fixture_digest(fixture)
        and state.margin_scale_e4 == margin_scale_e4
    )


@dataclass
class PassReport:
    fixture_count: int = 0
    priced: int = 0
    unchanged: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    snapshots: dict[sport_pb2.Sport.ValueType, str] = field(default_factory=dict)
    elapsed_seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(self.failures.values())
