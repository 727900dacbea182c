"""BetService over gRPC: translates requests to the wallet core and back."""

# The generated servicer base names the methods.

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

import grpc
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.bets.v1 import bet_service_pb2_grpc
from betmesh.common.v1 import money_pb2
from google.protobuf import timestamp_pb2

from service_runtime.auth import current_principal
from service_runtime.errors import Unimplemented
from service_runtime.telemetry import tracer
from services.bets.domain.ledger import EntryView, TransactionKind, WalletBalance
from services.bets.domain.requests import DepositCommand
from services.bets.domain.wallet import Caller, WalletService

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]

_KINDS = {
    TransactionKind.DEPOSIT: pb.TRANSACTION_KIND_DEPOSIT,
    TransactionKind.WITHDRAWAL: pb.TRANSACTION_KIND_WITHDRAWAL,
    TransactionKind.STAKE: pb.TRANSACTION_KIND_STAKE,
    TransactionKind.STAKE_RELEASE: pb.TRANSACTION_KIND_STAKE_RELEASE,
    TransactionKind.PAYOUT: pb.TRANSACTION_KIND_PAYOUT,
    TransactionKind.SETTLEMENT_ROLLBACK: pb.TRANSACTION_KIND_SETTLEMENT_ROLLBACK,
    TransactionKind.VOID_REFUND: pb.TRANSACTION_KIND_VOID_REFUND,
    TransactionKind.CASH_OUT: pb.TRANSACTION_KIND_CASH_OUT,
}


def _caller() -> Caller | None:
    principal = current_principal.get()
    return None if principal is None else Caller(principal.subject, principal.role)


def _wallet(wallet: WalletBalance) -> pb.Wallet:
    return pb.Wallet(
        player_id=wallet.player_id,
        balance=money_pb2.Money(amount_minor=wallet.balance_minor, currency=wallet.currency),
        held=money_pb2.Money(amount_minor=wallet.held_minor, currency=wallet.currency),
    )


def _entry(entry: EntryView) -> pb.LedgerEntry:
    posted_at = timestamp_pb2.Timestamp()
    posted_at.FromDatetime(entry.posted_at)
    return pb.LedgerEntry(
        transaction_id=entry.transaction_id,
        kind=_KINDS[entry.kind],
        account=entry.account,
        amount=money_pb2.Money(amount_minor=entry.amount_minor, currency=entry.currency),
        posted_at=posted_at,
        bet_id=entry.bet_id,
    )


def _not_built(what: str, missing: str) -> Unimplemented:
    return Unimplemented("NOT_IMPLEMENTED", f"{what} is not built yet: {missing}")


class BetServicer(bet_service_pb2_grpc.BetServiceServicer):
    def __init__(self, wallets: WalletService) -> None:
        self.wallets = wallets
        self._tracer = tracer(__name__)

    async def Deposit(self, request: pb.DepositRequest, context: Context) -> pb.DepositResponse:
        command = DepositCommand(
            idempotency_key=request.idempotency_key,
            player_id=request.player_id,
            amount_minor=request.amount.amount_minor if request.HasField("amount") else None,
            currency=request.amount.currency,
            payment_method_id=request.payment_method_id,
        )
        with self._tracer.start_as_current_span(
            "deposit", attributes={"betmesh.player.id": request.player_id}
        ) as span:
            # The ledger blocks on PostgreSQL (and waits on concurrent retries): off the loop.
            result = await asyncio.to_thread(self.wallets.deposit, command, _caller())
            span.set_attribute("betmesh.transaction.id", result.transaction_id)
            span.set_attribute("betmesh.idempotent_replay", not result.moved_money)
        return pb.DepositResponse(
            transaction_id=result.transaction_id, wallet=_wallet(result.wallet)
        )

    async def GetWallet(
        self, request: pb.GetWalletRequest, context: Context
    ) -> pb.GetWalletResponse:
        wallet = await asyncio.to_thread(self.wallets.get_wallet, request.player_id, _caller())
        return pb.GetWalletResponse(wallet=_wallet(wallet))

    async def ListLedgerEntries(
        self, request: pb.ListLedgerEntriesRequest, context: Context
    ) -> pb.ListLedgerEntriesResponse:
        page = await asyncio.to_thread(
            self.wallets.list_entries,
            request.player_id,
            request.page_size,
            request.page_token,
            _caller(),
        )
        return pb.ListLedgerEntriesResponse(
            entries=[_entry(e) for e in page.entries], next_page_token=page.next_page_token
        )

    async def Withdraw(self, request: pb.WithdrawRequest, context: Context) -> pb.WithdrawResponse:
        raise _not_built(
            "Withdraw",
            "paying out needs the player's KYC state from the identity service, which does not "
            "publish it yet",
        )

    async def PlaceBet(self, request: pb.PlaceBetRequest, context: Context) -> pb.PlaceBetResponse:
        raise _not_built(
            "PlaceBet",
            "bet acceptance needs consensus prices from the gateway, stake holds and limits",
        )

    async def GetBet(self, request: pb.GetBetRequest, context: Context) -> pb.GetBetResponse:
        raise _not_built("GetBet", "there is no bet store until PlaceBet is built")

    async def ListBets(self, request: pb.ListBetsRequest, context: Context) -> pb.ListBetsResponse:
        raise _not_built("ListBets", "there is no bet store until PlaceBet is built")

    async def GetCashOutOffer(
        self, request: pb.GetCashOutOfferRequest, context: Context
    ) -> pb.GetCashOutOfferResponse:
        raise _not_built("GetCashOutOffer", "cash-out pricing needs live prices and placed bets")

    async def CashOut(self, request: pb.CashOutRequest, context: Context) -> pb.CashOutResponse:
        raise _not_built("CashOut", "cash-out needs offers and placed bets")

    async def SettleMarket(
        self, request: pb.SettleMarketRequest, context: Context
    ) -> pb.SettleMarketResponse:
        raise _not_built("SettleMarket", "settlement needs placed bets and oracle results")

    async def RollbackSettlement(
        self, request: pb.RollbackSettlementRequest, context: Context
    ) -> pb.RollbackSettlementResponse:
        raise _not_built("RollbackSettlement", "there is no settlement to roll back yet")

    async def VoidBets(self, request: pb.VoidBetsRequest, context: Context) -> pb.VoidBetsResponse:
        raise _not_built("VoidBets", "there are no placed bets to void yet")

    async def GetReturnToPlayerReport(
        self, request: pb.GetReturnToPlayerReportRequest, context: Context
    ) -> pb.GetReturnToPlayerReportResponse:
        raise _not_built("GetReturnToPlayerReport", "reports need settled bets")

    async def GetExposureReport(
        self, request: pb.GetExposureReportRequest, context: Context
    ) -> pb.GetExposureReportResponse:
        raise _not_built("GetExposureReport", "reports need placed bets")
