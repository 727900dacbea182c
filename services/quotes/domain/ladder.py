"""The odds ladder (Betfair's ticks) in ten-thousandths, and rounding down onto it.

Rounding a price down never raises the payout, so the margin is never eroded by rounding.
"""

from __future__ import annotations

import bisect

# (from, to, tick) in ten-thousandths.
_BANDS = [
    (10_100, 20_000, 100),
    (20_000, 30_000, 200),
    (30_000, 40_000, 500),
    (40_000, 60_000, 1_000),
    (60_000, 100_000, 2_000),
    (100_000, 200_000, 5_000),
    (200_000, 300_000, 10_000),
    (300_000, 500_000, 20_000),
    (500_000, 1_000_000, 50_000),
    (1_000_000, 10_000_000, 100_000),
]


def _build() -> list[int]:
    ticks: list[int] = []
    for start, end, step in _BANDS:
        ticks.extend(range(start, end, step))
    ticks.append(_BANDS[-1][1])
    return ticks


LADDER: list[int] = _build()
MIN_ODDS_E4 = LADDER[0]
MAX_ODDS_E4 = LADDER[-1]


def round_down(odds_e4: int) -> int:
    """Largest ladder price <= odds_e4; 0 when below the ladder (the selection is withdrawn)."""
    if odds_e4 < MIN_ODDS_E4:
        return 0
    return LADDER[bisect.bisect_right(LADDER, min(odds_e4, MAX_ODDS_E4)) - 1]
