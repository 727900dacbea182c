"""An operator's void (Sportradar's bet_cancel): the legs on a fixture's markets of bets placed
in a window are void; a settled bet is rolled back and settled again without them. The void is
announced to partners (live's BetCancel) once per request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service_runtime.errors import InvalidArgument
from services.bets.domain import requests, settlement
from services.bets.domain.model import SETTLED_STATUSES, Bet, Outcome
from services.bets.domain.ports import BetSession
from services.bets.domain.settling import roll_back, settle_if_complete


@dataclass(frozen=True)
class VoidedNotice:
    """What an operator's void cancelled, for partners' streams (live's BetCancel)."""

    # Stable for the void (its idempotency key): consumers drop a second delivery by it.
    event_id: str
    fixture_id: str
    market_ids: tuple[str, ...]
    placed_after: datetime | None
    placed_before: datetime | None
    reason: str
    voided_at: datetime


def check_void(
    fixture_id: str, placed_after: datetime | None, placed_before: datetime | None
) -> None:
    if not fixture_id:
        raise InvalidArgument("FIXTURE_ID_REQUIRED", "fixture_id is required")
    if placed_after and placed_before and placed_after >= placed_before:
        raise InvalidArgument("WINDOW_INVALID", "placed_after must be before placed_before")


def void_fingerprint(
    fixture_id: str,
    market_ids: list[str],
    placed_after: datetime | None,
    placed_before: datetime | None,
) -> str:
    return requests.fingerprint(
        "void",
        f=fixture_id,
        m=",".join(sorted(market_ids)),
        a=placed_after.isoformat() if placed_after else "",
        b=placed_before.isoformat() if placed_before else "",
    )


def void_legs(
    session: BetSession, bet: Bet, fixture_id: str, market_ids: list[str], now: datetime
) -> bool:
    """Voids the locked bet's legs on the fixture (and markets, if any); True if any was."""
    legs = [
        leg
        for leg in bet.legs
        if leg.fixture_id == fixture_id
        and (not market_ids or leg.market_id in market_ids)
        and not leg.voided
    ]
    if not legs:
        return False
    if bet.status in SETTLED_STATUSES:
        roll_back(session, bet)
    for leg in legs:
        leg.voided, leg.outcome = True, Outcome.VOID
        leg.dead_heat_e4 = settlement.NO_DEAD_HEAT
    settle_if_complete(session, bet, now)
    return True


def voided_notice(
    key: str,
    fixture_id: str,
    market_ids: list[str],
    placed_after: datetime | None,
    placed_before: datetime | None,
    reason: str,
    now: datetime,
) -> VoidedNotice:
    """BetsVoided, whatever was voided here: a partner may hold bets in the window that bets
    never saw. Its id is the request's key, so a retry queues nothing new."""
    return VoidedNotice(
        event_id=f"bets:voided:{key}",
        fixture_id=fixture_id,
        market_ids=tuple(market_ids),
        placed_after=placed_after,
        placed_before=placed_before,
        reason=reason,
        voided_at=now,
    )
