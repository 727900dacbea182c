"""Subscription filters: validation and matching."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb

from service_runtime.errors import InvalidArgument

KNOWN_SPORTS = frozenset(v for v in sport_pb2.Sport.values() if v != sport_pb2.SPORT_UNSPECIFIED)
KNOWN_MARKET_TYPES = frozenset(
    v for v in market_pb2.MarketType.values() if v != market_pb2.MARKET_TYPE_UNSPECIFIED
)
PHASES = {
    pb.PHASE_FILTER_UNSPECIFIED: None,
    pb.PHASE_FILTER_PRE_MATCH: market_pb2.PRICING_PHASE_PRE_MATCH,
    pb.PHASE_FILTER_LIVE: market_pb2.PRICING_PHASE_LIVE,
}
_TYPE_BY_NAME = {
    name.removeprefix("MARKET_TYPE_"): value for name, value in market_pb2.MarketType.items()
}


def market_type_of(market_id: str) -> int:
    """Market ids read "<fixture_id>/<TYPE>[/...]"; the type is recoverable without state."""
    parts = market_id.split("/")
    return _TYPE_BY_NAME.get(parts[1], 0) if len(parts) > 1 else 0


@dataclass(frozen=True)
class Filter:
    sports: frozenset[int] = frozenset()
    fixture_ids: frozenset[str] = frozenset()
    market_types: frozenset[int] = frozenset()
    # A PricingPhase value, or None for both.
    phase: int | None = None

    @classmethod
    def from_proto(cls, message: pb.SubscriptionFilter, max_fixture_ids: int) -> Filter:
        unknown: list[int] = sorted(set(message.sports) - KNOWN_SPORTS)
        if unknown:
            raise InvalidArgument(
                "UNKNOWN_SPORT",
                f"unknown sport value(s) {unknown}",
                {"sports": ",".join(map(str, unknown))},
            )
        unknown = sorted(int(t) for t in set(message.market_types) - KNOWN_MARKET_TYPES)
        if unknown:
            raise InvalidArgument(
                "UNKNOWN_MARKET_TYPE",
                f"unknown market type value(s) {unknown}",
                {"market_types": ",".join(map(str, unknown))},
            )
        if message.phase not in PHASES:
            raise InvalidArgument("UNKNOWN_PHASE", f"unknown phase value {message.phase}")
        if len(message.fixture_ids) > max_fixture_ids:
            raise InvalidArgument(
                "TOO_MANY_FIXTURE_IDS",
                f"{len(message.fixture_ids)} fixture ids; at most {max_fixture_ids} per stream",
                {"max_fixture_ids": str(max_fixture_ids)},
            )
        if any(not f for f in message.fixture_ids):
            raise InvalidArgument("EMPTY_FIXTURE_ID", "fixture_ids must not contain empty ids")
        return cls(
            sports=frozenset(message.sports),
            fixture_ids=frozenset(message.fixture_ids),
            market_types=frozenset(message.market_types),
            phase=PHASES[message.phase],
        )

    def to_proto(self) -> pb.SubscriptionFilter:
        phase = next(k for k, v in PHASES.items() if v == self.phase)
        return pb.SubscriptionFilter(
            sports=sorted(self.sports),  # type: ignore[arg-type]
            fixture_ids=sorted(self.fixture_ids),
            market_types=sorted(self.market_types),  # type: ignore[arg-type]
            phase=phase,  # type: ignore[arg-type]
        )

    def matches(self, fixture_id: str, sport: int, phase: int) -> bool:
        return (
            (not self.sports or sport in self.sports)
            and (not self.fixture_ids or fixture_id in self.fixture_ids)
            and (self.phase is None or phase == self.phase)
        )

    def market_ok(self, market_type: int) -> bool:
        return not self.market_types or market_type in self.market_types

    def markets(self, markets: Iterable[market_pb2.Market]) -> list[market_pb2.Market]:
        return [m for m in markets if self.market_ok(m.type)]
