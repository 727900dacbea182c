"""BetService over gRPC: translates requests to service-layer commands and the answers back;
no business rule and no orchestration here (services/bets/service_layer/)."""

# The generated servicer base names the methods.

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeAlias

import grpc
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.bets.v1 import bet_service_pb2_grpc
from betmesh.common.v1 import market_pb2, money_pb2
from google.protobuf import timestamp_pb2
from opentelemetry import trace

from service_runtime.auth import current_principal
from service_runtime.errors import InvalidArgument
from service_runtime.telemetry import tracer
from services.bets.domain.ledger import EntryView, TransactionKind, WalletBalance
from services.bets.domain.model import (
    Bet,
    BetStatus,
    LegRequest,
    OddsAcceptance,
    Outcome,
    PlaceBetCommand,
    Rejection,
)
from services.bets.domain.requests import DepositCommand
from services.bets.domain.statement import LEGAL_LIMIT_E4
from services.bets.domain.wallet import Caller
from services.bets.service_layer import commands
from services.bets.service_layer.handlers import BetsService

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


_ACCEPTANCE = {
    pb.ODDS_ACCEPTANCE_NONE: OddsAcceptance.NONE,
    pb.ODDS_ACCEPTANCE_ANY: OddsAcceptance.ANY,
    pb.ODDS_ACCEPTANCE_HIGHER: OddsAcceptance.HIGHER,
}
_ACCEPTANCE_BACK = {v: k for k, v in _ACCEPTANCE.items()}
_BET_STATUS = {s: pb.BetStatus.Value(f"BET_STATUS_{s.value}") for s in BetStatus}
_BET_STATUS_BACK = {v: k for k, v in _BET_STATUS.items()}
_REJECTION = {r: pb.RejectionReason.Value(f"REJECTION_REASON_{r.value}") for r in Rejection}
_OUTCOMES = {market_pb2.SelectionOutcome.Value(f"SELECTION_OUTCOME_{o.value}"): o for o in Outcome}
_OUTCOMES_BACK = {v: k for k, v in _OUTCOMES.items()}


def _timestamp(when: datetime | None) -> timestamp_pb2.Timestamp | None:
    if when is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when)
    return stamp


def _time(request: Any, field: str) -> datetime | None:
    if not request.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(request, field)
    return stamp.ToDatetime(tzinfo=UTC)


def bet_message(bet: Bet) -> pb.Bet:
    def money(amount: int) -> money_pb2.Money:
        return money_pb2.Money(amount_minor=amount, currency=bet.currency)

    message = pb.Bet(
        bet_id=bet.bet_id,
        player_id=bet.player_id,
        legs=[
            pb.BetLeg(
                fixture_id=leg.fixture_id,
                market_id=leg.market_id,
                selection_id=leg.selection_id,
                odds_e4=leg.odds_e4,
                accepted_odds_e4=leg.accepted_odds_e4,
                quote_set_digest=leg.quote_set_digest,
                outcome=_OUTCOMES_BACK[leg.outcome]
                if leg.outcome
                else market_pb2.SELECTION_OUTCOME_UNSPECIFIED,
                fixture_name=leg.fixture_name,
                market_name=leg.market_name,
                selection_name=leg.selection_name,
            )
            for leg in bet.legs
        ],
        stake=money(bet.stake_minor),
        odds_e4=bet.odds_e4,
        potential_payout=money(bet.potential_payout_minor),
        status=_BET_STATUS[bet.status],
        rejection_reason=_REJECTION[bet.rejection]
        if bet.rejection
        else pb.REJECTION_REASON_UNSPECIFIED,
        rejection_message=bet.rejection_message,
        live=bet.live,
        odds_acceptance=_ACCEPTANCE_BACK[bet.acceptance],
        payout=money(bet.payout_minor),
        idempotency_key=bet.idempotency_key,
        cashed_out_stake=money(bet.cashed_out_stake_minor),
        cashed_out=money(bet.cashed_out_minor),
    )
    for field, when in (
        ("placed_at", bet.placed_at),
        ("decided_at", bet.decided_at),
        ("settled_at", bet.settled_at),
    ):
        stamp = _timestamp(when)
        if stamp is not None:
            getattr(message, field).CopyFrom(stamp)
    return message


