"""Per-fixture ordering of match events: apply in sequence, ignore duplicates, hold gaps.

`decide` is pure: given what is stored for a fixture (the game, the held events) and the
clock, it says what one ingest does. The storage adapter runs it inside an atomic
read-decide-write, so concurrent ingests by several processes see one history.

Rules, for a fixture whose highest applied sequence is N:
- sequence <= N: DUPLICATE, nothing changes (feeds retry).
- sequence N+1: APPLIED, then every held event N+2, N+3, ... that is now contiguous is applied
  in order. The event itself must fit the game, or the call fails and nothing changes (the
  sequence stays open for a corrected event). A held event that no longer fits when its turn
  comes is dropped (`Discarded`): its sequence becomes the gap again.
- N+1 < sequence <= N+MAX_AHEAD: HELD (a second copy of a held sequence is a DUPLICATE).
- Gap expiry: when the oldest held event has waited longer than the hold window and
  N+1 is still missing, every ingest except N+1 fails FAILED_PRECONDITION/SEQUENCE_GAP with
  metadata `missing_sequence` (N+1) and `missing_through` (the last missing sequence before the
  first held one): the feed resends that range and the held events then apply. Held events
  are kept, never silently given up.
- After MATCH_ENDED (or MATCH_ABANDONED) only duplicates are accepted; anything new fails
  FAILED_PRECONDITION/MATCH_ENDED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.errors import DomainError, FailedPrecondition, InvalidArgument
from services.live.domain.game import (
    DEFAULT_BEST_OF_SETS,
    LiveGame,
    apply_event,
    check_not_finished,
    check_sport,
    new_game,
    validate_event,
)

# Bounds what one fixture can make us store: a feed this far ahead is broken, not early.
MAX_AHEAD = 1_000


class Outcome(StrEnum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    HELD = "HELD"


@dataclass(frozen=True)
class HeldEvent:
    event: me.MatchEvent
    # Seconds since the epoch on the shared clock, when the event was first held.
    held_at: float


@dataclass(frozen=True)
class Discarded:
    sequence: int
    reason: str
    message: str


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    # Highest sequence applied after this call.
    applied_sequence: int
    # The game after this call; None while nothing has been applied for the fixture.
    game: LiveGame | None
    # The game after each event applied by this call, in order (the event, then released ones).
    applied: tuple[LiveGame, ...] = ()
    # An event to store as held.
    hold: HeldEvent | None = None
    # Held sequences to delete (applied or discarded).
    release: tuple[int, ...] = ()
    discarded: tuple[Discarded, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.hold or self.release)


def _check_gap(
    game: LiveGame | None,
    held: Mapping[int, HeldEvent],
    event: me.MatchEvent,
    now: float,
    hold_seconds: float,
) -> None:
    if not held:
        return
    applied = game.applied_sequence if game else 0
    missing = applied + 1
    if event.sequence == missing:
        return
    oldest = min(h.held_at for h in held.values())
    waited = now - oldest
    if waited <= hold_seconds:
        return
    missing_through = min(held) - 1
    raise FailedPrecondition(
        "SEQUENCE_GAP",
        f"fixture {event.fixture_id}: sequence {missing} is missing and events after it have been "
        f"held for {waited:.1f}s (limit {hold_seconds:g}s); resend sequences "
        f"{missing}..{missing_through}",
        {
            "fixture_id": event.fixture_id,
            "missing_sequence": str(missing),
            "missing_through": str(missing_through),
            "applied_sequence": str(applied),
            "held_count": str(len(held)),
        },
    )


def decide(
    game: LiveGame | None,
    held: Mapping[int, HeldEvent],
    event: me.MatchEvent,
    now: float,
    *,
    hold_seconds: float,
    best_of_sets: int = DEFAULT_BEST_OF_SETS,
) -> Decision:
    """What ingesting `event` does; raises a DomainError when the event is refused."""
    validate_event(event)
    if game is not None:
        check_sport(game, event)
    _check_gap(game, held, event, now, hold_seconds)
    applied = game.applied_sequence if game else 0
    if event.sequence <= applied:
        return Decision(Outcome.DUPLICATE, applied, game)
    if game is not None:
        check_not_finished(game)
    if event.sequence > applied + 1:
        if event.sequence in held:
            return Decision(Outcome.DUPLICATE, applied, game)
        if event.sequence > applied + MAX_AHEAD:
            raise FailedPrecondition(
                "SEQUENCE_TOO_FAR_AHEAD",
                f"sequence {event.sequence} is more than {MAX_AHEAD} ahead of the last applied "
                f"({applied}) for fixture {event.fixture_id}",
                {"applied_sequence": str(applied), "max_ahead": str(MAX_AHEAD)},
            )
        return Decision(Outcome.HELD, applied, game, hold=HeldEvent(event, now))

    if game is None and event.fixture.best_of_sets:
        # The match format comes with the fixture on the first event, when the feed sends it.
        if event.fixture.best_of_sets not in (3, 5):
            raise InvalidArgument(
                "INVALID_BEST_OF_SETS",
                "fixture.best_of_sets must be 3 or 5",
                {"best_of_sets": str(event.fixture.best_of_sets)},
            )
        best_of_sets = event.fixture.best_of_sets
    # A basketball game's clock is set by its rules, also from the fixture on the first event.
    current = apply_event(
        game
        or new_game(event.fixture_id, event.sport, best_of_sets, event.fixture.basketball_rules),
        event,
    )
    results = [current]
    release: list[int] = []
    discarded: list[Discarded] = []
    while (successor := held.get(current.applied_sequence + 1)) is not None:
        release.append(successor.event.sequence)
        try:
            current = apply_event(current, successor.event)
        except DomainError as exc:
            discarded.append(Discarded(successor.event.sequence, exc.reason, exc.message))
            break
        results.append(current)
    return Decision(
        Outcome.APPLIED,
        current.applied_sequence,
        current,
        applied=tuple(results),
        release=tuple(release),
        discarded=tuple(discarded),
    )
