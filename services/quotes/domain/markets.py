"""What a sport model hands to pricing: markets with fair probabilities, before any margin.

Every sport model (football from its score grid, tennis from its Markov chain, basketball from
its normal model) produces `MarketProbabilities`; `pricing.py` turns them into offered prices
(margin method and target payout per market type, payout cap, ladder rounding down, withdrawal
below the minimum odds) and canonical `Market` messages.

A selection's `probability` is its *effective* win probability: 1 / fair decimal odds. For a plain
selection that is P(win). For a selection that can push or half-win/half-lose (Asian handicap,
quarter totals) the fair odds o solve the zero-expectation equation
    p_win (o - 1) + p_half_win (o - 1) / 2 - p_half_lose / 2 - p_lose = 0,
so that margin methods, which work on implied probabilities, apply to every market alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from betmesh.common.v1 import market_pb2, sport_pb2


# Plain slotted dataclasses, not frozen ones: a football fixture builds ~210 of these, and a
# frozen dataclass's __init__ costs about twice as much. Treat them as immutable all the same.
@dataclass(slots=True)
class SelectionProbability:
    selection_id: str  # stable within the market: "home", "over", "2-1", ...
    name: str  # display name
    probability: float  # effective win probability in (0, 1]


@dataclass(slots=True)
class MarketProbabilities:
    market_type: market_pb2.MarketType.ValueType
    name: str  # display name, e.g. "Total goals 2.5"
    selections: list[SelectionProbability]
    line_e2: int | None = None  # hundredths; None for markets without a line
    side: sport_pb2.Side.ValueType = sport_pb2.SIDE_UNSPECIFIED
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcomes:
    """Settlement outcome probabilities of one selection (they sum to 1)."""

    win: float
    half_win: float = 0.0
    push: float = 0.0
    half_lose: float = 0.0
    lose: float = 0.0

    def effective_probability(self) -> float:
        """1 / fair odds (see the module docstring); 0 when the selection cannot win."""
        gain = self.win + self.half_win / 2
        loss = self.half_lose / 2 + self.lose
        if gain <= 0:
            return 0.0
        return gain / (gain + loss)


# Line markets are centred on an expectation, which two engines compute with different
# rounding errors: an expectation that is mathematically a whole number (a certain margin, a
# symmetric matchup) would put their lines a whole point apart. Rounding it to 1e-6 first
# makes both land on the same side (a straddle now needs a value within ~1e-15 of x.0000005).
CENTRE_DECIMALS = 6


def centre_line_e2(value: float) -> int:
    """The x.5 line nearest above `value` (rounded to CENTRE_DECIMALS), in hundredths."""
    return math.floor(round(value, CENTRE_DECIMALS)) * 100 + 50
