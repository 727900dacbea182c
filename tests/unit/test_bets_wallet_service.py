"""The wallet's use cases (service_layer/wallet.py) on an in-memory ledger: each rule of
domain/wallet.py in the order the use case asks it (the key first, then the cap or the KYC
state), and a retry answered without moving money again. End to end on PostgreSQL, with
concurrent deposits: tests/integration/test_bets_wallet.py."""

from __future__ import annotations

import pytest

from service_runtime.errors import DomainError
from services.bets.domain.ledger import TransactionKind
from services.bets.domain.limits import SevenDayCap
from services.bets.domain.requests import DepositCommand
from services.bets.domain.wallet import Caller
from services.bets.service_layer.wallet import WalletService
from tests.unit.bets_fakes import FakeClock, FakeLedger, FakePayments

PLAYER = Caller("p1", "player")


def wallet(kyc: str | None = "VERIFIED") -> tuple[WalletService, FakeLedger]:
    ledger = FakeLedger()
    ids = iter(f"tx_{n}" for n in range(100))
    service = WalletService(
        ledger,
        FakePayments(),
        "EUR",
        10_000,
        new_id=lambda: next(ids),
        kyc_status=lambda player_id: kyc,
        clock=FakeClock(),
    )
    return service, ledger


def money(key: str, amount: int, player_id: str = "p1") -> DepositCommand:
    return DepositCommand(key, player_id, amount, "EUR", "pm_card")


def reason(call: object) -> str:
    assert callable(call)
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.reason


def test_a_deposit_needs_a_cap_and_stays_within_it() -> None:
    service, ledger = wallet()
    assert reason(lambda: service.deposit(money("d1", 500), PLAYER)) == "DEPOSIT_CAP_NOT_SET"
    ledger.caps["p1"] = SevenDayCap(1_000, None, None)
    assert service.deposit(money("d1", 600), PLAYER).wallet.balance_minor == 600
    # 600 already deposited in the window: 400 more is the edge, 401 is over it.
    assert reason(lambda: service.deposit(money("d2", 401), PLAYER)) == "DEPOSIT_CAP_EXCEEDED"
    assert service.deposit(money("d2", 400), PLAYER).wallet.balance_minor == 1_000
    assert [t.kind for t in ledger.posted] == [TransactionKind.DEPOSIT] * 2


def test_a_retried_deposit_is_answered_once_even_after_the_cap_is_cut() -> None:
    service, ledger = wallet()
    ledger.caps["p1"] = SevenDayCap(1_000, None, None)
    first = service.deposit(money("d1", 600), PLAYER)
    ledger.caps["p1"] = SevenDayCap(100, None, None)
    again = service.deposit(money("d1", 600), PLAYER)
    assert (again.transaction_id, again.moved_money) == (first.transaction_id, False)
    assert len(ledger.posted) == 1
    # The same key for another amount is refused, and moves nothing.
    assert reason(lambda: service.deposit(money("d1", 700), PLAYER)) == "IDEMPOTENCY_KEY_REUSED"
    assert len(ledger.posted) == 1


def test_only_a_verified_player_withdraws() -> None:
    service, ledger = wallet(kyc="PROVISIONAL")
    ledger.caps["p1"] = SevenDayCap(1_000, None, None)
    service.deposit(money("d1", 600), PLAYER)
    assert reason(lambda: service.withdraw(money("w1", 100), PLAYER)) == "KYC_REQUIRED"
    verified, ledger = wallet()
    ledger.caps["p1"] = SevenDayCap(1_000, None, None)
    verified.deposit(money("d1", 600), PLAYER)
    assert verified.withdraw(money("w1", 100), PLAYER).wallet.balance_minor == 500


def test_a_player_reaches_only_their_own_wallet() -> None:
    service, _ = wallet()
    assert reason(lambda: service.deposit(money("d1", 100, "p2"), PLAYER)) == "NOT_YOUR_WALLET"
    assert reason(lambda: service.get_wallet("p2", PLAYER)) == "NOT_YOUR_WALLET"
    assert reason(lambda: service.get_wallet("p1", None)) == "CALLER_UNKNOWN"
    assert service.get_wallet("p2", Caller("ops", "operator")).balance_minor == 0
