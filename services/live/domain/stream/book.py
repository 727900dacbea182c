"""Journal entries and the book: the current state per fixture and phase, as of a position."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from betmesh.live.v1 import live_odds_service_pb2 as pb
from google.protobuf import timestamp_pb2

from services.live.domain.stream.filters import Filter, market_type_of
from services.live.domain.stream.resume import ORIGIN, Position
from services.live.domain.stream.wire import update_chunk

Key = tuple[str, int]


# Kept one by one, in order, by a conflating stream: settlements, rollbacks and cancellations
# are facts, and every bet stop is delivered (conflation merges prices, never hides a
# suspension).
_FACTS = frozenset({"bet_stop", "bet_settlement", "rollback_bet_settlement", "bet_cancel"})


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
    # The bus event's W3C traceparent ("" when untraced), for the fan-out span.
    traceparent: str = ""
    # Views of `updates` per market-type restriction, built once per entry, shared by streams.
    _views: dict[frozenset[int], list[pb.OddsUpdate]] = field(default_factory=dict)
    # The same views encoded (OddsDeltas.updates elements): serialised once, sent by every stream.
    _encoded: dict[frozenset[int], list[bytes]] = field(default_factory=dict)
    _facts: dict[frozenset[int], list[pb.OddsUpdate]] = field(default_factory=dict)
    # (fixture_id, phase): looked up per stream per entry, so computed once.
    key: Key = field(init=False)

    def __post_init__(self) -> None:
        self.key = (self.fixture_id, self.phase)

    @property
    def has_facts(self) -> bool:
        """Settlements, rollbacks or cancellations in it (for any filter)."""
        return bool(self.facts(_EVERYTHING))

    def view(self, filter_: Filter) -> list[pb.OddsUpdate]:
        if not filter_.market_types:
            return self.updates
        cached = self._views.get(filter_.market_types)
        if cached is None:
            cached = [u for u in (_restrict(u, filter_) for u in self.updates) if u is not None]
            self._views[filter_.market_types] = cached
        return cached

    def facts(self, filter_: Filter) -> list[pb.OddsUpdate]:
        """Its settlements, rollbacks and cancellations (facts, not states: a conflating
        stream keeps them, in order), worked out once per view."""
        cached = self._facts.get(filter_.market_types)
        if cached is None:
            cached = [u for u in self.view(filter_) if u.WhichOneof("update") in _FACTS]
            self._facts[filter_.market_types] = cached
        return cached

    def encoded(self, filter_: Filter) -> list[bytes]:
        cached = self._encoded.get(filter_.market_types)
        if cached is None:
            cached = [update_chunk(u) for u in self.view(filter_)]
            self._encoded[filter_.market_types] = cached
        return cached


def _restrict(update: pb.OddsUpdate, filter_: Filter) -> pb.OddsUpdate | None:
    kind = update.WhichOneof("update")
    if kind == "odds_change":
        markets = update.odds_change.markets
        if not markets:
            return update  # fixture-level: game state, names
        kept = filter_.markets(markets)
        return _restricted(update, kind, "markets", kept) if kept else None
    if kind in ("bet_stop", "rollback_bet_settlement", "bet_cancel"):
        inner = getattr(update, kind)
        if not inner.market_ids:
            return update
        ids = [i for i in inner.market_ids if filter_.market_ok(market_type_of(i))]
        return _restricted(update, kind, "market_ids", ids) if ids else None
    if kind == "bet_settlement":
        kept_settlements = [
            m
            for m in update.bet_settlement.markets
            if filter_.market_ok(market_type_of(m.market_id))
        ]
        if not kept_settlements:
            return None
        return _restricted(update, kind, "markets", kept_settlements)
    return update


def _restricted(update: pb.OddsUpdate, kind: str, field: str, kept: Sequence[Any]) -> pb.OddsUpdate:
    """A copy of `update` whose `kind` message lists only `kept` in its repeated `field`."""
    restricted = pb.OddsUpdate()
    inner = getattr(restricted, kind)
    inner.CopyFrom(getattr(update, kind))
    del getattr(inner, field)[:]
    getattr(inner, field).extend(kept)
    return restricted


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


_EVERYTHING = Filter()


class Book:
    def __init__(self) -> None:
        self.states: dict[Key, pb.FixtureOdds] = {}
        self.positions: dict[Key, Position] = {}
        self.position: Position = ORIGIN
        # Keys by the position of their last change, oldest first: what a conflating stream
        # sends is what changed since it last sent.
        self._recent: OrderedDict[Key, Position] = OrderedDict()
        self._unsorted = False
        # Encoded odds_change updates of the current states, per market-type restriction:
        # conflated streams flushing at about the same time share them.
        self._encoded: dict[Key, dict[frozenset[int], bytes]] = {}
        # When the latest change of each state happened at its source (OddsUpdate.event_time).
        self.event_times: dict[Key, timestamp_pb2.Timestamp] = {}

    def load(self, key: Key, state: pb.FixtureOdds, position: Position) -> None:
        self.states[key] = state
        self.positions[key] = position
        self._encoded.pop(key, None)
        # Loaded in any order (a bootstrap): sorted by position before _recent is used.
        self._recent[key] = position
        self._unsorted = True

    def _sort_recent(self) -> None:
        if self._unsorted:
            self._recent = OrderedDict(sorted(self._recent.items(), key=lambda item: item[1]))
            self._unsorted = False

    def changed_since(self, start: Position) -> list[Key]:
        """Keys whose state changed at `start` or later, in journal order."""
        self._sort_recent()
        keys: list[Key] = []
        for key, position in reversed(self._recent.items()):
            if position < start:
                break
            keys.append(key)
        keys.reverse()
        return keys

    def encoded_state(self, key: Key, filter_: Filter) -> bytes:
        """The state of `key` (the filter's market types) as an encoded odds_change."""
        cache = self._encoded.setdefault(key, {})
        found = cache.get(filter_.market_types)
        if found is None:
            view = restricted_state(self.states[key], filter_)
            update = pb.OddsUpdate(odds_change=view)
            when = self.event_times.get(key)
            if when is not None:
                update.event_time.CopyFrom(when)
            found = cache[filter_.market_types] = update_chunk(update)
        return found

    def already_applied(self, entry: Entry) -> bool:
        """After a bootstrap, the journal tail starts before some states' own positions."""
        return self.positions.get(entry.key, ORIGIN) >= entry.position

    def apply(self, entry: Entry) -> None:
        self.states[entry.key] = entry.state
        self.positions[entry.key] = entry.position
        for update in entry.updates:
            if update.HasField("event_time"):
                self.event_times[entry.key] = update.event_time
        self.position = entry.position
        self._encoded.pop(entry.key, None)
        self._sort_recent()
        self._recent[entry.key] = entry.position
        self._recent.move_to_end(entry.key)

    def image(self, filter_: Filter) -> list[pb.FixtureOdds]:
        return [
            restricted_state(state, filter_)
            for (fixture_id, phase), state in sorted(self.states.items())
            if filter_.matches(fixture_id, state.fixture.sport, phase)
        ]
