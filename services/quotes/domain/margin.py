"""From fair probabilities to offered prices: margin, payout cap, ladder, withdrawal.

Everything after the model's probabilities is integer arithmetic, so replicas agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.quotes.domain.ladder import round_down

PROBABILITY_SCALE = 1_000_000_000  # e9
PAYOUT_SCALE = 10_000  # e4


def to_probability_e9(probability: float) -> int:
    """One documented rounding rule: half away from zero at 1e-9, clamped to [0, 1]."""
    scaled = int(probability * PROBABILITY_SCALE + 0.5)
    return max(0, min(PROBABILITY_SCALE, scaled))


@dataclass(frozen=True)
class PricedSelection:
    probability_e9: int
    odds_e4: int  # 0 when withdrawn


def multiplicative(
    probabilities_e9: list[int], payout_e4: int, min_odds_e4: int
) -> list[PricedSelection]:
    """Each price = payout / p, rounded down to the ladder; below min_odds_e4 is withdrawn.

    Scaling every implied probability by the same factor keeps the market's theoretical
    payout at `payout_e4` before rounding and below it after.
    """
    priced = []
    for p in probabilities_e9:
        odds = (payout_e4 * PROBABILITY_SCALE) // p if p > 0 else 0
        odds = round_down(odds)
        priced.append(PricedSelection(p, odds if odds >= min_odds_e4 else 0))
    return priced


def theoretical_payout_e4(selections: list[PricedSelection]) -> int:
    """1 / sum(1/odds) over offered selections, ten-thousandths, rounded down."""
    offered = [s.odds_e4 for s in selections if s.odds_e4 > 0]
    if not offered:
        return 0
    # sum(1/odds_e4) * 1e4 as a fraction with an integer numerator.
    numerator = 0
    denominator = 1
    for odds in offered:
        numerator = numerator * odds + denominator
        denominator *= odds
    # payout_e4 = 1e4 / sum(1e4 / odds_e4) = 1 / (numerator / denominator)
    return denominator // numerator
