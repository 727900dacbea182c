"""Wallet use cases: deposit, balance, statement. Synchronous: callers run them off the loop."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from service_runtime.errors import FailedPrecondition, PermissionDenied, Unauthenticated
from services.bets.domain import requests
from services.bets.domain.ledger import (
    EntryView,
    WalletBalance,
    deposit_transaction,
    withdrawal_transaction,
)
from services.bets.domain.ports import Ledger, LedgerSession, PaymentProvider
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


class WalletService:
    def __init__(
        self,
        ledger: Ledger,
        payments: PaymentProvider,
        currency: str,
        max_deposit_minor: int,
        new_id: Callable[[], str] = new_transaction_id,
        kyc_status: Callable[[str], str | None] = lambda player_id: None,
        *,
        deposit_cap_window_days: int = 7,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger = ledger
        self.payments = payments
        self.currency = currency
        self.max_deposit_minor = max_deposit_minor
        self._new_id = new_id
        # The player's KYC status as identity last announced it (None: never heard of).
        self._kyc_status = kyc_status
        self.deposit_cap_window = timedelta(days=deposit_cap_window_days)
        self._clock = clock

    def _check(self, scope: str, command: DepositCommand, caller: Caller | None) -> tuple[int, str]:
        """A deposit's or withdrawal's amount, once the request and the caller are checked, and
        the request's fingerprint (a key reused with another body is refused)."""
        amount = requests.check_deposit(command, self.currency, self.max_deposit_minor)
        authorize(caller, command.player_id)
        return amount, requests.fingerprint(
            scope,
            player_id=command.player_id,
            amount_minor=amount,
            currency=command.currency,
            payment_method_id=command.payment_method_id,
        )

    def deposit(self, command: DepositCommand, caller: Caller | None = None) -> DepositResult:
        amount, request_fingerprint = self._check(DEPOSIT_SCOPE, command, caller)
        transaction_id = self._new_id()
        # The key is held, uncommitted, while the provider is charged: a concurrent retry waits
        # for this outcome instead of racing it, and a failure anywhere releases the key.
        with self.ledger.session() as session:
            earlier = self._first_answer(
                session, DEPOSIT_SCOPE, command, request_fingerprint, transaction_id, "deposit"
            )
            if earlier is not None:
                return earlier
            # After the key: a retry of an accepted deposit is answered even if the cap moved.
            self._check_deposit_cap(session, command.player_id, amount)
            charge = self.payments.charge(
                command.idempotency_key,
                command.player_id,
                amount,
                self.currency,
                command.payment_method_id,
            )
            session.post(
                deposit_transaction(
                    transaction_id=transaction_id,
                    player_id=command.player_id,
                    amount_minor=amount,
                    currency=self.currency,
                    provider=charge.provider,
                    charge_id=charge.charge_id,
                )
            )
            wallet = session.wallet(command.player_id, self.currency)
        return DepositResult(transaction_id, wallet, moved_money=True)

    def _first_answer(
        self,
        session: LedgerSession,
        scope: str,
        command: DepositCommand,
        request_fingerprint: str,
        transaction_id: str,
        what: str,
    ) -> DepositResult | None:
        """Claims the idempotency key; a retry gets the first answer (no money moves again), a
        key reused for another request is refused. None: the key is ours, go on."""
        earlier = session.claim_idempotency(
            scope, command.idempotency_key, request_fingerprint, transaction_id
        )
        if earlier is None:
            return None
        if earlier.fingerprint != request_fingerprint:
            raise FailedPrecondition(
                "IDEMPOTENCY_KEY_REUSED",
                f"this idempotency_key was used for a different {what}",
                {"idempotency_key": command.idempotency_key},
            )
        return DepositResult(
            earlier.transaction_id,
            session.wallet(command.player_id, self.currency),
            moved_money=False,
        )

    def _check_deposit_cap(self, session: LedgerSession, player_id: str, amount: int) -> None:
        """ANJ: no deposit before the player sets a 7-day deposit cap, none above it."""
        now = self._clock()
        cap = session.deposit_cap(player_id).in_force(now)
        if cap is None:
            raise FailedPrecondition(
                "DEPOSIT_CAP_NOT_SET",
                "a 7-day deposit cap must be set (IdentityService.SetResponsibleGamblingLimits)"
                " before the first deposit",
                {"player_id": player_id},
            )
        deposited = session.deposited_since(player_id, self.currency, now - self.deposit_cap_window)
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

    def withdraw(self, command: DepositCommand, caller: Caller | None = None) -> DepositResult:
        """Pays out to the player's payment method: only for KYC-verified players (ANJ)."""
        amount, request_fingerprint = self._check(WITHDRAW_SCOPE, command, caller)
        transaction_id = self._new_id()
        with self.ledger.session() as session:
            earlier = self._first_answer(
                session, WITHDRAW_SCOPE, command, request_fingerprint, transaction_id, "withdrawal"
            )
            if earlier is not None:
                return earlier
            status = self._kyc_status(command.player_id)
            if status != "VERIFIED":
                raise FailedPrecondition(
                    "KYC_REQUIRED",
                    "withdrawals are only for players whose identity is verified",
                    {"kyc_status": status or "UNKNOWN"},
                )
            # Posted before the provider pays: a refused payout rolls the posting back.
            session.post(
                withdrawal_transaction(
                    transaction_id=transaction_id,
                    player_id=command.player_id,
                    amount_minor=amount,
                    currency=self.currency,
                    provider=self.payments.name,
                )
            )
            payout = self.payments.payout(
                command.idempotency_key,
                command.player_id,
                amount,
                self.currency,
                command.payment_method_id,
            )
            del payout
            wallet = session.wallet(command.player_id, self.currency)
        return DepositResult(transaction_id, wallet, moved_money=True)

    def get_wallet(self, player_id: str, caller: Caller | None = None) -> WalletBalance:
        requests.check_player_id(player_id)
        authorize(caller, player_id)
        return self.ledger.wallet(player_id, self.currency)

    def list_entries(
        self, player_id: str, page_size: int, page_token: str, caller: Caller | None = None
    ) -> EntryPage:
        requests.check_player_id(player_id)
        authorize(caller, player_id)
        size = requests.page_size(page_size)
        before = requests.decode_page_token(page_token)
        # One extra row tells whether another page exists without a count query.
        rows = self.ledger.player_entries(player_id, before, size + 1)
        page, more = rows[:size], len(rows) > size
        token = requests.encode_page_token(page[-1].entry_id) if more else ""
        return EntryPage(page, token)
