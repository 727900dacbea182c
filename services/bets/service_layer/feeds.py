"""What bets hears from the mesh, as use cases: prices and bet stops into the price book (bet
stops also kept, so a restarted process starts from them), game states for live re-checks, and
live's heartbeats (which in-play fixtures it still watches) into the book, and
each player's standing from identity (KYC, exclusion, the 7-day caps). The event consumers
(adapters/feeds.py) translate each event into one of these commands; an announced result goes
to `BetsService.result_finalised`. Each is idempotent: the store keeps the newest by sequence or
by when identity said it, the book the newest price set and status."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from services.bets.domain.limits import CapKind
from services.bets.domain.ports import FeedState
from services.bets.domain.prices import PriceBook
from services.bets.service_layer import commands
from services.bets.service_layer.ports import Clock


class FeedHandlers:
    def __init__(
        self,
        book: PriceBook,
        state: FeedState,
        raise_delay_seconds: float,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self.book = book
        self.clock = clock
        self.state = state
        # A raised 7-day cap applies only after this (ANJ: 48 h); a cut at once.
        self.raise_delay_seconds = raise_delay_seconds

    async def load(self) -> None:
        """Bet stops survive a restart: the book starts from what was last said."""
        for fixture_id, market_id, status, sequence, said_at in await asyncio.to_thread(
            self.state.statuses
        ):
            self.book.apply_status(
                fixture_id, [market_id] if market_id else [], status, sequence, said_at
            )

    async def prices_accepted(self, command: commands.PricesAccepted) -> None:
        self.book.apply_quote_set(command.quotes)

    async def market_status_changed(self, command: commands.MarketStatusChanged) -> None:
        markets = list(command.market_ids)
        # Kept first: a bet stop the book applied must survive a restart.
        await asyncio.to_thread(
            self.state.save_status,
            command.fixture_id,
            markets,
            command.status,
            command.event_sequence,
            command.said_at,
        )
        self.book.apply_status(
            command.fixture_id, markets, command.status, command.event_sequence, command.said_at
        )

    async def live_watching(self, command: commands.LiveWatching) -> None:
        # Not kept in the store: a restarted process waits for the next heartbeat (a second)
        # rather than trust an old one.
        self.book.vouch(list(command.fixture_ids), command.said_at, heard_at=self.clock())

    async def game_state_changed(self, command: commands.GameStateChanged) -> None:
        await asyncio.to_thread(self.state.save_game, command.fixture_id, command.game)

    async def kyc_changed(self, command: commands.KycChanged) -> None:
        await asyncio.to_thread(
            self.state.save_kyc,
            command.player_id,
            command.kyc_status,
            command.of_age,
            command.excluded,
            command.said_at,
        )

    async def caps_changed(self, command: commands.CapsChanged) -> None:
        caps = []
        if command.stake_cap_minor is not None:
            caps.append((CapKind.STAKE, command.stake_cap_minor))
        if command.deposit_cap_minor is not None:
            caps.append((CapKind.DEPOSIT, command.deposit_cap_minor))
        for kind, cap in caps:
            await asyncio.to_thread(
                self.state.save_cap,
                kind,
                command.player_id,
                cap,
                command.effective_at,
                command.said_at,
                self.raise_delay_seconds,
            )
