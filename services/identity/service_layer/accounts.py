"""Player accounts after sign-up: reading them, self-exclusion, responsible-gambling caps. The
use cases over the player store and the bus; the rules are the domain's (domain/players.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from service_runtime.auth import current_principal
from service_runtime.errors import NotFound
from services.identity.domain.players import (
    Limits,
    Player,
    check_account_access,
    check_limits_asked,
    self_exclusion_until,
)
from services.identity.domain.ports import Announcer, PlayerStore


class Accounts:
    def __init__(
        self,
        players: PlayerStore,
        announcer: Announcer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.players = players
        self.announcer = announcer
        self.clock = clock

    async def get(self, player_id: str) -> Player:
        check_account_access(current_principal.get(), player_id)
        player = await self.players.get(player_id)
        if player is None:
            raise NotFound("PLAYER_NOT_FOUND", "no such player", {"player_id": player_id[:64]})
        return player

    async def self_exclude(self, player_id: str, duration: timedelta) -> Player:
        player = await self.get(player_id)
        now = self.clock()
        until = self_exclusion_until(player, duration, now)
        player = await self.players.set_self_excluded_until(player_id, until)
        await self.announcer.kyc_status_changed(player, now)
        return player

    async def limits(self, player_id: str) -> Limits:
        await self.get(player_id)
        return (await self.players.get_limits(player_id)).settled(self.clock())

    async def set_limits(
        self,
        player_id: str,
        deposit: tuple[int, str] | None,
        stake: tuple[int, str] | None,
    ) -> Limits:
        await self.get(player_id)
        check_limits_asked(deposit, stake)
        now = self.clock()
        # Read, change and write under the store's lock: concurrent changes serialise.
        updated = await self.players.update_limits(
            player_id, lambda current: current.changed(deposit, stake, now)
        )
        if updated is None:
            raise NotFound("PLAYER_NOT_FOUND", "no such player", {"player_id": player_id[:64]})
        await self.announcer.limits_changed(player_id, updated, now)
        return updated
