"""Placing a bet: the request's shape, the bet as asked, and the checks that need no database
(structure, the price book, stake and payout). The player and house limits come after them,
under the player's lock, in `bets.place_bet` (limits.py chooses their figures); a live bet then
waits out its delay (live_delay.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from service_runtime.errors import FailedPrecondition, InvalidArgument
from services.bets.domain import requests, settlement
from services.bets.domain.bet_rules import BetRules
from services.bets.domain.model import (
    Bet,
    BetRejected,
    BetStatus,
    Leg,
    OddsAcceptance,
    PlaceBetCommand,
    Rejection,
)
from services.bets.domain.prices import PriceBook
from services.bets.domain.wallet import Caller, authorize


@dataclass(frozen=True)
class Placed:
    """What placing stored: the bet's status and refusal, or that the key was already taken."""

    claimed: bool
    status: BetStatus | None = None
    rejection: Rejection | None = None
    message: str = ""


MIN_ODDS_E4 = 10_001
MAX_ODDS_E4 = 10_000_000


def new_bet_id() -> str:
    return f"bet_{uuid.uuid4().hex}"


def check_place(command: PlaceBetCommand, currency: str, max_legs: int) -> int:
    """Malformed requests are the caller's mistake (INVALID_ARGUMENT), as in Pinnacle's API and
    Sportradar MTS, where a ticket that cannot be read is refused before any business check."""
    requests.check_idempotency_key(command.idempotency_key)
    requests.check_player_id(command.player_id)
    if not command.legs:
        raise InvalidArgument("LEGS_REQUIRED", "a bet needs at least one leg")
    if len(command.legs) > max_legs:
        raise InvalidArgument(
            "TOO_MANY_LEGS", f"a bet has at most {max_legs} legs", {"max_legs": str(max_legs)}
        )
    seen: set[tuple[str, str]] = set()
    for index, leg in enumerate(command.legs):
        if not leg.fixture_id or not leg.market_id or not leg.selection_id:
            raise InvalidArgument(
                "LEG_INCOMPLETE",
                f"leg {index} needs fixture_id, market_id and selection_id",
                {"leg": str(index)},
            )
        if not MIN_ODDS_E4 <= leg.odds_e4 <= MAX_ODDS_E4:
            raise InvalidArgument(
                "ODDS_INVALID",
                f"leg {index}: odds_e4 must be the price seen, {MIN_ODDS_E4}-{MAX_ODDS_E4}",
                {"leg": str(index)},
            )
        if (leg.fixture_id, leg.market_id) in seen:
            raise InvalidArgument(
                "DUPLICATE_LEG", f"leg {index} repeats a market of another leg", {"leg": str(index)}
            )
        seen.add((leg.fixture_id, leg.market_id))
    if command.stake_minor is None:
        raise InvalidArgument("INVALID_AMOUNT", "stake is required")
    if command.stake_minor <= 0:
        raise InvalidArgument("INVALID_AMOUNT", "stake must be positive minor units")
    if command.currency != currency:
        raise InvalidArgument(
            "CURRENCY_NOT_SUPPORTED",
            f"stake currency {command.currency or '(empty)'!r} is not {currency}",
            {"supported_currency": currency},
        )
    return command.stake_minor


def price_acceptable(acceptance: OddsAcceptance, seen_e4: int, current_e4: int) -> bool:
    if acceptance is OddsAcceptance.ANY:
        return True
    if acceptance is OddsAcceptance.HIGHER:
        return current_e4 >= seen_e4
    return current_e4 == seen_e4


# What a refusal for live's silence says (counted apart: betmesh_bets_live_silence_refusals).
LIVE_SILENT = "the live producer is silent"


def refused_for_live_silence(bet: Bet) -> bool:
    """Whether `bet` was refused by check_watched: no live process vouched for its fixture."""
    return bet.rejection is Rejection.BETTING_SUSPENDED and LIVE_SILENT in bet.rejection_message


