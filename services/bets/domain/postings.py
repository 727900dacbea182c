"""The ledger transactions of a bet's life: each money movement one balanced transaction,
posted in the same unit of work as the bet's change of state (a crash leaves both or neither).
Placing's stake hold is posted by `bets.place_bet` (services/bets/sql/place_bet.sql)."""

from __future__ import annotations

from services.bets.domain.ledger import (
    Account,
    LedgerTransaction,
    Posting,
    TransactionKind,
    house,
    player_held,
    player_wallet,
    receivable,
)
from services.bets.domain.model import Bet, BetStatus


def _postings(*pairs: tuple[Account, int]) -> tuple[Posting, ...]:
    return tuple(Posting(account, amount) for account, amount in pairs if amount != 0)


def stake_release(bet: Bet) -> LedgerTransaction:
    return LedgerTransaction(
        transaction_id=f"tx_release_{bet.bet_id}",
        kind=TransactionKind.STAKE_RELEASE,
        postings=_postings(
            (player_held(bet.player_id, bet.currency), bet.stake_minor),
            (player_wallet(bet.player_id, bet.currency), -bet.stake_minor),
        ),
        bet_id=bet.bet_id,
    )


def _closing(
    bet: Bet, transaction_id: str, kind: TransactionKind, paid_minor: int
) -> LedgerTransaction:
    """The held stake goes to the house, `paid_minor` from the house to the wallet: one
    movement."""
    return LedgerTransaction(
        transaction_id=transaction_id,
        kind=kind,
        postings=_postings(
            (player_held(bet.player_id, bet.currency), bet.stake_minor),
            (player_wallet(bet.player_id, bet.currency), -paid_minor),
            (house(bet.currency), paid_minor - bet.stake_minor),
        ),
        bet_id=bet.bet_id,
    )


def settlement_transaction(bet: Bet, status: BetStatus, payout_minor: int) -> LedgerTransaction:
    return _closing(
        bet,
        f"tx_settle_{bet.bet_id}_{bet.settlement_count}",
        TransactionKind.VOID_REFUND if status is BetStatus.VOID else TransactionKind.PAYOUT,
        payout_minor,
    )


def settlement_rollback(bet: Bet, wallet_minor: int) -> LedgerTransaction:
    """Reverses the last settlement: the stake back on hold, the payout back to the house; the
    part of the payout the wallet (holding `wallet_minor`) no longer has becomes receivable."""
    from_wallet = min(wallet_minor, bet.payout_minor)
    return LedgerTransaction(
        transaction_id=f"tx_rollback_{bet.bet_id}_{bet.settlement_count}",
        kind=TransactionKind.SETTLEMENT_ROLLBACK,
        postings=_postings(
            (player_held(bet.player_id, bet.currency), -bet.stake_minor),
            (player_wallet(bet.player_id, bet.currency), from_wallet),
            (receivable(bet.player_id, bet.currency), bet.payout_minor - from_wallet),
            (house(bet.currency), bet.stake_minor - bet.payout_minor),
        ),
        bet_id=bet.bet_id,
    )


def cash_out_transaction(bet: Bet, amount_minor: int) -> LedgerTransaction:
    return _closing(bet, f"tx_cash_out_{bet.bet_id}", TransactionKind.CASH_OUT, amount_minor)


def partial_cash_out_transaction(
    bet: Bet, offer_id: str, stake_minor: int, amount_minor: int
) -> LedgerTransaction:
    """Part of the held stake goes to the house and the amount to the wallet; the rest stays
    held for the bet. One transaction per offer (an offer is used once)."""
    return LedgerTransaction(
        transaction_id=f"tx_cash_out_{bet.bet_id}_{offer_id}",
        kind=TransactionKind.CASH_OUT,
        postings=_postings(
            (player_held(bet.player_id, bet.currency), stake_minor),
            (player_wallet(bet.player_id, bet.currency), -amount_minor),
            (house(bet.currency), amount_minor - stake_minor),
        ),
        bet_id=bet.bet_id,
    )
