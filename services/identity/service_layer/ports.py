"""What only identity's periodic sweep needs (service_layer/sweep.py), implemented by
adapters/postgres_store.py. The ports the domain's rules and every other use case go through:
services/identity/domain/ports.py."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.identity.domain.players import KycStatus, Player, VerifiedIdentity


class SweepStore(Protocol):
    async def verified_players(
        self, after: str | None, limit: int
    ) -> list[tuple[Player, VerifiedIdentity]]:
        """Players with a verified identity not yet marked register-excluded, by player_id
        after `after`."""
        ...

    async def mark_register_excluded(self, player_id: str, now: datetime) -> Player | None:
        """The player, newly marked; None when already marked."""
        ...

    async def lapse_candidates(self, created_before: datetime) -> list[Player]:
        """Provisional or pending players created before, whose closure is not announced."""
        ...

    async def claim_lapse(self, player_id: str, status: KycStatus) -> bool:
        """Records `status` as announced; False when it (or a later lapse) already was."""
        ...

    async def release_lapse(self, player_id: str, status: KycStatus) -> None:
        """Undoes a claim whose announcement failed, so that the next sweep retries it."""
        ...
