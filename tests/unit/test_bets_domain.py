"""Pure wallet and ledger rules of the bets service."""

from __future__ import annotations

import pytest

from service_runtime.errors import DomainError, FailedPrecondition, InvalidArgument
from service_runtime.settings import SettingsError
from services.bets.adapters.sandbox_payments import SandboxPaymentProvider
from services.bets.domain import requests
from services.bets.domain.ledger import (
    CREDIT_NORMAL,
    Posting,
    UnbalancedTransactionError,
    check_balanced,
    deposit_transaction,
    payment_clearing,
    player_wallet,
)
from services.bets.domain.requests import DepositCommand
from services.bets.domain.wallet import Caller, authorize
from services.bets.settings import BetsSettings


def _reason(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.reason


def test_deposit_debits_clearing_and_credits_the_wallet() -> None:
    tx = deposit_transaction(
        transaction_id="tx_1",
        player_id="p1",
        amount_minor=1234,
        currency="EUR",
        provider="sandbox",
        charge_id="ch_1",
    )
    by_code = {p.account.code: p.amount_minor for p in tx.postings}
    assert by_code == {"payments:sandbox": 1234, "player:p1:wallet": -1234}
    assert sum(p.amount_minor for p in tx.postings) == 0
    wallet = next(p.account for p in tx.postings if p.account.code == "player:p1:wallet")
    assert wallet.normal_side == CREDIT_NORMAL
    assert not wallet.allow_negative
    assert tx.external_reference == "ch_1"


@pytest.mark.parametrize(
    "amounts",
    [(100, -99), (100,), (0, 0), (5, -3, -1)],
)
def test_unbalanced_postings_are_refused(amounts: tuple[int, ...]) -> None:
    accounts = [player_wallet("p1", "EUR"), payment_clearing("sandbox", "EUR")] * 2
    postings = [Posting(accounts[i], a) for i, a in enumerate(amounts)]
    with pytest.raises(UnbalancedTransactionError):
        check_balanced(postings)


def test_mixed_currencies_do_not_balance_each_other() -> None:
    postings = [
        Posting(payment_clearing("sandbox", "EUR"), 100),
        Posting(player_wallet("p1", "USD"), -100),
    ]
    with pytest.raises(UnbalancedTransactionError):
        check_balanced(postings)


def test_float_amounts_are_refused() -> None:
    postings = [
        Posting(payment_clearing("sandbox", "EUR"), 1.5),  # type: ignore[arg-type]
        Posting(player_wallet("p1", "EUR"), -1.5),  # type: ignore[arg-type]
    ]
    with pytest.raises(UnbalancedTransactionError):
        check_balanced(postings)


def _command(**overrides: object) -> DepositCommand:
    fields: dict[str, object] = {
        "idempotency_key": "k1",
        "player_id": "p1",
        "amount_minor": 1000,
        "currency": "EUR",
        "payment_method_id": "pm_card_visa",
    }
    fields.update(overrides)
    return DepositCommand(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"idempotency_key": ""}, "IDEMPOTENCY_KEY_REQUIRED"),
        ({"idempotency_key": "k" * 201}, "IDEMPOTENCY_KEY_INVALID"),
        ({"player_id": ""}, "PLAYER_ID_REQUIRED"),
        ({"player_id": "p:1"}, "PLAYER_ID_INVALID"),
        ({"player_id": "p 1"}, "PLAYER_ID_INVALID"),
        ({"amount_minor": None}, "INVALID_AMOUNT"),
        ({"amount_minor": 0}, "INVALID_AMOUNT"),
        ({"amount_minor": -5}, "INVALID_AMOUNT"),
        ({"currency": "USD"}, "CURRENCY_NOT_SUPPORTED"),
        ({"currency": ""}, "CURRENCY_NOT_SUPPORTED"),
        ({"amount_minor": 10_001}, "AMOUNT_ABOVE_MAXIMUM"),
        # The key is checked first: a client fixes mistakes in that order.
        ({"idempotency_key": "", "player_id": ""}, "IDEMPOTENCY_KEY_REQUIRED"),
    ],
)
def test_deposit_input_mistakes_have_their_reason(
    overrides: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        requests.check_deposit(_command(**overrides), "EUR", 10_000)
    assert caught.value.reason == reason


def test_valid_deposit_returns_its_amount() -> None:
    assert requests.check_deposit(_command(), "EUR", 10_000) == 1000


def test_fingerprint_tells_requests_apart() -> None:
    base = requests.fingerprint("deposit", player_id="p1", amount_minor=100)
    assert base == requests.fingerprint("deposit", amount_minor=100, player_id="p1")
    assert base != requests.fingerprint("deposit", player_id="p1", amount_minor=101)
    assert base != requests.fingerprint("deposit", player_id="p2", amount_minor=100)
    assert base != requests.fingerprint("withdraw", player_id="p1", amount_minor=100)


def test_page_tokens_round_trip_and_foreign_tokens_are_refused() -> None:
    assert requests.decode_page_token("") is None
    assert requests.decode_page_token(requests.encode_page_token(42)) == 42
    for bad in ["garbage!", "42", requests.encode_page_token(0), "ZTE6eA"]:
        with pytest.raises(InvalidArgument) as caught:
            requests.decode_page_token(bad)
        assert caught.value.reason == "PAGE_TOKEN_INVALID"


def test_page_size_defaults_and_caps() -> None:
    assert requests.page_size(0) == requests.DEFAULT_PAGE_SIZE
    assert requests.page_size(7) == 7
    assert requests.page_size(10_000) == requests.MAX_PAGE_SIZE


def test_a_player_reaches_only_their_own_wallet() -> None:
    authorize(Caller("p1", "player"), "p1")
    authorize(Caller("ops", "operator"), "p1")
    authorize(Caller("svc", "service"), "p1")
    with pytest.raises(DomainError) as caught:
        authorize(Caller("p2", "player"), "p1")
    assert caught.value.code == "PERMISSION_DENIED"
    assert _reason(caught) == "NOT_YOUR_WALLET"


def test_sandbox_declines_one_method_and_is_idempotent_by_key() -> None:
    provider = SandboxPaymentProvider()
    with pytest.raises(FailedPrecondition) as caught:
        provider.charge("k0", "p1", 100, "EUR", "pm_card_declined")
    assert caught.value.reason == "PAYMENT_DECLINED"
    first = provider.charge("k1", "p1", 100, "EUR", "pm_card_visa")
    assert provider.charge("k1", "p1", 100, "EUR", "pm_card_visa") == first
    assert provider.charge("k2", "p1", 100, "EUR", "pm_card_visa") != first
    with pytest.raises(FailedPrecondition) as reused:
        provider.charge("k1", "p1", 999, "EUR", "pm_card_visa")
    assert reused.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_settings_need_a_database_and_a_sane_currency() -> None:
    settings = BetsSettings.from_env({"BETMESH_DATABASE_URL": "postgresql://x/y"})
    assert settings.currency == "EUR"
    assert settings.database_url == "postgresql://x/y"
    assert settings.server.port == 0
    with pytest.raises(SettingsError, match="BETMESH_DATABASE_URL is required"):
        BetsSettings.from_env({})
    with pytest.raises(SettingsError, match="BETMESH_BETS_CURRENCY"):
        BetsSettings.from_env(
            {"BETMESH_DATABASE_URL": "postgresql://x/y", "BETMESH_BETS_CURRENCY": "eur"}
        )
