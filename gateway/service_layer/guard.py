"""The integrity guard as a use case: screens every agreed set before it is published, and
runs the operators' releases and rejections (the rules: gateway/domain/guard.py, integrity.py).

A screen reads the fixture's last published set and its holds (the HoldRepository and
QuoteSetRepository ports), asks the domain what the agreed set breaks and what to publish, has
the consensus round store the new holds with the set that suspends their markets (one unit of
work: both or neither), then raises the operator's alert (log and metric). A release closes the
hold and stores the set that publishes its market in one unit of work too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from betmesh.common.v1 import game_state_pb2, market_pb2

from gateway.domain.guard import (
    LIVE,
    PRE_MATCH,
    OnHold,
    SnapshotVetted,
    check_decision,
    evidence_json,
    markets,
    new_holds,
    published_bytes,
    published_set,
    release_publishes,
    released_set,
    undecidable,
    violations_by_market,
)
from gateway.domain.holds import HoldStatus, PriceHold
from gateway.domain.integrity import GuardPolicy, MoveBound, live_bound, pre_match_bound
from gateway.domain.model import Accepted
from gateway.domain.ports import HoldRepository, QuoteSetRepository
from gateway.service_layer.ports import UnitOfWork
from service_runtime.digest import digest_bytes

log = logging.getLogger(__name__)

LOCK_STRIPES = 64


# Stores a screened set with the holds it raised, in one unit of work; returns the holds as
# stored (with their ids; one another gateway process raised first is not among them).
StoreScreened = Callable[[Accepted, Sequence[PriceHold]], Awaitable[list[PriceHold]]]


@dataclass
class PriceGuard:
    policy: GuardPolicy
    holds: HoldRepository
    quote_sets: QuoteSetRepository
    # Whether the canary vetted a snapshot (only a vetted new snapshot explains a move).
    snapshot_vetted: SnapshotVetted
    # A release's decision and the set it publishes are written in one of these.
    units: Callable[[], UnitOfWork]
    # Announces a set a release stored, once committed (the gateway's own publishing step).
    on_released: Callable[[Accepted], Awaitable[None]] | None = None
    # The operator alert besides the log line: a metric.
    on_hold: OnHold | None = None
    clock: Callable[[], float] = time.time
    # Screens of one fixture and phase run one at a time (a pass and an on-demand price).
    _locks: list[asyncio.Lock] = field(
        default_factory=lambda: [asyncio.Lock() for _ in range(LOCK_STRIPES)]
    )

    def _lock(self, fixture_id: str, phase: int) -> asyncio.Lock:
        return self._locks[hash((fixture_id, phase)) % LOCK_STRIPES]

    async def screen(
        self,
        accepted: Accepted,
        game_state: game_state_pb2.GameState | None,
        store: StoreScreened,
    ) -> Accepted:
        """The set to publish for an agreed one (itself when nothing is held), stored by
        `store` with the holds it raised before the fixture's next screen reads it."""
        agreed = accepted.quote_set
        async with self._lock(agreed.fixture_id, agreed.phase):
            published, fresh, cause = await self._screen(accepted, agreed, game_state)
            stored = await store(published, fresh)
        # Only once stored: a hold rolled back with its set was never raised.
        for hold in stored:
            log.warning(
                "price held",
                extra={
                    "hold_id": hold.hold_id,
                    "fixture_id": hold.fixture_id,
                    "market_id": hold.market_id,
                    "rules": ",".join(hold.rules),
                    "snapshot_hash": hold.snapshot_hash,
                    "event_sequence": hold.event_sequence,
                    "cause": cause,
                    "evidence": evidence_json(hold.violations)[:1000],
                },
            )
            if self.on_hold is not None:
                self.on_hold(hold)
        return published

    async def _screen(
        self,
        accepted: Accepted,
        agreed: market_pb2.QuoteSet,
        game_state: game_state_pb2.GameState | None,
    ) -> tuple[Accepted, list[PriceHold], str]:
        """What to publish, the new holds, and what bounded the move."""
        previous = await self.quote_sets.latest(agreed.fixture_id, agreed.phase)
        bound, compared = await self._bound(accepted, agreed, previous, game_state)
        already, vouched = await self.holds.holding(
            agreed.fixture_id, agreed.phase, previous.accepted_at if previous is not None else 0.0
        )
        by_market = violations_by_market(agreed, compared, bound, vouched, self.policy)
        held = set(by_market) | already
        if not held & {m.market_id for m in agreed.markets}:
            return accepted, [], bound.cause
        published_before = markets(previous)
        fresh = new_holds(accepted, agreed, by_market, already, published_before, self.clock())
        data = published_bytes(published_set(agreed, held, published_before))
        return replace(accepted, data=data, digest=digest_bytes(data)), fresh, bound.cause

    async def _bound(
        self,
        accepted: Accepted,
        agreed: market_pb2.QuoteSet,
        previous: Accepted | None,
        game_state: game_state_pb2.GameState | None,
    ) -> tuple[MoveBound, dict[str, market_pb2.Market]]:
        if agreed.phase == LIVE:
            state = game_state or game_state_pb2.GameState()
            if previous is not None and previous.game_state:
                before = game_state_pb2.GameState.FromString(previous.game_state)
                return live_bound(self.policy, before, state), markets(previous)
            # The first live price continues the pre-match one.
            pre = await self.quote_sets.latest(agreed.fixture_id, PRE_MATCH)
            return live_bound(self.policy, None, state), markets(pre)
        if previous is None:
            return MoveBound(None, "FIRST_PRICE"), {}
        vetted = await self.snapshot_vetted(agreed.snapshot_hash)
        bound = pre_match_bound(
            self.policy,
            previous.quote_set.snapshot_hash,
            agreed.snapshot_hash,
            vetted,
            previous.fixture_digest != accepted.fixture_digest,
        )
        return bound, markets(previous)

    # ---- the operator's decisions -----------------------------------------------------------

    async def release(self, hold_id: str, by: str, note: str) -> tuple[PriceHold, bool]:
        """Closes the hold and publishes its market as agreed. Returns the hold and whether
        the market was published (domain: release_publishes). The decision and the set that
        publishes it are one unit of work: a failed store leaves the hold open, never released
        with its market still suspended."""
        check_decision(hold_id, note)
        released = None
        async with self.units() as uow:
            hold = await self._decide(uow.holds, hold_id, HoldStatus.RELEASED, by, note)
            async with self._lock(hold.fixture_id, hold.phase):
                latest = await uow.quote_sets.latest(hold.fixture_id, hold.phase)
                if latest is not None and release_publishes(
                    hold, latest, await uow.holds.open_markets(hold.fixture_id, hold.phase)
                ):
                    data = published_bytes(released_set(latest.quote_set, hold))
                    released = replace(
                        latest, data=data, digest=digest_bytes(data), accepted_at=self.clock()
                    )
                    await uow.quote_sets.save(released)
                await uow.commit()
        if released is None:
            return hold, False
        if self.on_released is not None:
            await self.on_released(released)
        log.warning(
            "price hold released",
            extra={"hold_id": hold.hold_id, "market_id": hold.market_id, "by": by},
        )
        return hold, True

    async def reject(self, hold_id: str, by: str, note: str) -> PriceHold:
        check_decision(hold_id, note)
        hold = await self._decide(self.holds, hold_id, HoldStatus.REJECTED, by, note)
        log.warning(
            "price hold rejected",
            extra={"hold_id": hold.hold_id, "market_id": hold.market_id, "by": by},
        )
        return hold

    async def _decide(
        self, holds: HoldRepository, hold_id: str, status: HoldStatus, by: str, note: str
    ) -> PriceHold:
        decided = await holds.decide(hold_id, status, by, note, self.clock())
        if decided is not None:
            return decided
        raise undecidable(await holds.get(hold_id))
