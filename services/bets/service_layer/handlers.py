"""The bets use cases as the service layer runs them: one handler per command.

The use cases are synchronous over the store's units of work (`BetStore.session()`,
`Ledger.session()`): placing and live decisions (placing.py), settlement, voids and rollbacks
(settling.py), cash-out (cash_out.py), reads and reports (queries.py, over `BetReports`),
settlement from the chain (chain_recheck.py), the wallet (wallet.py). A
handler runs them off the event loop and does what lies between them: fetch the prices a rule
is about to read, hold a live bet through its delay and then decide it, decide the live bets
nobody waited for, send an announced result to the chain check or straight to settlement. The
servicer only translates gRPC to these commands and back; the event consumers
(adapters/feeds.py) call `result_finalised`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from service_runtime.errors import Unimplemented
from services.bets.domain.bet_rules import BetRules
from services.bets.domain.chain_results import ClaimedResult, HoldRow
from services.bets.domain.exposure import FixtureExposure
from services.bets.domain.ledger import WalletBalance
from services.bets.domain.model import Bet, BetStatus, CashOutOffer, PlaceBetCommand
from services.bets.domain.placing import new_bet_id
from services.bets.domain.ports import BetReports, BetStore
from services.bets.domain.prices import PriceBook
from services.bets.domain.requests import DepositCommand
from services.bets.domain.settlement import FinalScore
from services.bets.domain.statement import QuarterlyStatement, ReturnToPlayer
from services.bets.domain.wallet import Caller, DepositResult, EntryPage
from services.bets.service_layer import commands
from services.bets.service_layer.cash_out import CashingOut
from services.bets.service_layer.chain_recheck import ChainRecheck, list_holds
from services.bets.service_layer.placing import Placing
from services.bets.service_layer.ports import (
    ChainReader,
    ChainResults,
    Clock,
    EventBus,
    Outbox,
    PlacedBets,
    PriceSource,
    Sleep,
)
from services.bets.service_layer.queries import Queries
from services.bets.service_layer.settling import Settling
from services.bets.service_layer.wallet import WalletService

log = logging.getLogger(__name__)
# Events one relay pass claims and publishes.
OUTBOX_BATCH = 200


def _now() -> datetime:
    return datetime.now(UTC)


class BetsService:
    def __init__(
        self,
        wallets: WalletService,
        store: BetStore,
        reports: BetReports,
        book: PriceBook,
        rules: BetRules,
        currency: str,
        prices: PriceSource | None = None,
        placed: PlacedBets | None = None,
        *,
        chain_results: ChainResults | None = None,
        settle_from_chain: bool = False,
        chain_reader: ChainReader | None = None,
        chain_wait_seconds: float = 0.0,
        outbox: Outbox | None = None,
        bus: EventBus | None = None,
        clock: Clock = _now,
        sleep: Sleep = asyncio.sleep,
        new_id: Callable[[], str] = new_bet_id,
    ) -> None:
        """`chain_results`: where announced results and holds are kept (None: ListResultHolds
        is UNIMPLEMENTED). `settle_from_chain`: an announced result settles only once the
        chain (`chain_reader`) confirms it; otherwise it settles as announced (tests)."""
        self.wallets = wallets
        self.store = store
        self.currency = currency
        self.prices = prices
        self.placed = placed
        self._clock = clock
        self._sleep = sleep
        self.placing = Placing(store, book, rules, currency, clock, new_id)
        self.settling = Settling(store, clock)
        self.queries = Queries(store, reports, clock)
        self.cashing_out = CashingOut(store, book, rules, currency, self.queries, clock)
        self.chain_results = chain_results
        self.outbox = outbox
        self.bus = bus
        # Set after a use case that may have queued events (a settlement, a void, a cash-out):
        # the relay, backing off while the outbox is idle, wakes for them at once.
        self.outbox_queued = asyncio.Event()
        self.chain = (
            ChainRecheck(
                self.settling.settle_result,
                chain_results,
                chain_reader,
                chain_wait_seconds,
                clock,
            )
            if settle_from_chain and chain_results is not None
            else None
        )

    async def _ensure_prices(self, fixture_ids: list[str]) -> None:
        if self.prices is not None:
            await self.prices.ensure_prices(fixture_ids)

    # ---- wallet --------------------------------------------------------------------------

    async def deposit(self, command: DepositCommand, caller: Caller | None) -> DepositResult:
        # The ledger blocks on PostgreSQL (and waits on concurrent retries): off the loop.
        return await asyncio.to_thread(self.wallets.deposit, command, caller)

    async def withdraw(self, command: DepositCommand, caller: Caller | None) -> DepositResult:
        return await asyncio.to_thread(self.wallets.withdraw, command, caller)

    async def get_wallet(self, player_id: str, caller: Caller | None) -> WalletBalance:
        return await asyncio.to_thread(self.wallets.get_wallet, player_id, caller)

    async def list_entries(
        self, command: commands.ListLedgerEntries, caller: Caller | None
    ) -> EntryPage:
        return await asyncio.to_thread(
            self.wallets.list_entries,
            command.player_id,
            command.page_size,
            command.page_token,
            caller,
        )

    # ---- placing and live decisions --------------------------------------------------------

    async def place_bet(self, command: PlaceBetCommand, caller: Caller | None) -> Bet:
        """Places a bet; a live bet whose caller waits is held through its delay and decided
        here, so the answer is final (accepted or rejected), not PENDING."""
        fixture_ids = [leg.fixture_id for leg in command.legs]
        # Known fixtures (nearly every bet) await nothing: no tasks made for two no-ops.
        if self.prices is not None and not self.prices.knows(fixture_ids):
            # Both are reads from the gateway for a fixture seen for the first time: together.
            await asyncio.gather(
                self.prices.ensure_prices(fixture_ids),
                self.prices.ensure_fixture_names(fixture_ids),
            )
        bet = await self.placing.place_async(command, caller)
        if bet.status is BetStatus.PENDING and command.wait_for_decision:
            bet = await self._await_decision(bet)
        if self.placed is not None:
            self.placed.placed(bet)
        return bet

    async def _await_decision(self, bet: Bet) -> Bet:
        if bet.decide_after is not None:
            wait = (bet.decide_after - self._clock()).total_seconds()
            if wait > 0:
                await self._sleep(wait)
        decided = await self.decide_bet(commands.DecideBet(bet.bet_id))
        return decided or bet

    async def decide_bet(self, command: commands.DecideBet) -> Bet | None:
        bet = await asyncio.to_thread(self.store.get_bet, command.bet_id)
        if bet is None or bet.status is not BetStatus.PENDING:
            return bet
        # The decision re-checks the price: the book must know the fixture first.
        await self._ensure_prices([leg.fixture_id for leg in bet.legs])
        return await asyncio.to_thread(self.placing.decide, command.bet_id)

    async def decide_due_bets(self, command: commands.DecideDueBets) -> int:
        """Decides live bets whose delay is over; returns how many were looked at."""
        due = await asyncio.to_thread(self.store.due_pending, self._clock(), command.limit)
        for bet_id in due:
            await self.decide_bet(commands.DecideBet(bet_id))
        return len(due)

    # ---- reads ---------------------------------------------------------------------------

    async def get_bet(self, bet_id: str, caller: Caller | None) -> Bet:
        return await asyncio.to_thread(self.queries.get, bet_id, caller)

    async def list_bets(
        self, command: commands.ListBets, caller: Caller | None
    ) -> tuple[list[Bet], str]:
        return await asyncio.to_thread(
            self.queries.list_bets,
            command.player_id,
            list(command.statuses),
            command.page_size,
            command.page_token,
            caller,
        )

    # ---- cash-out ------------------------------------------------------------------------

    async def cash_out_offer(
        self, command: commands.GetCashOutOffer, caller: Caller | None
    ) -> CashOutOffer:
        bet = await self.get_bet(command.bet_id, caller)
        await self._ensure_prices([leg.fixture_id for leg in bet.legs])
        return await asyncio.to_thread(
            self.cashing_out.offer, command.bet_id, caller, command.stake_minor, command.currency
        )

    async def cash_out(self, command: commands.CashOut, caller: Caller | None) -> Bet:
        bet = await self.get_bet(command.bet_id, caller)
        await self._ensure_prices([leg.fixture_id for leg in bet.legs])
        try:
            return await asyncio.to_thread(
                self.cashing_out.cash_out,
                command.idempotency_key,
                command.bet_id,
                command.offer_id,
                caller,
            )
        finally:
            self.outbox_queued.set()

    async def purge_offers(self) -> None:
        """Forgets expired cash-out offers (a background step: app.py declares it)."""
        await asyncio.to_thread(self.cashing_out.purge_offers)

    # ---- results -------------------------------------------------------------------------

    async def result_finalised(self, claimed: ClaimedResult) -> None:
        """An announced result (results.finalised): with a chain, only a wake-up (the contract
        decides, chain_recheck.py); without, it settles as announced."""
        if self.chain is not None:
            await asyncio.to_thread(self.chain.claim, claimed)
            return
        score = FinalScore(claimed.home, claimed.away, claimed.status, claimed.set_games)
        try:
            await asyncio.to_thread(
                self.settling.settle_result, claimed.fixture_id, score, claimed.version
            )
        finally:
            self.outbox_queued.set()

    async def recheck_chain(self) -> int:
        """Announced results the chain did not show yet (lagging finality, a slow provider): a
        background step app.py declares where results settle from the chain."""
        if self.chain is None:
            return 0
        try:
            return await asyncio.to_thread(self.chain.recheck)
        finally:
            self.outbox_queued.set()

    # ---- events ---------------------------------------------------------------------------

    async def relay_outbox(self) -> bool:
        """The outbox relay's pass (a background step app.py declares): publishes queued
        events (BetSettled, BetsVoided) in the order they were queued, then forgets them; one
        bets process at a time relays (the others find the outbox claimed). At least once: a
        crash between publishing and forgetting publishes them again, with the same event ids,
        which consumers de-duplicate. True when it published any (more may wait)."""
        if self.outbox is None or self.bus is None:
            return False
        batch = await asyncio.to_thread(self.outbox.claim, OUTBOX_BATCH)
        if batch is None:
            return False
        try:
            for entry in batch.entries:
                await self.bus.publish(entry)
        except BaseException:
            # Rolled back on the spot (no await): a cancelled relay must not keep the claim.
            batch.abandon()
            raise
        await asyncio.to_thread(batch.done)
        return len(batch.entries) > 0

    # ---- operators -----------------------------------------------------------------------

    async def settle_market(self, command: commands.SettleMarket, caller: Caller | None) -> int:
        try:
            return await asyncio.to_thread(
                self.settling.settle_market, command.idempotency_key, command.settle, caller
            )
        finally:
            self.outbox_queued.set()

    async def rollback_settlement(
        self, command: commands.RollbackSettlement, caller: Caller | None
    ) -> int:
        try:
            return await asyncio.to_thread(
                self.settling.rollback_market,
                command.idempotency_key,
                command.fixture_id,
                command.market_id,
                caller,
            )
        finally:
            self.outbox_queued.set()

    async def void_bets(self, command: commands.VoidBets, caller: Caller | None) -> int:
        try:
            return await asyncio.to_thread(
                self.settling.void,
                command.idempotency_key,
                command.fixture_id,
                list(command.market_ids),
                command.placed_after,
                command.placed_before,
                caller,
                command.reason,
            )
        finally:
            self.outbox_queued.set()

    async def return_to_player(
        self, start: datetime | None, end: datetime | None, caller: Caller | None
    ) -> ReturnToPlayer:
        return await asyncio.to_thread(self.queries.return_to_player, start, end, caller)

    async def quarterly_statement(
        self, year: int, quarter: int, caller: Caller | None
    ) -> QuarterlyStatement:
        return await asyncio.to_thread(self.queries.quarterly_statement, year, quarter, caller)

    async def exposure(self, fixture_id: str, caller: Caller | None) -> FixtureExposure:
        return await asyncio.to_thread(self.queries.exposure, fixture_id, caller)

    async def list_result_holds(
        self, caller: Caller | None, page_size: int, page_token: str
    ) -> tuple[list[HoldRow], str]:
        if self.chain_results is None:
            raise Unimplemented("CHAIN_RESULTS_OFF", "this bets service does not check results")
        return await asyncio.to_thread(
            list_holds, self.chain_results, caller, page_size, page_token
        )
