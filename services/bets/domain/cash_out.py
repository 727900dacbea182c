"""Cash-out: what a bet is worth now (its accepted prices against the current ones, less the
house's margin), when it may be cashed out, which part, and the change a used offer makes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from fractions import Fraction

from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from services.bets.domain import settlement
from services.bets.domain.bet_rules import BetRules
from services.bets.domain.model import Bet, BetRejected, BetStatus, CashOutOffer
from services.bets.domain.placing import check_watched
from services.bets.domain.ports import BetSession
from services.bets.domain.postings import cash_out_transaction, partial_cash_out_transaction
from services.bets.domain.prices import PriceBook
from services.bets.domain.settling import settled_notice


def cash_out_value(
    bet: Bet, current_odds: list[int], margin_e4: int, stake_minor: int | None = None
) -> int:
    """stake x accepted combined odds / current combined odds x margin, rounded down once and
    never above what the bet could still win. `stake_minor`: the part cashed out (default
    all of it)."""
    stake = bet.stake_minor if stake_minor is None else stake_minor
    value = Fraction(stake) * margin_e4 / settlement.ODDS_SCALE
    for leg, now in zip(bet.legs, current_odds, strict=True):
        value *= Fraction(leg.accepted_odds_e4, now)
    ceiling = settlement.potential_payout(stake, [leg.accepted_odds_e4 for leg in bet.legs])
    return min(value.numerator // value.denominator, ceiling)


def current_prices(bet: Bet, prices: PriceBook, now: datetime, rules: BetRules) -> list[int]:
    """Each leg's current price; FAILED_PRECONDITION when the bet cannot be cashed out now (an
    in-play price counts as suspended while live is silent on its fixture, as for a bet)."""
    if bet.status is not BetStatus.ACCEPTED or any(
        leg.outcome is not None or leg.voided for leg in bet.legs
    ):
        raise FailedPrecondition(
            "CASH_OUT_UNAVAILABLE",
            f"a {bet.status.value.lower()} bet or one with settled legs cannot be cashed out",
            {"bet_id": bet.bet_id},
        )
    found: list[int] = []
    for leg in bet.legs:
        quotes = prices.fixture(leg.fixture_id)
        market = quotes.markets.get(leg.market_id) if quotes else None
        selection = market.selections.get(leg.selection_id) if market else None
        if market is None or selection is None:
            raise FailedPrecondition(
                "CASH_OUT_UNAVAILABLE",
                f"{leg.market_id} has no current price",
                {"bet_id": bet.bet_id, "market_id": leg.market_id},
            )
        if market.status != "ACTIVE" or not selection.active or selection.odds_e4 <= 0:
            raise FailedPrecondition(
                "MARKET_SUSPENDED",
                f"{leg.market_id} is {market.status.lower()}",
                {"bet_id": bet.bet_id, "market_id": leg.market_id},
            )
        if quotes is not None and quotes.live:
            try:
                check_watched(leg.fixture_id, prices, now, rules)
            except BetRejected as silent:
                raise FailedPrecondition(
                    "MARKET_SUSPENDED",
                    silent.message,
                    {"bet_id": bet.bet_id, "market_id": leg.market_id},
                ) from None
        found.append(selection.odds_e4)
    return found


def part_to_cash_out(
    bet: Bet, stake_minor: int | None, currency: str, kept_currency: str, rules: BetRules
) -> int:
    """The part of the stake a partial cash-out closes; the whole stake when not given."""
    if stake_minor is None:
        return bet.stake_minor
    if currency != kept_currency:
        raise InvalidArgument(
            "CURRENCY_NOT_SUPPORTED",
            f"stake currency {currency or '(empty)'!r} is not {kept_currency}",
            {"supported_currency": kept_currency},
        )
    if stake_minor <= 0:
        raise InvalidArgument("INVALID_AMOUNT", "the part cashed out must be positive")
    if stake_minor > bet.stake_minor:
        raise FailedPrecondition(
            "CASH_OUT_ABOVE_STAKE",
            f"the bet has {bet.stake_minor} minor units still on",
            {"bet_id": bet.bet_id, "stake_minor": str(bet.stake_minor)},
        )
    left = bet.stake_minor - stake_minor
    if 0 < left < rules.min_stake_minor:
        # What stays on must still be a bet the book would take.
        raise FailedPrecondition(
            "CASH_OUT_REMAINDER_TOO_SMALL",
            f"at least {rules.min_stake_minor} minor units must stay on, or cash out all",
            {"bet_id": bet.bet_id, "min_stake_minor": str(rules.min_stake_minor)},
        )
    return stake_minor


def new_offer(
    bet: Bet, prices: list[int], part: int, rules: BetRules, now: datetime
) -> CashOutOffer:
    return CashOutOffer(
        offer_id=f"co_{uuid.uuid4().hex}",
        bet_id=bet.bet_id,
        amount_minor=cash_out_value(bet, prices, rules.cash_out_margin_e4, part),
        prices=",".join(map(str, prices)),
        expires_at=now + timedelta(seconds=rules.cash_out_offer_seconds),
        stake_minor=part,
    )


def check_offer_usable(
    bet: Bet, offer_id: str, offer: CashOutOffer | None, prices: list[int], now: datetime
) -> int:
    """The part the stored offer closes, if it may still be used on the locked bet at the
    current prices."""
    if offer is None or offer.bet_id != bet.bet_id:
        raise NotFound("OFFER_NOT_FOUND", f"no offer {offer_id} for this bet")
    if now >= offer.expires_at:
        raise FailedPrecondition(
            "OFFER_EXPIRED", "the offer has expired: ask for a new one", {"bet_id": bet.bet_id}
        )
    if ",".join(map(str, prices)) != offer.prices:
        raise FailedPrecondition(
            "PRICE_CHANGED",
            "the price moved since the offer: ask for a new one",
            {"bet_id": bet.bet_id},
        )
    part = bet.stake_minor if offer.stake_minor is None else offer.stake_minor
    if part > bet.stake_minor:
        raise NotFound("OFFER_NOT_FOUND", f"no offer {offer_id} for this bet")
    return part


def cash_out(session: BetSession, bet: Bet, offer: CashOutOffer, part: int, now: datetime) -> None:
    """Uses the offer on the locked bet: the whole stake closes the bet (CASHED_OUT, announced
    as settled); a part leaves the rest on at the accepted prices."""
    if part < bet.stake_minor:
        _cash_out_part(session, bet, offer, part)
        return
    session.add_exposure(bet.legs, -bet.liability_minor, -bet.stake_minor)
    session.post(cash_out_transaction(bet, offer.amount_minor))
    bet.status, bet.payout_minor, bet.settled_at = BetStatus.CASHED_OUT, offer.amount_minor, now
    bet.settlement_count += 1
    session.notify_settled(settled_notice(bet))


def _cash_out_part(session: BetSession, bet: Bet, offer: CashOutOffer, part: int) -> None:
    """The bet goes on with the rest of its stake, at the prices it was accepted at."""
    left = bet.stake_minor - part
    potential = settlement.potential_payout(left, [leg.accepted_odds_e4 for leg in bet.legs])
    liability = max(potential - left, 0)
    session.add_exposure(bet.legs, liability - bet.liability_minor, -part)
    session.post(partial_cash_out_transaction(bet, offer.offer_id, part, offer.amount_minor))
    bet.stake_minor, bet.potential_payout_minor, bet.liability_minor = left, potential, liability
    bet.cashed_out_stake_minor += part
    bet.cashed_out_minor += offer.amount_minor
