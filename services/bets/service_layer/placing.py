"""Placing a bet and deciding a live one, over the store's units of work. Synchronous (the
handlers run it off the event loop) except `place_async`, whose pre-match statement is awaited.

The rules are the domain's (domain/placing.py, limits.py, live_delay.py) and `bets.place_bet`'s;
this module only orders the reads and writes around them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from services.bets.domain import limits, live_delay, placing
from services.bets.domain.bet_rules import BetRules
from services.bets.domain.model import Bet, BetRejected, BetStatus, PlaceBetCommand
from services.bets.domain.ports import BetStore
from services.bets.domain.prices import PriceBook
from services.bets.domain.wallet import Caller


class Placing:
    def __init__(
        self,
        store: BetStore,
        prices: PriceBook,
        rules: BetRules,
        currency: str,
        clock: Callable[[], datetime],
        new_id: Callable[[], str] = placing.new_bet_id,
    ) -> None:
        self.store = store
        self.prices = prices
        self.rules = rules
        self.currency = currency
        self._clock = clock
        self._new_id = new_id
        self._messages = limits.placement_messages(rules)

    def _draft(
        self, command: PlaceBetCommand, caller: Caller | None
    ) -> tuple[Bet, BetRejected | None]:
        return placing.draft(
            command, caller, self.prices, self.rules, self.currency, self._clock(), self._new_id()
        )

    def place(self, command: PlaceBetCommand, caller: Caller | None) -> Bet:
        bet, verdict = self._draft(command, caller)
        return self._place_drafted(bet, verdict)

    async def place_async(self, command: PlaceBetCommand, caller: Caller | None) -> Bet:
        """`place` for the event loop: a pre-match bet's one statement is awaited, not run in a
        worker thread (a thread hand-off per bet costs more than the bet's own Python)."""
        bet, verdict = self._draft(command, caller)
        if bet.live:
            # Live bets also read the game state first; they are held for seconds anyway.
            return await asyncio.to_thread(self._place_drafted, bet, verdict)
        placed = await self.store.place_async(
            bet, verdict, limits.placement_rules(self.rules, self._messages, bet.placed_at)
        )
        if placed.claimed:
            return placing.apply_placed(bet, placed)
        return await asyncio.to_thread(self._earlier, bet)

    def _place_drafted(self, bet: Bet, verdict: BetRejected | None) -> Bet:
        if bet.live and verdict is None:
            games = self.store.games([leg.fixture_id for leg in bet.legs])
            live_delay.start_delay(bet, games, self.rules)
        placed = self.store.place(
            bet, verdict, limits.placement_rules(self.rules, self._messages, bet.placed_at)
        )
        return placing.apply_placed(bet, placed) if placed.claimed else self._earlier(bet)

    def _earlier(self, bet: Bet) -> Bet:
        earlier = self.store.bet_by_key(bet.player_id, bet.idempotency_key)
        return placing.answer_to_reused_key(bet, earlier, self._clock())

    def decide(self, bet_id: str) -> Bet | None:
        """Ends a live bet's delay, in one unit of work with the bet locked (a no-op for a bet
        no longer pending: another process or the due task decided it)."""
        now = self._clock()
        with self.store.session() as session:
            bet = session.lock_bet(bet_id)
            if bet is None or bet.status is not BetStatus.PENDING:
                return bet
            live_delay.decide(session, bet, self.prices, now, self.rules)
            session.update_bet(bet)
            return bet