def _money_movement(request: pb.DepositRequest | pb.WithdrawRequest) -> DepositCommand:
    """A deposit or withdrawal request as the wallet's command (the two have the same fields)."""
    return DepositCommand(
        idempotency_key=request.idempotency_key,
        player_id=request.player_id,
        amount_minor=request.amount.amount_minor if request.HasField("amount") else None,
        currency=request.amount.currency,
        payment_method_id=request.payment_method_id,
    )


class BetServicer(bet_service_pb2_grpc.BetServiceServicer):
    def __init__(
        self,
        service: BetsService,
    ) -> None:
        self.service = service
        self._tracer = tracer(__name__)

    async def Deposit(self, request: pb.DepositRequest, context: Context) -> pb.DepositResponse:
        command = _money_movement(request)
        with self._tracer.start_as_current_span(
            "deposit", attributes={"betmesh.player.id": request.player_id}
        ) as span:
            result = await self.service.deposit(command, _caller())
            span.set_attribute("betmesh.transaction.id", result.transaction_id)
            span.set_attribute("betmesh.idempotent_replay", not result.moved_money)
        return pb.DepositResponse(
            transaction_id=result.transaction_id, wallet=_wallet(result.wallet)
        )

    async def GetWallet(
        self, request: pb.GetWalletRequest, context: Context
    ) -> pb.GetWalletResponse:
        wallet = await self.service.get_wallet(request.player_id, _caller())
        return pb.GetWalletResponse(wallet=_wallet(wallet))

    async def ListLedgerEntries(
        self, request: pb.ListLedgerEntriesRequest, context: Context
    ) -> pb.ListLedgerEntriesResponse:
        page = await self.service.list_entries(
            commands.ListLedgerEntries(request.player_id, request.page_size, request.page_token),
            _caller(),
        )
        return pb.ListLedgerEntriesResponse(
            entries=[_entry(e) for e in page.entries], next_page_token=page.next_page_token
        )

    async def Withdraw(self, request: pb.WithdrawRequest, context: Context) -> pb.WithdrawResponse:
        command = _money_movement(request)
        with self._tracer.start_as_current_span(
            "withdraw", attributes={"betmesh.player.id": request.player_id}
        ):
            result = await self.service.withdraw(command, _caller())
        return pb.WithdrawResponse(
            transaction_id=result.transaction_id, wallet=_wallet(result.wallet)
        )

    async def PlaceBet(self, request: pb.PlaceBetRequest, context: Context) -> pb.PlaceBetResponse:
        command = PlaceBetCommand(
            idempotency_key=request.idempotency_key,
            player_id=request.player_id,
            legs=tuple(
                LegRequest(leg.fixture_id, leg.market_id, leg.selection_id, leg.odds_e4)
                for leg in request.legs
            ),
            stake_minor=request.stake.amount_minor if request.HasField("stake") else None,
            currency=request.stake.currency,
            acceptance=_ACCEPTANCE.get(request.odds_acceptance, OddsAcceptance.NONE),
            live=request.live,
            wait_for_decision=request.wait_for_decision,
        )
        caller = _caller()
        # On the RPC's own server span: a second span per bet costs more than the bet's checks.
        span = trace.get_current_span()
        span.set_attribute("betmesh.player.id", request.player_id)
        span.set_attribute("betmesh.bet.legs", len(request.legs))
        span.set_attribute("betmesh.bet.live", request.live)
        bet = await self.service.place_bet(command, caller)
        span.set_attribute("betmesh.bet.id", bet.bet_id)
        span.set_attribute("betmesh.bet.status", bet.status.value)
        if bet.rejection is not None:
            span.set_attribute("betmesh.bet.rejection", bet.rejection.value)
            # The reason travels in the status too, for proxies and logs that do not parse
            # the body.
            context.set_trailing_metadata((("betmesh-rejection-reason", bet.rejection.value),))
        return pb.PlaceBetResponse(bet=bet_message(bet))

    async def GetBet(self, request: pb.GetBetRequest, context: Context) -> pb.GetBetResponse:
        bet = await self.service.get_bet(request.bet_id, _caller())
        return pb.GetBetResponse(bet=bet_message(bet))

    async def ListBets(self, request: pb.ListBetsRequest, context: Context) -> pb.ListBetsResponse:
        statuses = [_BET_STATUS_BACK[s] for s in request.statuses if s in _BET_STATUS_BACK]
        bets, token = await self.service.list_bets(
            commands.ListBets(
                request.player_id, tuple(statuses), request.page_size, request.page_token
            ),
            _caller(),
        )
        return pb.ListBetsResponse(bets=[bet_message(b) for b in bets], next_page_token=token)

    async def GetCashOutOffer(
        self, request: pb.GetCashOutOfferRequest, context: Context
    ) -> pb.GetCashOutOfferResponse:
        offer = await self.service.cash_out_offer(
            commands.GetCashOutOffer(
                request.bet_id,
                request.stake.amount_minor if request.HasField("stake") else None,
                request.stake.currency,
            ),
            _caller(),
        )
        # A bet is always in the book's one currency.
        currency = self.service.currency
        return pb.GetCashOutOfferResponse(
            bet_id=offer.bet_id,
            amount=money_pb2.Money(amount_minor=offer.amount_minor, currency=currency),
            offer_id=offer.offer_id,
            expires_at=_timestamp(offer.expires_at),
            # A new offer always names its part of the stake.
            stake=money_pb2.Money(amount_minor=offer.stake_minor or 0, currency=currency),
        )

    async def CashOut(self, request: pb.CashOutRequest, context: Context) -> pb.CashOutResponse:
        with self._tracer.start_as_current_span(
            "cash_out", attributes={"betmesh.bet.id": request.bet_id}
        ):
            bet = await self.service.cash_out(
                commands.CashOut(request.idempotency_key, request.bet_id, request.offer_id),
                _caller(),
            )
        return pb.CashOutResponse(bet=bet_message(bet))

    async def SettleMarket(
        self, request: pb.SettleMarketRequest, context: Context
    ) -> pb.SettleMarketResponse:
        outcomes: dict[str, Outcome] = {}
        dead_heat: dict[str, int] = {}
        for selection in request.selections:
            outcome = _OUTCOMES.get(selection.outcome)
            if outcome is None or not selection.selection_id:
                raise InvalidArgument(
                    "SELECTION_OUTCOME_INVALID",
                    "every selection needs an id and an outcome",
                    {"selection_id": selection.selection_id},
                )
            outcomes[selection.selection_id] = outcome
            # 0: the field left out, a plain result.
            if selection.dead_heat_factor_e4:
                dead_heat[selection.selection_id] = selection.dead_heat_factor_e4
        command = commands.SettleCommand(
            request.fixture_id, request.market_id, outcomes, request.result_version, dead_heat
        )
        count = await self.service.settle_market(
            commands.SettleMarket(request.idempotency_key, command), _caller()
        )
        return pb.SettleMarketResponse(settled_bet_count=count)

    async def RollbackSettlement(
        self, request: pb.RollbackSettlementRequest, context: Context
    ) -> pb.RollbackSettlementResponse:
        count = await self.service.rollback_settlement(
            commands.RollbackSettlement(
                request.idempotency_key, request.fixture_id, request.market_id
            ),
            _caller(),
        )
        return pb.RollbackSettlementResponse(rolled_back_bet_count=count)

    async def VoidBets(self, request: pb.VoidBetsRequest, context: Context) -> pb.VoidBetsResponse:
        count = await self.service.void_bets(
            commands.VoidBets(
                request.idempotency_key,
                request.fixture_id,
                tuple(request.market_ids),
                _time(request, "placed_after"),
                _time(request, "placed_before"),
                request.reason,
            ),
            _caller(),
        )
        return pb.VoidBetsResponse(voided_bet_count=count)

    async def GetReturnToPlayerReport(
        self, request: pb.GetReturnToPlayerReportRequest, context: Context
    ) -> pb.GetReturnToPlayerReportResponse:
        report = await self.service.return_to_player(
            _time(request, "period_start"), _time(request, "period_end"), _caller()
        )
        currency = self.service.currency
        rtp = report.payouts_minor * 10_000 // report.stakes_minor if report.stakes_minor else 0
        return pb.GetReturnToPlayerReportResponse(
            stakes=money_pb2.Money(amount_minor=report.stakes_minor, currency=currency),
            payouts=money_pb2.Money(amount_minor=report.payouts_minor, currency=currency),
            return_to_player_e4=rtp,
            settled_bet_count=report.settled_bet_count,
        )

    async def GetQuarterlyStatement(
        self, request: pb.GetQuarterlyStatementRequest, context: Context
    ) -> pb.GetQuarterlyStatementResponse:
        statement = await self.service.quarterly_statement(request.year, request.quarter, _caller())
        currency = self.service.currency

        def money(amount: int) -> money_pb2.Money:
            return money_pb2.Money(amount_minor=amount, currency=currency)

        return pb.GetQuarterlyStatementResponse(
            period_start=_timestamp(statement.period_start),
            period_end=_timestamp(statement.period_end),
            lines=[
                pb.StatementLine(
                    month_start=_timestamp(row.month_start),
                    live=row.live,
                    stakes=money(row.stakes_minor),
                    payouts=money(row.payouts_minor),
                    gross_gaming_revenue=money(row.gross_gaming_revenue_minor),
                    settled_bet_count=row.settled_bet_count,
                    active_player_count=row.active_player_count,
                )
                for row in statement.rows
            ],
            stakes=money(statement.stakes_minor),
            payouts=money(statement.payouts_minor),
            gross_gaming_revenue=money(statement.stakes_minor - statement.payouts_minor),
            return_to_player_e4=statement.return_to_player_e4,
            year_to_date_stakes=money(statement.year_to_date_stakes_minor),
            year_to_date_payouts=money(statement.year_to_date_payouts_minor),
            year_to_date_return_to_player_e4=statement.year_to_date_return_to_player_e4,
            legal_limit_e4=LEGAL_LIMIT_E4,
        )

    async def GetExposureReport(
        self, request: pb.GetExposureReportRequest, context: Context
    ) -> pb.GetExposureReportResponse:
        exposure = await self.service.exposure(request.fixture_id, _caller())
        currency = self.service.currency
        return pb.GetExposureReportResponse(
            fixture_id=request.fixture_id,
            markets=[
                pb.MarketExposure(
                    market_id=r.market_id,
                    worst_case_loss=money_pb2.Money(
                        amount_minor=r.worst_case_loss_minor, currency=currency
                    ),
                    stakes=money_pb2.Money(amount_minor=r.stakes_minor, currency=currency),
                )
                for r in exposure.markets
            ],
            fixture_worst_case_loss=money_pb2.Money(
                amount_minor=exposure.worst_case_loss_minor, currency=currency
            ),
        )

    async def ListResultHolds(
        self, request: pb.ListResultHoldsRequest, context: Context
    ) -> pb.ListResultHoldsResponse:
        rows, token = await self.service.list_result_holds(
            _caller(), request.page_size, request.page_token
        )
        holds = []
        for row in rows:
            claimed, chain = row.claimed, row.chain
            hold = pb.ResultHold(
                fixture_id=claimed.fixture_id,
                reason=row.reason,
                validated=pb.ChainResult(
                    status=claimed.status,
                    home_score=claimed.home,
                    away_score=claimed.away,
                    version=claimed.version,
                    sources_hash=claimed.sources_hash,
                ),
                transaction_hash=claimed.transaction_hash,
                signers=list(row.signers),
                config_version=row.config_version,
            )
            if chain is not None:
                hold.on_chain.CopyFrom(
                    pb.ChainResult(
                        status=chain.status,
                        home_score=chain.home,
                        away_score=chain.away,
                        version=chain.version,
                        sources_hash=chain.sources_hash,
                    )
                )
                hold.block_number = chain.block_number
            hold.held_at.FromDatetime(row.held_at)
            holds.append(hold)
        return pb.ListResultHoldsResponse(holds=holds, next_page_token=token)
