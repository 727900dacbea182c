"""Double-entry ledger model: accounts, postings and balanced transactions.

Sign convention (the contract's LedgerEntry): an entry's amount is positive for a debit and
negative for a credit, from the house's books. A player's wallet is money the house owes, so it
is a credit-normal account: a deposit credits it (negative entry) and debits the payment
provider's clearing account (positive entry). An account's balance is kept on its normal side
(`normal_side * sum(entries)`), so a wallet's balance is what the player sees, and "never
negative" means exactly that.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from service_runtime.errors import FailedPrecondition

DEBIT_NORMAL = 1
CREDIT_NORMAL = -1


class TransactionKind(enum.StrEnum):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    STAKE = "stake"
    STAKE_RELEASE = "stake_release"
    PAYOUT = "payout"
    SETTLEMENT_ROLLBACK = "settlement_rollback"
    VOID_REFUND = "void_refund"
    CASH_OUT = "cash_out"


class AccountKind(enum.StrEnum):
    PLAYER_WALLET = "player_wallet"
    PLAYER_HELD = "player_held"
    PAYMENT_CLEARING = "payment_clearing"
    HOUSE = "house"


@dataclass(frozen=True)
class Account:
    """An account the ledger opens on first use; (code, currency) identifies it."""

    code: str
    currency: str
    kind: AccountKind
    normal_side: int
    # Only the house may run a deficit; a player's money never goes below zero.
    allow_negative: bool
    player_id: str | None = None


def _player_account(player_id: str, currency: str, name: str, kind: AccountKind) -> Account:
    """A player's money: what we owe them (credit-normal), never below zero."""
    return Account(
        code=f"player:{player_id}:{name}",
        currency=currency,
        kind=kind,
        normal_side=CREDIT_NORMAL,
        allow_negative=False,
        player_id=player_id,
    )


def player_wallet(player_id: str, currency: str) -> Account:
    return _player_account(player_id, currency, "wallet", AccountKind.PLAYER_WALLET)


def player_held(player_id: str, currency: str) -> Account:
    """Stakes of open bets, held out of the wallet."""
    return _player_account(player_id, currency, "held", AccountKind.PLAYER_HELD)


def payment_clearing(provider: str, currency: str) -> Account:
    """Money the payment provider holds for us, not yet settled to the bank."""
    return Account(
        code=f"payments:{provider}",
        currency=currency,
        kind=AccountKind.PAYMENT_CLEARING,
        normal_side=DEBIT_NORMAL,
        allow_negative=True,
    )


def house(currency: str) -> Account:
    return Account(
        code="house:book",
        currency=currency,
        kind=AccountKind.HOUSE,
        normal_side=CREDIT_NORMAL,
        allow_negative=True,
    )


def receivable(player_id: str, currency: str) -> Account:
    """What a player owes after a rolled-back win they had already spent."""
    return Account(
        code=f"receivable:{player_id}",
        currency=currency,
        kind=AccountKind.HOUSE,
        normal_side=DEBIT_NORMAL,
        allow_negative=True,
    )


@dataclass(frozen=True)
class Posting:
    account: Account
    # Minor units; positive debit, negative credit.
    amount_minor: int


class UnbalancedTransactionError(ValueError):
    """A bug in a caller of the ledger, never a player's mistake."""


@dataclass(frozen=True)
class LedgerTransaction:
    transaction_id: str
    kind: TransactionKind
    postings: tuple[Posting, ...]
    external_reference: str = ""
    bet_id: str = ""

    def __post_init__(self) -> None:
        check_balanced(self.postings)


def check_balanced(postings: Sequence[Posting]) -> None:
    if len(postings) < 2:
        raise UnbalancedTransactionError("a transaction moves money between at least two accounts")
    totals: dict[str, int] = {}
    for posting in postings:
        if isinstance(posting.amount_minor, bool) or not isinstance(posting.amount_minor, int):
            raise UnbalancedTransactionError(
                f"amount {posting.amount_minor!r} is not integer minor units"
            )
        if posting.amount_minor == 0:
            raise UnbalancedTransactionError(f"zero posting on {posting.account.code}")
        if posting.account.currency != postings[0].account.currency:
            raise UnbalancedTransactionError("a transaction moves one currency")
        totals[posting.account.currency] = (
            totals.get(posting.account.currency, 0) + posting.amount_minor
        )
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedTransactionError(f"entries do not sum to zero: {unbalanced}")


def deposit_transaction(
    *,
    transaction_id: str,
    player_id: str,
    amount_minor: int,
    currency: str,
    provider: str,
    charge_id: str,
) -> LedgerTransaction:
    return LedgerTransaction(
        transaction_id=transaction_id,
        kind=TransactionKind.DEPOSIT,
        postings=(
            Posting(payment_clearing(provider, currency), amount_minor),
            Posting(player_wallet(player_id, currency), -amount_minor),
        ),
        external_reference=charge_id,
    )


def withdrawal_transaction(
    *, transaction_id: str, player_id: str, amount_minor: int, currency: str, provider: str
) -> LedgerTransaction:
    return LedgerTransaction(
        transaction_id=transaction_id,
        kind=TransactionKind.WITHDRAWAL,
        postings=(
            Posting(player_wallet(player_id, currency), amount_minor),
            Posting(payment_clearing(provider, currency), -amount_minor),
        ),
    )


class InsufficientFunds(FailedPrecondition):
    def __init__(self, account: str, currency: str) -> None:
        super().__init__(
            "INSUFFICIENT_FUNDS",
            f"{account} has not enough {currency} for this movement",
            {"account": account, "currency": currency},
        )


@dataclass(frozen=True)
class WalletBalance:
    player_id: str
    currency: str
    balance_minor: int
    held_minor: int


@dataclass(frozen=True)
class EntryView:
    """One posted entry as a player's statement shows it."""

    entry_id: int
    transaction_id: str
    kind: TransactionKind
    account: str
    amount_minor: int
    currency: str
    posted_at: datetime
    bet_id: str
