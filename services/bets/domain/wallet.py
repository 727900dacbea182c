"""The wallet's rules: who reaches a wallet, what a deposit or withdrawal request must be, the
7-day deposit cap (ANJ), who may withdraw, and how a reused idempotency key is answered. The
use cases that run them over the ledger's units of work and the payment provider:
service_layer/wallet.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from service_runtime.errors import FailedPrecondition, PermissionDenied, Unauthenticated
from services.bets.domain import requests
from services.bets.domain.ledger import EntryView, WalletBalance
from services.bets.domain.ports import IdempotencyRecord
from services.bets.domain.requests import DepositCommand

DEPOSIT_SCOPE = "deposit"
WITHDRAW_SCOPE = "withdraw"
# Roles that act on any player's wallet; a player only on their own.
PRIVILEGED_ROLES = frozenset({"operator", "service"})


@dataclass(frozen=True)
class Caller:
    subject: str
    role: str


@dataclass(frozen=True)
class DepositResult:
    transaction_id: str
    wallet: WalletBalance
    # False when this answers a retry of an earlier deposit.
    moved_money: bool


@dataclass(frozen=True)
class EntryPage:
    entries: list[EntryView]
    next_page_token: str


def authorize(caller: Caller | None, player_id: str) -> None:
    """A known player reaches only their own wallet; an unknown caller (None: no token, as under
    BETMESH_AUTH_MODE=anonymous) reaches none."""
    if caller is None:
        raise Unauthenticated("CALLER_UNKNOWN", "this call needs a signed-in caller")
    if caller.role in PRIVILEGED_ROLES:
        return
    if caller.subject != player_id:
        raise PermissionDenied(
            "NOT_YOUR_WALLET", "a player may only act on their own wallet", {"player_id": player_id}
        )


def new_transaction_id() -> str:
    return f"tx_{uuid.uuid4().hex}"


def check_money_movement(
    scope: str, command: DepositCommand, caller: Caller | None, currency: str, maximum: int
) -> tuple[int, str]:
    """A deposit's or withdrawal's amount, once the request and the caller are checked, and
    the request's fingerprint (a key reused with another body is refused)."""
    amount = requests.check_deposit(command, currency, maximum)
    authorize(caller, command.player_id)
    return amount, requests.fingerprint(
        scope,
        player_id=command.player_id,
        amount_minor=amount,
        currency=command.currency,
        payment_method_id=command.payment_method_id,
    )


def is_retry(
    earlier: IdempotencyRecord | None, fingerprint: str, idempotency_key: str, what: str
) -> bool:
    """Whether a claimed key answers a retry (the first answer, no money moved again); a key
    reused for another request is refused. False: the key is this request's, go on."""
    if earlier is None:
        return False
    if earlier.fingerprint != fingerprint:
        raise FailedPrecondition(
            "IDEMPOTENCY_KEY_REUSED",
            f"this idempotency_key was used for a different {what}",
            {"idempotency_key": idempotency_key},
        )
    return True


def check_deposit_cap(player_id: str, cap: int | None, deposited: int, amount: int) -> None:
    """ANJ: no deposit before the player sets a 7-day deposit cap (`cap`: the one in force),
    none above it (`deposited`: in the window already)."""
    if cap is None:
        raise FailedPrecondition(
            "DEPOSIT_CAP_NOT_SET",
            "a 7-day deposit cap must be set (IdentityService.SetResponsibleGamblingLimits)"
            " before the first deposit",
            {"player_id": player_id},
        )
    if deposited + amount > cap:
        raise FailedPrecondition(
            "DEPOSIT_CAP_EXCEEDED",
            f"the 7-day deposit cap of {cap} minor units would be exceeded"
            f" ({deposited} already deposited)",
            {
                "deposit_cap_minor": str(cap),
                "deposited_minor": str(deposited),
                "remaining_minor": str(max(cap - deposited, 0)),
            },
        )


def check_may_withdraw(kyc_status: str | None) -> None:
    """ANJ: withdrawals only for players whose identity is verified."""
    if kyc_status != "VERIFIED":
        raise FailedPrecondition(
            "KYC_REQUIRED",
            "withdrawals are only for players whose identity is verified",
            {"kyc_status": kyc_status or "UNKNOWN"},
        )


def entries_page(rows: list[EntryView], size: int) -> EntryPage:
    """A page of `size` from `size + 1` rows read (the extra one tells whether another page
    exists, without a count query)."""
    page, more = rows[:size], len(rows) > size
    return EntryPage(page, requests.encode_page_token(page[-1].entry_id) if more else "")
