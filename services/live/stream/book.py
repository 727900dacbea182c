"""Journal entries and the book: the current state per fixture and phase, as of a position."""

from __future__ import annotations

from dataclasses import dataclass, field

from betmesh.live.v1 import live_odds_service_pb2 as pb

from services.live.stream.filters import Filter, market_type_of
from services.live.stream.resume import ORIGIN, Position

Key = tuple[str, int]


@dataclass(eq=False)
class Entry:
    """One journal entry: what one bus event changed in one phase of one fixture."""

    position: Position
    fixture_id: str
    sport: int
    phase: int
    updates: list[pb.OddsUpdate]
    # The phase's whole state after the change.
    state: pb.FixtureOdds
    # Views of `updates` per market-type restriction, built once per entry, shared by streams.
    _views: dict[frozenset[int], list[pb.OddsUpdate]] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        return self.fixture_id, self.phase

    def view(self, filter_: Filter) -> list[pb.OddsUpdate]:
        if not filter_.market_types:
            return self.updates
        cached = self._views.get(filter_.market_types)
        if cached is None:
            cached = [u for u in (_restrict(u, filter_) for u in self.updates) if u is not None]
            self._views[filter_.market_types] = cached
        return cached


def _restrict(update: pb.OddsUpdate, filter_: Filter) -> pb.OddsUpdate | None:
    kind = update.WhichOneof("update")
    if kind == "odds_change":
        markets = update.odds_change.markets
        if not markets:
            return update  # fixture-level: game state, names
        kept = filter_.markets(markets)
        if not kept:
            return None
        restricted = pb.OddsUpdate()
        restricted.odds_change.CopyFrom(update.odds_change)
        del restricted.odds_change.markets[:]
        restricted.odds_change.markets.extend(kept)
        return restricted
    if kind in ("bet_stop", "rollback_bet_settlement", "bet_cancel"):
        inner = getattr(update, kind)
        if not inner.market_ids:
            return update
        ids = [i for i in inner.market_ids if filter_.market_ok(market_type_of(i))]
        if not ids:
            return None
        restricted = pb.OddsUpdate()
        getattr(restricted, kind).CopyFrom(inner)
        del getattr(restricted, kind).market_ids[:]
        getattr(restricted, kind).market_ids.extend(ids)
        return restricted
    if kind == "bet_settlement":
        kept_settlements = [
            m
            for m in update.bet_settlement.markets
            if filter_.market_ok(market_type_of(m.market_id))
        ]
        if not kept_settlements:
            return None
        restricted = pb.OddsUpdate()
        restricted.bet_settlement.CopyFrom(update.bet_settlement)
        del restricted.bet_settlement.markets[:]
        restricted.bet_settlement.markets.extend(kept_settlements)
        return restricted
    return update


def restricted_state(
    state: pb.FixtureOdds, filter_: Filter, only: set[str] | None = None
) -> pb.FixtureOdds:
    """A copy of `state` with the markets the filter wants (and, given `only`, among those)."""
    copy = pb.FixtureOdds()
    copy.CopyFrom(state)
    if filter_.market_types or only is not None:
        del copy.markets[:]
        copy.markets.extend(
            m
            for m in state.markets
            if filter_.market_ok(m.type) and (only is None or m.market_id in only)
        )
    return copy


class Book:
    def __init__(self) -> None:
        self.states: dict[Key, pb.FixtureOdds] = {}
        self.positions: dict[Key, Position] = {}
        self.position: Position = ORIGIN

    def load(self, key: Key, state: pb.FixtureOdds, position: Position) -> None:
        self.states[key] = state
        self.positions[key] = position

    def already_applied(self, entry: Entry) -> bool:
        """After a bootstrap, the journal tail starts before some states' own positions."""
        return self.positions.get(entry.key, ORIGIN) >= entry.position

    def apply(self, entry: Entry) -> None:
        self.states[entry.key] = entry.state
        self.positions[entry.key] = entry.position
        self.position = entry.position

    def image(self, filter_: Filter) -> list[pb.FixtureOdds]:
        return [
            restricted_state(state, filter_)
            for (fixture_id, phase), state in sorted(self.states.items())
            if filter_.matches(fixture_id, state.fixture.sport, phase)
        ]