def check_watched(fixture_id: str, prices: PriceBook, now: datetime, rules: BetRules) -> None:
    """An in-play price is taken only while live vouches for its fixture: a live process said,
    within `rules.live_silence_seconds`, that it watches it with its feed alive. A dead or
    frozen live suspends nothing (its bet stops are what suspends), so the last status it said
    may be ACTIVE for ever; without its word the market counts as suspended."""
    vouched = prices.vouched_at(fixture_id)
    if vouched is None or (now - vouched).total_seconds() > rules.live_silence_seconds:
        last = "never" if vouched is None else f"{(now - vouched).total_seconds():.1f} s ago"
        raise BetRejected(
            Rejection.BETTING_SUSPENDED,
            f"{fixture_id}: {LIVE_SILENT} (its last word on the fixture: {last}; "
            f"in-play bets need one within {rules.live_silence_seconds:g} s)",
        )


def quote_leg(
    leg: Leg,
    prices: PriceBook,
    acceptance: OddsAcceptance,
    live: bool,
    *,
    placing: bool,
    now: datetime,
    rules: BetRules,
) -> None:
    """Checks one leg against the current accepted price (and, in play, that live still
    watches it); fills the accepted price on placing."""
    quotes = prices.fixture(leg.fixture_id)
    if quotes is None:
        raise BetRejected(
            Rejection.NO_CONSENSUS_PRICE, f"no accepted consensus price for {leg.fixture_id}"
        )
    market = quotes.markets.get(leg.market_id)
    selection = market.selections.get(leg.selection_id) if market else None
    if market is None or selection is None:
        raise BetRejected(
            Rejection.MARKET_NOT_FOUND, f"{leg.market_id}/{leg.selection_id} is not offered"
        )
    if quotes.live and not live:
        raise BetRejected(Rejection.PAST_CUTOFF_TIME, f"{leg.fixture_id} is in play")
    if market.status == "HANDED_OVER":
        raise BetRejected(Rejection.PAST_CUTOFF_TIME, f"{leg.market_id} was handed over to live")
    if market.status != "ACTIVE":
        raise BetRejected(
            Rejection.BETTING_SUSPENDED, f"{leg.market_id} is {market.status.lower()}"
        )
    # After the market's own status: a fixture live stopped (a goal, a lost feed, an operator)
    # is not vouched for either, and its stop says why.
    if quotes.live:
        check_watched(leg.fixture_id, prices, now, rules)
    if not selection.active or selection.odds_e4 <= 0:
        raise BetRejected(Rejection.SELECTION_WITHDRAWN, f"{leg.selection_id} is withdrawn")
    if not price_acceptable(acceptance, leg.odds_e4, selection.odds_e4):
        raise BetRejected(
            Rejection.LINE_CHANGED,
            f"{leg.market_id}/{leg.selection_id} is now {selection.odds_e4} (seen {leg.odds_e4})",
        )
    if placing:
        leg.accepted_odds_e4 = selection.odds_e4
        leg.quote_set_digest = quotes.digest
        leg.market_type = market.market_type
        leg.line_e2 = market.line_e2
        leg.side = market.side
        leg.sport = quotes.sport
        leg.market_name = market.name
        leg.selection_name = selection.name


