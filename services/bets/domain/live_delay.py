"""A live bet's delay: its stake is held for the sport's delay, then the bet is re-checked
against the game and the price (`SCORE_CHANGED`, `RED_CARDS_CHANGED`, the price book's
refusals) and accepted or refused with its stake released. The waiting itself is the service
layer's (service_layer/placing.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from services.bets.domain.bet_rules import BetRules
from services.bets.domain.model import Bet, BetRejected, BetStatus, GameSnapshot, Rejection
from services.bets.domain.placing import quote_leg
from services.bets.domain.ports import BetSession
from services.bets.domain.postings import stake_release
from services.bets.domain.prices import PriceBook
from services.bets.domain.settling import settle_if_complete


def live_delay(rules: BetRules, sports: Iterable[str]) -> float:
    delays = [rules.live_delay_seconds.get(s, rules.default_live_delay_seconds) for s in sports]
    return max(delays, default=rules.default_live_delay_seconds)


def start_delay(bet: Bet, games: dict[str, GameSnapshot], rules: BetRules) -> None:
    """Keeps each leg's game as it stands when placed (what the re-check compares with) and
    sets when the bet is decided."""
    for leg in bet.legs:
        leg.game = games.get(leg.fixture_id)
    bet.decide_after = bet.placed_at + timedelta(
        seconds=live_delay(rules, (leg.sport for leg in bet.legs))
    )


def recheck(
    bet: Bet,
    prices: PriceBook,
    game: Callable[[str], GameSnapshot | None],
    now: datetime,
    rules: BetRules,
) -> None:
    """Raises BetRejected when the game or the price moved during the delay, or live stopped
    vouching for a fixture."""
    for leg in bet.legs:
        current = game(leg.fixture_id)
        before = leg.game
        if before is not None and current is not None:
            if (current.home_red_cards, current.away_red_cards) != (
                before.home_red_cards,
                before.away_red_cards,
            ):
                raise BetRejected(Rejection.RED_CARDS_CHANGED, f"a red card in {leg.fixture_id}")
            if (current.home_score, current.away_score) != (before.home_score, before.away_score):
                raise BetRejected(Rejection.SCORE_CHANGED, f"the score of {leg.fixture_id} changed")
        quote_leg(leg, prices, bet.acceptance, True, placing=False, now=now, rules=rules)


def decide(
    session: BetSession, bet: Bet, prices: PriceBook, now: datetime, rules: BetRules
) -> None:
    """Ends a locked pending bet's delay: accepted (and settled at once if its legs already
    have results), or rejected with its exposure taken off and its stake released."""
    try:
        recheck(bet, prices, session.game, now, rules)
        bet.status = BetStatus.ACCEPTED
    except BetRejected as rejected:
        session.add_exposure(bet.legs, -bet.liability_minor, -bet.stake_minor)
        session.post(stake_release(bet))
        bet.status = BetStatus.REJECTED
        bet.rejection = rejected.reason
        bet.rejection_message = rejected.message
    bet.decided_at = now
    if bet.status is BetStatus.ACCEPTED:
        settle_if_complete(session, bet, now)
