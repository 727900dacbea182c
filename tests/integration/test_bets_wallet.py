"""The bets wallet through its gRPC API, on a real PostgreSQL ledger."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import grpc
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
import sqlalchemy as sa
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.bets.v1 import bet_service_pb2_grpc
from betmesh.common.v1 import money_pb2
from google.protobuf import message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from service_runtime.auth import Principal
from service_runtime.errors import error_info
from service_runtime.server import ServiceHost
from services.bets.adapters.postgres_ledger import PostgresLedger
from services.bets.app import SERVICE_NAME, build
from services.bets.domain.ledger import (
    InsufficientFunds,
    LedgerTransaction,
    Posting,
    TransactionKind,
    payment_clearing,
    player_wallet,
)
from services.bets.settings import BetsSettings
from tests.integration.test_bets_harness import CONSUMER, GROUP, Bus

if TYPE_CHECKING:
    from betmesh.bets.v1.bet_service_pb2_grpc import BetServiceAsyncStub as Stub

MAX_DEPOSIT = 5_000_000


class InternalCaller:
    """These tests drive the wallet as an internal service would (any player's wallet); an
    unknown caller is refused by the wallet itself (tests/integration/test_auth_fail_closed.py)."""

    async def authenticate(self, method: str, metadata: Mapping[str, str]) -> Principal | None:
        return Principal(subject="svc-wallet-test", role="service")


# Deposit caps reach bets as identity's events, so the host listens to the bus.
@pytest_asyncio.fixture(scope="module")
async def host(database_url: str, redis_url: str) -> AsyncIterator[ServiceHost]:
    settings = BetsSettings.from_env(
        {
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_DATABASE_URL": database_url,
            "BETMESH_PORT": "0",
            "BETMESH_BETS_MAX_DEPOSIT_MINOR": str(MAX_DEPOSIT),
            "BETMESH_REDIS_URL": redis_url,
            "BETMESH_BETS_CONSUMER_GROUP": GROUP,
            "BETMESH_BETS_CONSUMER_NAME": CONSUMER,
            "BETMESH_BETS_EVENT_BLOCK_MS": "50",
        }
    )
    service = build(settings, authenticator=InternalCaller())
    await service.start()
    yield service
    await service.stop(0)


@pytest_asyncio.fixture(scope="module")
async def channel(host: ServiceHost) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as ch:
        yield ch


@pytest.fixture(scope="module")
def stub(channel: grpc.aio.Channel) -> Stub:
    # The typed stubs give an aio channel's stub its own (async) type.
    return bet_service_pb2_grpc.BetServiceStub(channel)  # type: ignore[return-value]


@pytest_asyncio.fixture(scope="module")
async def bus(redis_url: str, host: ServiceHost) -> AsyncIterator[Bus]:
    client = aioredis.Redis.from_url(redis_url)
    yield Bus(client)
    await client.aclose()


@pytest.fixture(scope="module")
def db(database_url: str, host: ServiceHost) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


def new_id() -> str:
    return f"p-{uuid.uuid4().hex[:12]}"


async def player(bus: Bus, deposit_cap: int = 20 * MAX_DEPOSIT) -> str:
    """A player who has set the 7-day deposit cap ANJ requires before the first deposit."""
    player_id = new_id()
    await bus.deposit_cap(player_id, deposit_cap)
    return player_id


def key() -> str:
    return f"k-{uuid.uuid4().hex}"


def eur(amount_minor: int) -> money_pb2.Money:
    return money_pb2.Money(amount_minor=amount_minor, currency="EUR")


def deposit(
    player_id: str, amount_minor: int, idempotency_key: str, method: str = "pm_card_visa"
) -> pb.DepositRequest:
    return pb.DepositRequest(
        idempotency_key=idempotency_key,
        player_id=player_id,
        amount=eur(amount_minor),
        payment_method_id=method,
    )


async def failure(call: Awaitable[object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    info = error_info(rpc_status.from_call(caught.value))  # type: ignore[arg-type]
    assert info is not None, caught.value.details()
    return caught.value.code(), info.reason


async def balance(stub: Stub, player_id: str) -> int:
    response = await stub.GetWallet(pb.GetWalletRequest(player_id=player_id))
    amount: int = response.wallet.balance.amount_minor
    return amount


async def entries(stub: Stub, player_id: str) -> list[pb.LedgerEntry]:
    response = await stub.ListLedgerEntries(
        pb.ListLedgerEntriesRequest(player_id=player_id, page_size=500)
    )
    return list(response.entries)


async def test_health_is_serving(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for name in ["", SERVICE_NAME]:
        response = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_deposit_credits_the_wallet(bus: Bus, stub: Stub) -> None:
    p = await player(bus)
    response = await stub.Deposit(deposit(p, 2_500, key()))
    assert response.transaction_id
    assert response.wallet.player_id == p
    assert response.wallet.balance == eur(2_500)
    assert response.wallet.held == eur(0)
    await stub.Deposit(deposit(p, 500, key()))
    wallet = (await stub.GetWallet(pb.GetWalletRequest(player_id=p))).wallet
    assert wallet.balance == eur(3_000)
    assert wallet.held == eur(0)


async def test_unknown_player_has_an_empty_wallet(
    stub: Stub,
) -> None:
    p = new_id()
    wallet = (await stub.GetWallet(pb.GetWalletRequest(player_id=p))).wallet
    assert wallet.player_id == p
    assert wallet.balance == eur(0)
    assert wallet.held == eur(0)
    assert await entries(stub, p) == []


async def test_a_retry_returns_the_first_answer_and_credits_once(
    bus: Bus,
    stub: Stub,
) -> None:
    p, k = await player(bus), key()
    first = await stub.Deposit(deposit(p, 1_000, k))
    again = await stub.Deposit(deposit(p, 1_000, k))
    assert again.transaction_id == first.transaction_id
    assert again.wallet.balance == eur(1_000)
    assert await balance(stub, p) == 1_000
    assert len(await entries(stub, p)) == 1


async def test_concurrent_retries_credit_once(
    bus: Bus,
    stub: Stub,
) -> None:
    p, k = await player(bus), key()
    responses = await asyncio.gather(*(stub.Deposit(deposit(p, 700, k)) for _ in range(24)))
    assert len({r.transaction_id for r in responses}) == 1
    assert await balance(stub, p) == 700
    posted = await entries(stub, p)
    assert [e.transaction_id for e in posted] == [responses[0].transaction_id]


async def test_concurrent_distinct_deposits_all_count(
    bus: Bus,
    stub: Stub,
) -> None:
    p = await player(bus)
    responses = await asyncio.gather(*(stub.Deposit(deposit(p, 100 + i, key())) for i in range(12)))
    assert len({r.transaction_id for r in responses}) == 12
    assert await balance(stub, p) == sum(100 + i for i in range(12))


async def test_no_deposit_before_a_deposit_cap(bus: Bus, stub: Stub) -> None:
    # ANJ: the player sets a 7-day deposit cap before the first deposit.
    p = new_id()
    code, reason = await failure(stub.Deposit(deposit(p, 1_000, key())))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "DEPOSIT_CAP_NOT_SET")
    assert await balance(stub, p) == 0
    assert await entries(stub, p) == []
    # A stake cap alone is not a deposit cap.
    await bus.stake_cap_only(p, 10_000)
    assert (await failure(stub.Deposit(deposit(p, 1_000, key()))))[1] == "DEPOSIT_CAP_NOT_SET"
    await bus.deposit_cap(p, 5_000)
    assert (await stub.Deposit(deposit(p, 1_000, key()))).wallet.balance == eur(1_000)


async def test_deposits_stop_at_the_seven_day_cap(bus: Bus, stub: Stub) -> None:
    p = await player(bus, deposit_cap=3_000)
    await stub.Deposit(deposit(p, 2_000, key()))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Deposit(deposit(p, 1_001, key()))
    info = error_info(rpc_status.from_call(caught.value))  # type: ignore[arg-type]
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info is not None and info.reason == "DEPOSIT_CAP_EXCEEDED"
    assert dict(info.metadata) == {
        "deposit_cap_minor": "3000",
        "deposited_minor": "2000",
        "remaining_minor": "1000",
    }
    await stub.Deposit(deposit(p, 1_000, key()))
    assert await balance(stub, p) == 3_000


async def test_concurrent_deposits_never_pass_the_cap_together(bus: Bus, stub: Stub) -> None:
    p = await player(bus, deposit_cap=1_000)
    calls = [stub.Deposit(deposit(p, 300, key())) for _ in range(8)]
    answers = await asyncio.gather(*calls, return_exceptions=True)
    accepted = [a for a in answers if isinstance(a, pb.DepositResponse)]
    refused = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    assert (len(accepted), len(refused)) == (3, 5)
    assert {r.code() for r in refused} == {grpc.StatusCode.FAILED_PRECONDITION}
    assert await balance(stub, p) == 900


async def test_a_deposit_cap_cut_applies_at_once_and_a_raise_after_48_hours(
    bus: Bus, stub: Stub
) -> None:
    cut = await player(bus, deposit_cap=5_000)
    await stub.Deposit(deposit(cut, 400, key()))
    await bus.deposit_cap(cut, 500)
    assert (await failure(stub.Deposit(deposit(cut, 200, key()))))[1] == "DEPOSIT_CAP_EXCEEDED"
    await stub.Deposit(deposit(cut, 100, key()))
    raised = await player(bus, deposit_cap=1_000)
    await stub.Deposit(deposit(raised, 1_000, key()))
    await bus.deposit_cap(raised, 50_000)
    assert (await failure(stub.Deposit(deposit(raised, 1, key()))))[1] == "DEPOSIT_CAP_EXCEEDED"


async def test_a_retry_of_an_accepted_deposit_is_answered_after_the_cap_is_cut(
    bus: Bus, stub: Stub
) -> None:
    p, k = await player(bus, deposit_cap=5_000), key()
    first = await stub.Deposit(deposit(p, 4_000, k))
    await bus.deposit_cap(p, 1_000)
    again = await stub.Deposit(deposit(p, 4_000, k))
    assert again.transaction_id == first.transaction_id
    assert await balance(stub, p) == 4_000


@pytest.mark.parametrize("change", ["amount", "player", "method"])
async def test_a_key_reused_for_another_deposit_is_refused(
    bus: Bus, stub: Stub, change: str
) -> None:
    p, k = await player(bus), key()
    await stub.Deposit(deposit(p, 1_000, k))
    other = {
        "amount": deposit(p, 1_001, k),
        "player": deposit(await player(bus), 1_000, k),
        "method": deposit(p, 1_000, k, method="pm_card_other"),
    }[change]
    code, reason = await failure(stub.Deposit(other))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED")
    assert await balance(stub, p) == 1_000
    assert await balance(stub, other.player_id) == (1_000 if other.player_id == p else 0)


async def test_a_declined_payment_moves_nothing(
    bus: Bus,
    stub: Stub,
) -> None:
    p, k = await player(bus), key()
    code, reason = await failure(stub.Deposit(deposit(p, 1_000, k, method="pm_card_declined")))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PAYMENT_DECLINED")
    assert await balance(stub, p) == 0
    assert await entries(stub, p) == []
    # A refusal records nothing, so the key stays usable with a card that works.
    accepted = await stub.Deposit(deposit(p, 1_000, k))
    assert accepted.wallet.balance == eur(1_000)


def _deposit_with(**fields: Any) -> pb.DepositRequest:
    request = deposit("p-valid", 1_000, key())
    for name, value in fields.items():
        if isinstance(value, message.Message):
            getattr(request, name).CopyFrom(value)
        elif value is None:
            request.ClearField(name)  # type: ignore[arg-type]
        else:
            setattr(request, name, value)
    return request


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (_deposit_with(idempotency_key=""), "IDEMPOTENCY_KEY_REQUIRED"),
        # Too long: the contract's rule (buf.validate, checked by the runtime).
        (_deposit_with(idempotency_key="k" * 500), "INVALID_REQUEST_FIELDS"),
        (_deposit_with(player_id=""), "PLAYER_ID_REQUIRED"),
        (_deposit_with(player_id="p:1:wallet"), "PLAYER_ID_INVALID"),
        (_deposit_with(amount=None), "INVALID_AMOUNT"),
        (_deposit_with(amount=eur(0)), "INVALID_AMOUNT"),
        (_deposit_with(amount=eur(-100)), "INVALID_AMOUNT"),
        (
            _deposit_with(amount=money_pb2.Money(amount_minor=100, currency="USD")),
            "CURRENCY_NOT_SUPPORTED",
        ),
        (_deposit_with(amount=money_pb2.Money(amount_minor=100)), "CURRENCY_NOT_SUPPORTED"),
        (_deposit_with(amount=eur(MAX_DEPOSIT + 1)), "AMOUNT_ABOVE_MAXIMUM"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_bad_deposits_get_their_reason(
    stub: Stub, request_: pb.DepositRequest, reason: str
) -> None:
    assert await failure(stub.Deposit(request_)) == (grpc.StatusCode.INVALID_ARGUMENT, reason)
    assert await balance(stub, "p-valid") == 0


async def test_bad_reads_get_their_reason(stub: Stub) -> None:
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    assert await failure(stub.GetWallet(pb.GetWalletRequest())) == (invalid, "PLAYER_ID_REQUIRED")
    assert await failure(stub.ListLedgerEntries(pb.ListLedgerEntriesRequest())) == (
        invalid,
        "PLAYER_ID_REQUIRED",
    )
    assert await failure(
        stub.ListLedgerEntries(pb.ListLedgerEntriesRequest(player_id="p1", page_token="nope"))
    ) == (invalid, "PAGE_TOKEN_INVALID")


async def test_ledger_entries_are_paged_newest_first(
    bus: Bus,
    stub: Stub,
) -> None:
    p = await player(bus)
    transaction_ids = []
    for amount in (100, 200, 300, 400, 500):
        transaction_ids.append((await stub.Deposit(deposit(p, amount, key()))).transaction_id)
    seen: list[pb.LedgerEntry] = []
    token, pages = "", 0
    while True:
        page = await stub.ListLedgerEntries(
            pb.ListLedgerEntriesRequest(player_id=p, page_size=2, page_token=token)
        )
        pages += 1
        assert len(page.entries) <= 2
        seen.extend(page.entries)
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    # Credits to the wallet are negative: the contract's entries are debit-positive.
    assert [e.amount.amount_minor for e in seen] == [-500, -400, -300, -200, -100]
    assert [e.transaction_id for e in seen] == transaction_ids[::-1]
    assert {e.account for e in seen} == {f"player:{p}:wallet"}
    assert {e.kind for e in seen} == {pb.TRANSACTION_KIND_DEPOSIT}
    assert all(e.amount.currency == "EUR" and e.posted_at.seconds > 0 for e in seen)
    # Another player's money never shows up in this statement.
    await stub.Deposit(deposit(await player(bus), 999, key()))
    assert len(await entries(stub, p)) == 5


def test_every_rpc_is_built() -> None:
    # A new RPC in the contract must be built here or answer UNIMPLEMENTED with a test of that.
    methods = set(pb.DESCRIPTOR.services_by_name["BetService"].methods_by_name)
    assert methods == {
        "Deposit",
        "Withdraw",
        "GetWallet",
        "ListLedgerEntries",
        "PlaceBet",
        "GetBet",
        "ListBets",
        "SettleMarket",
        "RollbackSettlement",
        "VoidBets",
        "GetReturnToPlayerReport",
        "GetExposureReport",
        "GetCashOutOffer",
        "CashOut",
        "ListResultHolds",
        "GetQuarterlyStatement",
    }


def test_the_database_refuses_an_unbalanced_transaction(db: sa.Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError, match="does not balance"), db.begin() as conn:
        account_id = conn.execute(
            sa.text(
                "INSERT INTO bets.accounts (code, currency, kind, normal_side, allow_negative)"
                " VALUES ('house:test', 'EUR', 'house', 1, true)"
                " ON CONFLICT (code, currency) DO UPDATE SET kind = EXCLUDED.kind RETURNING id"
            )
        ).scalar_one()
        conn.execute(
            sa.text("INSERT INTO bets.transactions (id, kind) VALUES ('tx_bad', 'deposit')")
        )
        conn.execute(
            sa.text(
                "INSERT INTO bets.entries (transaction_id, account_id, amount_minor, currency)"
                " VALUES ('tx_bad', :a, 100, 'EUR')"
            ),
            {"a": account_id},
        )


async def test_the_database_refuses_an_overdrawn_wallet(
    bus: Bus, stub: Stub, db: sa.Engine
) -> None:
    p = await player(bus)
    await stub.Deposit(deposit(p, 100, key()))
    with pytest.raises(sa.exc.IntegrityError, match="accounts_no_overdraft"), db.begin() as conn:
        conn.execute(
            sa.text("UPDATE bets.accounts SET balance_minor = -1 WHERE code = :c"),
            {"c": f"player:{p}:wallet"},
        )
    assert await balance(stub, p) == 100


async def test_posted_entries_cannot_be_changed(bus: Bus, stub: Stub, db: sa.Engine) -> None:
    await stub.Deposit(deposit(await player(bus), 100, key()))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.begin() as conn:
        conn.execute(sa.text("UPDATE bets.entries SET amount_minor = amount_minor * 2"))


async def test_the_ledger_refuses_to_overdraw_a_wallet(bus: Bus, stub: Stub, db: sa.Engine) -> None:
    # No RPC spends money yet; the adapter's guard is what stakes and withdrawals will rely on.
    p = await player(bus)
    await stub.Deposit(deposit(p, 300, key()))
    ledger = PostgresLedger(db)
    overdraw = LedgerTransaction(
        transaction_id=f"tx_{uuid.uuid4().hex}",
        kind=TransactionKind.WITHDRAWAL,
        postings=(
            Posting(player_wallet(p, "EUR"), 301),
            Posting(payment_clearing("sandbox", "EUR"), -301),
        ),
    )
    with pytest.raises(InsufficientFunds) as caught, ledger.session() as session:
        session.post(overdraw)
    assert caught.value.reason == "INSUFFICIENT_FUNDS"
    assert await balance(stub, p) == 300
    exact = LedgerTransaction(
        transaction_id=f"tx_{uuid.uuid4().hex}",
        kind=TransactionKind.WITHDRAWAL,
        postings=(
            Posting(player_wallet(p, "EUR"), 300),
            Posting(payment_clearing("sandbox", "EUR"), -300),
        ),
    )
    with ledger.session() as session:
        session.post(exact)
    assert await balance(stub, p) == 0
    kinds = [e.kind for e in await entries(stub, p)]
    assert kinds == [pb.TRANSACTION_KIND_WITHDRAWAL, pb.TRANSACTION_KIND_DEPOSIT]


async def test_the_ledger_balances_after_everything(bus: Bus, stub: Stub, db: sa.Engine) -> None:
    # Run last in this module (pytest keeps file order): every movement above is included.
    await stub.Deposit(deposit(await player(bus), 1, key()))
    with db.connect() as conn:
        totals = conn.execute(
            sa.text("SELECT currency, sum(amount_minor) FROM bets.entries GROUP BY currency")
        ).all()
        assert totals, "the tests above posted nothing"
        assert all(total == 0 for _, total in totals)
        unbalanced = conn.execute(
            sa.text(
                "SELECT transaction_id FROM bets.entries"
                " GROUP BY transaction_id, currency HAVING sum(amount_minor) <> 0"
            )
        ).all()
        assert unbalanced == []
        negative = conn.execute(
            sa.text(
                "SELECT code FROM bets.accounts"
                " WHERE kind IN ('player_wallet', 'player_held') AND balance_minor < 0"
            )
        ).all()
        assert negative == []
        drift = conn.execute(
            sa.text(
                "SELECT a.code FROM bets.accounts a"
                " LEFT JOIN bets.entries e ON e.account_id = a.id"
                " GROUP BY a.id"
                " HAVING a.balance_minor <> a.normal_side * coalesce(sum(e.amount_minor), 0)"
            )
        ).all()
        assert drift == []
        orphans = conn.execute(
            sa.text(
                "SELECT t.id FROM bets.transactions t"
                " LEFT JOIN bets.entries e ON e.transaction_id = t.id WHERE e.id IS NULL"
            )
        ).all()
        assert orphans == []