def draft(
    command: PlaceBetCommand,
    caller: Caller | None,
    prices: PriceBook,
    rules: BetRules,
    currency: str,
    now: datetime,
    bet_id: str,
) -> tuple[Bet, BetRejected | None]:
    """The bet as asked, and the verdict of the checks that need no database."""
    stake = check_place(command, currency, rules.max_legs)
    authorize(caller, command.player_id)
    legs = [
        Leg(leg.fixture_id, leg.market_id, leg.selection_id, leg.odds_e4) for leg in command.legs
    ]
    fingerprint = requests.fingerprint(
        "place_bet",
        player_id=command.player_id,
        stake_minor=stake,
        currency=command.currency,
        acceptance=command.acceptance.value,
        live=int(command.live),
        legs=";".join(
            f"{leg.fixture_id}|{leg.market_id}|{leg.selection_id}|{leg.odds_e4}"
            for leg in command.legs
        ),
    )
    bet = Bet(
        bet_id=bet_id,
        player_id=command.player_id,
        idempotency_key=command.idempotency_key,
        fingerprint=fingerprint,
        legs=legs,
        stake_minor=stake,
        currency=command.currency,
        odds_e4=0,
        potential_payout_minor=0,
        status=BetStatus.PENDING,
        acceptance=command.acceptance,
        live=command.live,
        placed_at=now,
    )
    # Applied after the player's checks, in the store: player refusals come first.
    try:
        check_offer(bet, prices, rules)
    except BetRejected as rejected:
        return bet, rejected
    return bet, None


def check_offer(bet: Bet, prices: PriceBook, rules: BetRules) -> None:
    """Structure, the price book, stake and payout; fills the accepted prices and figures."""
    fixtures = [leg.fixture_id for leg in bet.legs]
    if len(set(fixtures)) != len(fixtures) and not rules.allow_same_fixture_legs:
        raise BetRejected(
            Rejection.SAME_FIXTURE_LEGS, "legs of one accumulator must be on distinct fixtures"
        )
    for leg in bet.legs:
        quote_leg(
            leg,
            prices,
            bet.acceptance,
            bet.live,
            placing=True,
            now=bet.placed_at,
            rules=rules,
        )
        leg.fixture_name = prices.fixture_name(leg.fixture_id) or ""
    odds = [leg.accepted_odds_e4 for leg in bet.legs]
    bet.odds_e4 = settlement.combined_odds_e4(odds)
    bet.potential_payout_minor = settlement.potential_payout(bet.stake_minor, odds)
    bet.liability_minor = max(bet.potential_payout_minor - bet.stake_minor, 0)
    if bet.stake_minor < rules.min_stake_minor:
        raise BetRejected(
            Rejection.BELOW_MIN_BET_AMOUNT,
            f"the minimum stake is {rules.min_stake_minor} minor units",
        )
    if bet.stake_minor > rules.max_stake_minor:
        raise BetRejected(
            Rejection.ABOVE_MAX_BET_AMOUNT,
            f"the maximum stake is {rules.max_stake_minor} minor units",
        )
    if bet.potential_payout_minor > rules.max_payout_minor:
        raise BetRejected(
            Rejection.ABOVE_MAX_PAYOUT,
            f"the maximum payout per bet is {rules.max_payout_minor} minor units",
        )


def apply_placed(bet: Bet, placed: Placed) -> Bet:
    """The drafted bet as the store answered it (accepted, pending or refused)."""
    assert placed.status is not None
    bet.status = placed.status
    if placed.status is BetStatus.REJECTED:
        bet.rejection = placed.rejection
        bet.rejection_message = placed.message
        bet.liability_minor = 0
        bet.decide_after = None
    if placed.status is not BetStatus.PENDING:
        bet.decided_at = bet.placed_at
    return bet


def answer_to_reused_key(bet: Bet, earlier: Bet | None, now: datetime) -> Bet:
    """The answer to a key already used: the first bet, or DUPLICATED_REQUEST (Pinnacle's: the
    key already names another bet; nothing is stored)."""
    if earlier is None:
        # Placing stores the key with the bet, in one statement: this cannot be seen.
        raise FailedPrecondition("RETRY", "the first request with this key is unfinished")
    if earlier.fingerprint == bet.fingerprint:
        return earlier
    bet.bet_id = ""
    bet.status = BetStatus.REJECTED
    bet.rejection = Rejection.DUPLICATED_REQUEST
    bet.rejection_message = f"idempotency_key already used for another bet ({earlier.bet_id})"
    bet.decided_at = now
    return bet
