"""From fair probabilities to offered prices: margin, ladder, floor or withdrawal.

Everything after the model's probabilities is integer arithmetic, so replicas agree exactly:

1. The model's float probability becomes `probability_e9` by ONE rule (`to_probability_e9`:
   round half up at 1e-9, clamped to [0, 1e9]). From here on no float is touched.
2. A margin method turns a market's `probability_e9`s into *implied* probabilities: exact
   fractions for the closed-form methods, integers at scale 1e18 (`IMPLIED_SCALE`) rounded UP
   for the solved ones; their sum is at least 1 / target payout.
   The selections are taken as the market's exhaustive outcomes: probabilities are normalised
   by their sum first, which also absorbs the e9 rounding.
3. The offered price is floor(1 / implied) in ten-thousandths, then rounded DOWN to the ladder.
   Below `min_odds_e4` the selection is withdrawn (odds 0), or, when the policy floors short
   prices (`floor_short`), offered at `min_odds_e4` itself provided that is not above its fair
   odds (min_odds * p <= 1: the floor never hands the player a positive expectation; a
   selection whose fair odds are under the floor is still withdrawn).
4. The market's theoretical payout is 1 / sum of implied probabilities, where an offered
   selection counts 1/odds and a withdrawn one the implied probability its method gave it (both
   rounded up at 1e18); the result rounded down. Because every offered price is at most
   1/implied, the payout never exceeds the target, except where a short price was floored
   (that selection then counts at its floor, so the stated payout is what is offered).
   There is no per-market payout cap: the French 85% (décret 2020-1349 art. 27) is an average
   over a licence's calendar year, steered by the gateway's return-to-player controller
   (`gateway/domain/rtp_controller.py`), which scales every market's margin (`scaled_payout_e4`).

The methods (`target` T = 1 / payout is the booksum to reach, p the normalised fair
probabilities, n their count):
- multiplicative: q = p * T. Every selection carries the same relative margin.
- additive: q = p + (T - 1) / n. The same absolute margin on every selection.
- odds-proportional: q = p + (T - 1) * w, w = (1/p) / sum(1/p): each selection's share of the
  margin is proportional to its fair odds, so longshots carry most of it.
- power: q = p ** k, k < 1 solved so that sum(q) = T (decimal arithmetic, see `_power`).
- Shin: q = sqrt(T) * sqrt((1 - z) p^2 + z p), z solved so that sum(q) = T (integer sqrt).
- odds ratio (Cheung 2015): q / (1 - q) = c * p / (1 - p), c >= 1 solved so that sum(q) = T.
  Every q stays below 1 whatever T, so a short favourite keeps a price above 1 (power does too;
  multiplicative, additive and Shin push a favourite past 1 once p > 1/T, 1 - (T-1)/n or
  about 1/sqrt(T)), and the margin falls on the longshots, as the favourite-longshot bias of
  real markets has it. c is found by Newton's method in floats using + - * / only (IEEE 754
  rounds each of them exactly, the same on every platform, unlike exp/log/pow), then every q is
  computed in integers from it.
Solved methods can land a hair below T after integer rounding; a final proportional top-up
(`_guard`) restores sum(q) >= T, so "never above the target" holds for every method.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from services.quotes.domain.ladder import MAX_ODDS_E4, round_down

PROBABILITY_SCALE = 1_000_000_000  # e9
PAYOUT_SCALE = 10_000  # e4
IMPLIED_SCALE = 10**18


class Method(Enum):
    MULTIPLICATIVE = "multiplicative"
    ADDITIVE = "additive"
    ODDS_PROPORTIONAL = "odds-proportional"
    POWER = "power"
    SHIN = "shin"
    ODDS_RATIO = "odds-ratio"


def to_probability_e9(probability: float) -> int:
    """The one rounding rule from model floats: half up at 1e-9, clamped to [0, 1]."""
    if not probability > 0.0:  # also NaN
        return 0
    scaled = int(probability * PROBABILITY_SCALE + 0.5)
    return max(0, min(PROBABILITY_SCALE, scaled))


@dataclass(frozen=True)
class PricedSelection:
    probability_e9: int
    implied_e18: int  # margined implied probability, scale 1e18
    odds_e4: int  # 0 when withdrawn

    @property
    def withdrawn(self) -> bool:
        return self.odds_e4 == 0


@dataclass(frozen=True)
class PricedMarket:
    selections: list[PricedSelection]
    payout_e4: int


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def target_booksum_e18(payout_e4: int) -> int:
    """1 / payout at scale 1e18, rounded up."""
    return _ceil_div(IMPLIED_SCALE * PAYOUT_SCALE, payout_e4)


# A method returns the implied probabilities as numerators over one common denominator: exact
# fractions for the closed forms (so a price that lands exactly on a tick keeps it), numerators
# at scale 1e18 rounded up for the others.
Implied = tuple[list[int], int]


def _multiplicative(p: Sequence[int], total: int, payout_e4: int) -> Implied:
    return [x * PAYOUT_SCALE for x in p], total * payout_e4


def _additive(p: Sequence[int], total: int, payout_e4: int) -> Implied:
    n = sum(1 for x in p if x > 0)
    spare = PAYOUT_SCALE - payout_e4
    return [x * n * payout_e4 + spare * total if x else 0 for x in p], total * n * payout_e4


def _scaled(values: list[int]) -> Implied:
    return values, IMPLIED_SCALE


def _odds_proportional(p: Sequence[int], total: int, payout_e4: int) -> Implied:
    # Inverse probabilities at a scale large enough that their ratios are exact to ~1e-27.
    inverse = [_ceil_div(10**36, x) if x else 0 for x in p]
    inverse_sum = sum(inverse)
    spare = PAYOUT_SCALE - payout_e4
    return _scaled(
        [
            _ceil_div(x * IMPLIED_SCALE, total)
            + _ceil_div(IMPLIED_SCALE * spare * inv, payout_e4 * inverse_sum)
            if x
            else 0
            for x, inv in zip(p, inverse, strict=True)
        ]
    )


# Power needs real exponentials; decimal (libmpdec) computes exp and ln correctly rounded in
# software, so every platform gets the same digits, unlike the C library's pow.
_DECIMAL = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)


def _power(p: Sequence[int], total: int, payout_e4: int) -> Implied:
    ctx = _DECIMAL
    zero = decimal.Decimal(0)
    target = ctx.divide(decimal.Decimal(PAYOUT_SCALE), decimal.Decimal(payout_e4))
    logs = {
        i: ctx.ln(ctx.divide(decimal.Decimal(x), decimal.Decimal(total)))
        for i, x in enumerate(p)
        if x
    }
    # Newton on f(k) = sum(exp(k ln p)) - T, kept inside the bracket (0, 1] where the root
    # lies (f(0) = number of selections > T >= f(1)) by bisecting whenever a step would leave
    # it: with a near-certain favourite the slope at k = 1 is tiny and a bare Newton step
    # flies far below 0, where exp overflows.
    low, high = zero, decimal.Decimal(1)
    k = high if len(logs) > target else zero  # a lone selection: nothing to spread
    for _ in range(200 if k else 0):
        terms = [(ctx.exp(ctx.multiply(k, lg)), lg) for lg in logs.values()]
        f = ctx.subtract(sum((t for t, _ in terms), zero), target)
        if f > 0:
            low = k
        else:
            high = k
        slope = sum((ctx.multiply(t, lg) for t, lg in terms), zero)
        following = ctx.subtract(k, ctx.divide(f, slope)) if slope != 0 else low
        if not low < following < high:
            following = ctx.divide(ctx.add(low, high), decimal.Decimal(2))
        step = ctx.subtract(following, k)
        k = following
        if abs(step) < decimal.Decimal("1e-30"):
            break
    scale = decimal.Decimal(IMPLIED_SCALE)
    implied = [0] * len(p)
    for i, lg in logs.items():
        q = ctx.multiply(ctx.exp(ctx.multiply(k, lg)), scale)
        implied[i] = int(q.to_integral_value(decimal.ROUND_CEILING))
    return _scaled(implied)


def _shin(p: Sequence[int], total: int, payout_e4: int) -> Implied:
    q = IMPLIED_SCALE
    pi = [x * q // total for x in p]
    # sqrt(T) at scale 1e18, rounded up.
    root_t = math.isqrt(q * q * PAYOUT_SCALE // payout_e4) + 1

    def g(z: int) -> int:
        # sum sqrt((1 - z) pi^2 + z pi), every quantity at scale 1e18.
        return sum(math.isqrt(((q - z) * x * x + z * x * q) // q) for x in pi if x)

    # g is increasing in z; find the smallest z (scale 1e18) with g(z) >= sqrt(T).
    low, high = 0, q
    if g(low) >= root_t:
        high = 0
    while low < high:
        mid = (low + high) // 2
        if g(mid) >= root_t:
            high = mid
        else:
            low = mid + 1
    z = high
    return _scaled(
        [
            _ceil_div(root_t * math.isqrt(((q - z) * x * x + z * x * q) // q), q) if x else 0
            for x in pi
        ]
    )


def _odds_ratio(p: Sequence[int], total: int, payout_e4: int) -> Implied:
    target = PAYOUT_SCALE / payout_e4
    fair = [x / total for x in p if x]
    # g(c) = sum c p / (1 - p + c p) is increasing and concave in c with g(1) = 1 <= T, so
    # Newton's method from c = 1 climbs to the root from below without overshooting it.
    c = 1.0
    for _ in range(100 if len(fair) > target else 0):
        value = 0.0
        slope = 0.0
        for x in fair:
            d = 1.0 - x + c * x
            value += c * x / d
            slope += x * (1.0 - x) / (d * d)
        if value >= target or slope <= 0.0:
            break
        step = (target - value) / slope
        c += step
        if step <= c * 1e-15:
            break
    q = IMPLIED_SCALE
    big_c = int(c * q)  # exact: a float converts to int without rounding
    implied = []
    for x in p:
        if not x:
            implied.append(0)
            continue
        # c p / (1 - p + c p) with p = x / total and c = big_c / q, at scale 1e18, rounded up.
        implied.append(_ceil_div(big_c * x * q, (total - x) * q + big_c * x))
    return _scaled(implied)


_METHODS = {
    Method.MULTIPLICATIVE: _multiplicative,
    Method.ADDITIVE: _additive,
    Method.ODDS_PROPORTIONAL: _odds_proportional,
    Method.POWER: _power,
    Method.SHIN: _shin,
    Method.ODDS_RATIO: _odds_ratio,
}


def _guard(implied: Implied, payout_e4: int) -> Implied:
    """Tops the booksum up to 1 / payout if integer rounding left it short."""
    numerators, denominator = implied
    booksum = sum(numerators)
    wanted = PAYOUT_SCALE * denominator
    if booksum * payout_e4 >= wanted or booksum == 0:
        return implied
    return [_ceil_div(x * wanted, booksum * payout_e4) for x in numerators], denominator


def implied_probabilities(
    method: Method, probabilities_e9: Sequence[int], payout_e4: int
) -> Implied:
    """Margined implied probabilities (numerators, common denominator), summing to at least
    1 / payout."""
    if not 0 < payout_e4 <= PAYOUT_SCALE:
        raise ValueError(f"payout_e4 must be in (0, {PAYOUT_SCALE}], got {payout_e4}")
    total = sum(probabilities_e9)
    if total <= 0:
        return [0] * len(probabilities_e9), 1
    return _guard(_METHODS[method](probabilities_e9, total, payout_e4), payout_e4)


def odds_from_implied(numerator: int, denominator: int) -> int:
    """floor(1 / implied) in ten-thousandths, then down to the ladder; 0 below 1.01."""
    if numerator <= 0:
        return MAX_ODDS_E4  # a selection the model says cannot win: the longest price
    return round_down(PAYOUT_SCALE * denominator // numerator)


def scaled_payout_e4(payout_e4: int, margin_scale_e4: int) -> int:
    """The target payout once its margin is multiplied by margin_scale_e4 / 1e4: booksum
    1/T becomes 1 + k (1/T - 1), rounded down (never more generous than asked)."""
    if margin_scale_e4 == PAYOUT_SCALE:
        return payout_e4
    return (
        PAYOUT_SCALE
        * PAYOUT_SCALE
        * payout_e4
        // (PAYOUT_SCALE * payout_e4 + margin_scale_e4 * (PAYOUT_SCALE - payout_e4))
    )


def price(
    probabilities_e9: Sequence[int],
    method: Method,
    payout_e4: int,
    min_odds_e4: int,
    probability_sum: int = 1,
    floor_short: bool = False,
) -> PricedMarket:
    """Offered prices of one market. `probability_sum` is how many selections win at once
    (2 for double chance, whose selections overlap): the method works on the probabilities
    divided by it and the implied ones are scaled back, so the booksum target is
    probability_sum / payout and the payout probability_sum / booksum. `floor_short`: a price
    under `min_odds_e4` is offered at it where that is not above fair (module docstring, 3)."""
    numerators, denominator = implied_probabilities(method, probabilities_e9, payout_e4)
    numerators = [x * probability_sum for x in numerators]
    total = sum(probabilities_e9)
    selections = []
    for probability, x in zip(probabilities_e9, numerators, strict=True):
        odds = odds_from_implied(x, denominator)
        if odds < min_odds_e4:
            # Fair odds are total / (probability * probability_sum); the floor may not pass them.
            # against the normalised and the raw probability alike, whichever is the larger.
            at_or_under_fair = (
                min_odds_e4 * probability * probability_sum <= PAYOUT_SCALE * total
                and min_odds_e4 * probability <= PAYOUT_SCALE * PROBABILITY_SCALE
            )
            odds = min_odds_e4 if floor_short and probability and at_or_under_fair else 0
        selections.append(
            PricedSelection(probability, _ceil_div(x * IMPLIED_SCALE, denominator), odds)
        )
    return PricedMarket(selections, theoretical_payout_e4(selections, probability_sum))


def theoretical_payout_e4(selections: Sequence[PricedSelection], probability_sum: int = 1) -> int:
    """1 / booksum in ten-thousandths, rounded down (see the module docstring, step 4)."""
    booksum = 0
    for s in selections:
        if s.odds_e4:
            booksum += _ceil_div(IMPLIED_SCALE * PAYOUT_SCALE, s.odds_e4)
        else:
            booksum += s.implied_e18
    if booksum == 0:
        return 0
    return probability_sum * PAYOUT_SCALE * IMPLIED_SCALE // booksum
