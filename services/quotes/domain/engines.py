"""The pricing engines of each sport: independent implementations of one model specification.

A replica runs one (BETMESH_QUOTES_ENGINE); a sport's replica set runs at least two, and the
gateway publishes a market only when replicas of two engines agree on it, so a mistake in one
engine's code cannot become a published price. The reference engine comes first (the default).
Kept free of the pricing code's imports: the launcher and the gateway's tooling read it.
"""

from __future__ import annotations

from betmesh.common.v1 import sport_pb2

FOOTBALL_GRID, FOOTBALL_DIRECT = "dc-grid", "dc-direct"
TENNIS_MARKOV, TENNIS_CLOSED_FORM = "markov-dp", "closed-form"
BASKETBALL_PMF, BASKETBALL_CDF = "normal-pmf", "normal-cdf"
ENGINES: dict[sport_pb2.Sport.ValueType, tuple[str, ...]] = {
    sport_pb2.SPORT_FOOTBALL: (FOOTBALL_GRID, FOOTBALL_DIRECT),
    sport_pb2.SPORT_TENNIS: (TENNIS_MARKOV, TENNIS_CLOSED_FORM),
    sport_pb2.SPORT_BASKETBALL: (BASKETBALL_PMF, BASKETBALL_CDF),
}
