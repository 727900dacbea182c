"""The wallet's use cases over the ledger's units of work and the payment provider: deposit,
withdraw, balance, statement. Synchronous: the handlers run them off the event loop. The rules
are the domain's (domain/wallet.py); each money movement is one balanced ledger transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.bets.domain import requests, wallet
from services.bets.domain.ledger import WalletBalance, deposit_transaction, withdrawal_transaction
from services.bets.domain.ports import Ledger, LedgerSession, PaymentProvider
from services.bets.domain.requests import DepositCommand
from services.bets.domain.wallet import Caller, DepositResult, EntryPage


class WalletService:
    def __init__(
        self,
        ledger: Ledger,
        payments: PaymentProvider,
        currency: str,
        max_deposit_minor: int,
        new_id: Callable[[], str] = wallet.new_transaction_id,
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

    def deposit(self, command: DepositCommand, caller: Caller | None = None) -> DepositResult:
        return self._move_money(wallet.DEPOSIT_SCOPE, "deposit", command, caller, self._deposit)

    def withdraw(self, command: DepositCommand, caller: Caller | None = None) -> DepositResult:
        """Pays out to the player's payment method: only for KYC-verified players (ANJ)."""
        return self._move_money(
            wallet.WITHDRAW_SCOPE, "withdrawal", command, caller, self._withdraw
        )

    def _move_money(
        self,
        scope: str,
        what: str,
        command: DepositCommand,
        caller: Caller | None,
        move: Callable[[LedgerSession, DepositCommand, int, str], None],
    ) -> DepositResult:
        """One money movement, once per idempotency key: the request checked, the key claimed,
        then `move` (the posting and the provider's part) and the balance after it, all in one
        unit of work."""
        amount, fingerprint = wallet.check_money_movement(
            scope, command, caller, self.currency, self.max_deposit_minor
        )
        transaction_id = self._new_id()
        # The key is held, uncommitted, while the provider is called: a concurrent retry waits
        # for this outcome instead of racing it, and a failure anywhere releases the key.
        with self.ledger.session() as session:
            earlier = self._first_answer(session, scope, command, fingerprint, transaction_id, what)
            if earlier is not None:
                return earlier
            move(session, command, amount, transaction_id)
            balance = session.wallet(command.player_id, self.currency)
        return DepositResult(transaction_id, balance, moved_money=True)

    def _first_answer(
        self,
        session: LedgerSession,
        scope: str,
        command: DepositCommand,
        fingerprint: str,
        transaction_id: str,
        what: str,
    ) -> DepositResult | None:
        """Claims the idempotency key; a retry gets the first answer (no money moves again), a
        key reused for another request is refused. None: the key is ours, go on."""
        earlier = session.claim_idempotency(
            scope, command.idempotency_key, fingerprint, transaction_id
        )
        if not wallet.is_retry(earlier, fingerprint, command.idempotency_key, what):
            return None
        assert earlier is not None
        return DepositResult(
            earlier.transaction_id,
            session.wallet(command.player_id, self.currency),
            moved_money=False,
        )

    def _deposit(
        self, session: LedgerSession, command: DepositCommand, amount: int, transaction_id: str
    ) -> None:
        # After the key: a retry of an accepted deposit is answered even if the cap moved.
        now = self._clock()
        wallet.check_deposit_cap(
            command.player_id,
            session.deposit_cap(command.player_id).in_force(now),
            session.deposited_since(
                command.player_id, self.currency, now - self.deposit_cap_window
            ),
            amount,
        )
        charge = self.payments.charge(*self._payment(command, amount))
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

    def _withdraw(
        self, session: LedgerSession, command: DepositCommand, amount: int, transaction_id: str
    ) -> None:
        wallet.check_may_withdraw(self._kyc_status(command.player_id))
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
        self.payments.payout(*self._payment(command, amount))

    def _payment(self, command: DepositCommand, amount: int) -> tuple[str, str, int, str, str]:
        """What the provider is asked to move, in its calls' order: the idempotency key, the
        player, the amount and currency, the payment method."""
        return (
            command.idempotency_key,
            command.player_id,
            amount,
            self.currency,
            command.payment_method_id,
        )

    def get_wallet(self, player_id: str, caller: Caller | None = None) -> WalletBalance:
        requests.check_player_id(player_id)
        wallet.authorize(caller, player_id)
        return self.ledger.wallet(player_id, self.currency)

    def list_entries(
        self, player_id: str, page_size: int, page_token: str, caller: Caller | None = None
    ) -> EntryPage:
        requests.check_player_id(player_id)
        wallet.authorize(caller, player_id)
        size = requests.page_size(page_size)
        before = requests.decode_page_token(page_token)
        return wallet.entries_page(self.ledger.player_entries(player_id, before, size + 1), size)
