"""Basketball's rules: the game clock a fixture is priced on, from the rules the fixture names.

The one table of the quotes service (live keeps the clock it runs from the same contract enum,
`services/live/domain/basketball.py`): the NBA plays 4 x 12 minutes, FIBA (EuroLeague and most
leagues outside the NBA) 4 x 10; both play overtimes of 5 minutes until the tie is broken. A
fixture naming no rules is an NBA one. An overtime is priced as a short game whose share of the
expectation is its length over regulation's (5/48 or 5/40), by both engines, pre-match and live.

In play the state carries the regulation live's clock runs (set from the same fixture when the
game started); a state whose clock contradicts the rules the fixture names is refused rather
than priced on either (fail closed: one of the two is wrong, and the price would be).
"""

from __future__ import annotations

from dataclasses import dataclass

from betmesh.common.v1 import game_state_pb2, sport_pb2

from service_runtime.errors import InvalidArgument

OVERTIME_SECONDS = 5 * 60
REGULATION_PERIODS = 4
REGULATION_SECONDS = {
    sport_pb2.BASKETBALL_RULES_UNSPECIFIED: 4 * 12 * 60,
    sport_pb2.BASKETBALL_RULES_NBA: 4 * 12 * 60,
    sport_pb2.BASKETBALL_RULES_FIBA: 4 * 10 * 60,
}
DEFAULT_REGULATION_SECONDS = REGULATION_SECONDS[sport_pb2.BASKETBALL_RULES_UNSPECIFIED]


@dataclass(frozen=True)
class Clock:
    regulation_seconds: int

    @property
    def overtime_fraction(self) -> float:
        """One overtime's share of a game's expectation (its length over regulation's)."""
        return OVERTIME_SECONDS / self.regulation_seconds


def clock(fixture: sport_pb2.Fixture, state: game_state_pb2.GameState | None = None) -> Clock:
    named = REGULATION_SECONDS.get(fixture.basketball_rules)
    if named is None:
        raise InvalidArgument(
            "UNKNOWN_BASKETBALL_RULES",
            f"fixture.basketball_rules {fixture.basketball_rules} is not a known rule set",
        )
    measured = state.basketball.regulation_seconds if state is not None else 0
    if measured and fixture.basketball_rules and measured != named:
        raise InvalidArgument(
            "GAME_STATE_RULES_MISMATCH",
            f"game_state.basketball.regulation_seconds {measured} contradicts the fixture's "
            f"{sport_pb2.BasketballRules.Name(fixture.basketball_rules)} ({named} s)",
            {"regulation_seconds": str(measured), "expected": str(named)},
        )
    return Clock(measured or named)
