"""Applying results to bets: a leg's outcome with its version, the bet settled once every leg
has one, an earlier settlement rolled back when a later version changes it, and an operator's
rollback of a market. What a result pays is settlement.py's; which bets and in how many units
of work is the service layer's (service_layer/settling.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from service_runtime.errors import InvalidArgument
from services.bets.domain import requests, settlement
from services.bets.domain.model import SETTLED_STATUSES, Bet, BetStatus, Leg, Outcome
from services.bets.domain.ports import BetSession
from services.bets.domain.postings import settlement_rollback, settlement_transaction


@dataclass(frozen=True)
class SettledNotice:
    event_id: str
    bet_id: str
    player_id: str
    status: BetStatus
    payout_minor: int
    currency: str


log = logging.getLogger(__name__)

# A leg's outcome and its dead-heat factor (e4), or UnsettleableSelection.
LegOutcome = Callable[[Leg], tuple[Outcome, int]]


@dataclass(frozen=True)
class SettleCommand:
    fixture_id: str
    # selection_id -> outcome, for SettleMarket; empty with a score for results.
    market_id: str
    outcomes: dict[str, Outcome]
    version: int
    # selection_id -> a winner's dead-heat factor, ten-thousandths (absent: a plain result).
    dead_heat_e4: dict[str, int] = field(default_factory=dict)


def result_outcome(score: settlement.FinalScore) -> LegOutcome:
    """Each leg's outcome from a fixture's final score (no dead heat)."""
    return lambda leg: (
        settlement.selection_outcome(
            leg.market_type, leg.line_e2, leg.side, leg.selection_id, score
        ),
        settlement.NO_DEAD_HEAT,
    )


def check_settle_market(command: SettleCommand) -> None:
    if not command.fixture_id or not command.market_id:
        raise InvalidArgument("MARKET_REQUIRED", "fixture_id and market_id are required")
    if not command.outcomes:
        raise InvalidArgument("SELECTIONS_REQUIRED", "every selection needs an outcome")
    for selection_id, factor in command.dead_heat_e4.items():
        if not 0 < factor <= settlement.NO_DEAD_HEAT:
            raise InvalidArgument(
                "DEAD_HEAT_INVALID",
                "a dead-heat factor is the winning share of the stake: 1-10000 e4",
                {"selection_id": selection_id},
            )
        winner = command.outcomes.get(selection_id) is Outcome.WIN
        if factor != settlement.NO_DEAD_HEAT and not winner:
            raise InvalidArgument(
                "DEAD_HEAT_INVALID",
                "only a winning selection can share its win in a dead heat",
                {"selection_id": selection_id},
            )


def market_outcome(command: SettleCommand) -> LegOutcome:
    """Each leg's outcome as the operator gave it for the market's selections."""

    def outcome(leg: Leg) -> tuple[Outcome, int]:
        found = command.outcomes.get(leg.selection_id)
        if found is None:
            raise settlement.UnsettleableSelection(leg.selection_id)
        return found, command.dead_heat_e4.get(leg.selection_id, settlement.NO_DEAD_HEAT)

    return outcome


def settle_market_fingerprint(command: SettleCommand) -> str:
    return requests.fingerprint(
        "settle_market",
        fixture_id=command.fixture_id,
        market_id=command.market_id,
        version=command.version,
        outcomes=";".join(
            f"{k}={v.value}@{command.dead_heat_e4.get(k, settlement.NO_DEAD_HEAT)}"
            for k, v in sorted(command.outcomes.items())
        ),
    )


def apply_result(
    session: BetSession,
    bet: Bet,
    fixture_id: str,
    market_ids: list[str],
    outcome: LegOutcome,
    version: int,
    now: datetime,
) -> bool:
    """Gives the locked bet's legs on the fixture (and markets, if any) their outcome at this
    version; a leg already at this version or later is left alone (a repeated event is a
    no-op), a changed outcome rolls a settled bet back first. True if the bet is now settled."""
    for leg in bet.legs:
        if leg.fixture_id != fixture_id or (market_ids and leg.market_id not in market_ids):
            continue
        if leg.voided or leg.result_version >= version:
            continue
        try:
            new, dead_heat = outcome(leg)
        except settlement.UnsettleableSelection as exc:
            log.warning(
                "leg cannot be settled from this result",
                extra={"bet_id": bet.bet_id, "market_id": leg.market_id, "why": str(exc)},
            )
            continue
        changed = leg.outcome is not new or leg.dead_heat_e4 != dead_heat
        if changed and bet.status in SETTLED_STATUSES:
            roll_back(session, bet)
        leg.outcome, leg.dead_heat_e4, leg.result_version = new, dead_heat, version
    return settle_if_complete(session, bet, now)


def settle_if_complete(session: BetSession, bet: Bet, now: datetime) -> bool:
    """Settles an accepted bet whose every leg has an outcome; True if it did."""
    if bet.status is not BetStatus.ACCEPTED:
        return False
    if any(leg.outcome is None for leg in bet.legs):
        return False
    legs = [(leg.outcome, leg.accepted_odds_e4) for leg in bet.legs if leg.outcome]
    status = settlement.bet_status([o for o, _ in legs])
    amount = settlement.payout(
        bet.stake_minor, legs, [leg.dead_heat_e4 for leg in bet.legs if leg.outcome]
    )
    bet.settlement_count += 1
    # Fixture rows before accounts, in every path: the lock order placing uses.
    session.add_exposure(bet.legs, -bet.liability_minor, -bet.stake_minor)
    session.post(settlement_transaction(bet, status, amount))
    bet.status, bet.payout_minor, bet.settled_at = status, amount, now
    session.notify_settled(settled_notice(bet))
    return True


def settled_notice(bet: Bet) -> SettledNotice:
    """BetSettled for the bet's latest settlement (or cash-out): one event id per settlement."""
    return SettledNotice(
        event_id=f"bets:settled:{bet.bet_id}:{bet.settlement_count}",
        bet_id=bet.bet_id,
        player_id=bet.player_id,
        status=bet.status,
        payout_minor=bet.payout_minor,
        currency=bet.currency,
    )


def roll_back(session: BetSession, bet: Bet) -> None:
    """Reverses the last settlement: the stake goes back on hold and the payout back to the
    house; a payout already spent becomes what the player owes."""
    session.add_exposure(bet.legs, bet.liability_minor, bet.stake_minor)
    wallet = session.wallet(bet.player_id, bet.currency).balance_minor
    session.post(settlement_rollback(bet, wallet))
    bet.status, bet.payout_minor, bet.settled_at = BetStatus.ACCEPTED, 0, None


def check_rollback(fixture_id: str) -> None:
    if not fixture_id:
        raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")


def rollback_fingerprint(fixture_id: str, market_id: str) -> str:
    return requests.fingerprint("rollback", f=fixture_id, m=market_id)


def reopen(session: BetSession, bet: Bet, fixture_id: str, market_id: str) -> bool:
    """An operator's rollback on a locked settled or open bet (Sportradar's
    rollback_bet_settlement / rollback_bet_cancel): its settlement is reversed and its legs on
    the market (every market of the fixture if none) open again until the next result. True
    if the bet changed."""
    touched = False
    if bet.status in SETTLED_STATUSES:
        roll_back(session, bet)
        touched = True
    for leg in bet.legs:
        if leg.fixture_id == fixture_id and (not market_id or leg.market_id == market_id):
            touched = touched or leg.outcome is not None
            leg.outcome, leg.result_version, leg.voided = None, 0, False
            leg.dead_heat_e4 = settlement.NO_DEAD_HEAT
    return touched
