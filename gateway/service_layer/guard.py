"""The integrity guard as a use case: screens every agreed set before it is published, and
runs the operators' releases and rejections (the rules: gateway/domain/guard.py, integrity.py).

A screen reads the fixture's last published set and its holds (the HoldRepository and
QuoteSetRepository ports), asks the domain what the agreed set breaks and what to publish,
stores each new hold and raises the operator's alert (log and metric).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
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
from service_runtime.digest import digest_bytes

log = logging.getLogger(__name__)

LOCK_STRIPES = 64


@dataclass
class PriceGuard:
    policy: GuardPolicy
    holds: HoldRepository
    quote_sets: QuoteSetRepository
    # Whether the canary vetted a snapshot (only a vetted new snapshot explains a move).
    snapshot_vetted: SnapshotVetted
    # Stores and announces a published set (the gateway's own publishing step).
    publish: Callable[[Accepted], Awaitable[None]] | None = None
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
        self, accepted: Accepted, game_state: game_state_pb2.GameState | None
    ) -> Accepted:
        """The set to publish for an agreed one: itself when nothing is held."""
        agreed = accepted.quote_set
        async with self._lock(agreed.fixture_id, agreed.phase):
            return await self._screen(accepted, agreed, game_state)

    async def _screen(
        self,
        accepted: Accepted,
        agreed: market_pb2.QuoteSet,
        game_state: game_state_pb2.GameState | None,
    ) -> Accepted:
        previous = await self.quote_sets.latest(agreed.fixture_id, agreed.phase)
        bound, compared = await self._bound(accepted, agreed, previous, game_state)
        already, vouched = await self.holds.holding(
            agreed.fixture_id, agreed.phase, previous.accepted_at if previous is not None else 0.0
        )
        by_market = violations_by_market(agreed, compared, bound, vouched, self.policy)
        held = set(by_market) | already
        if not held & {m.market_id for m in agreed.markets}:
            return accepted
        published_before = markets(previous)
        fresh = new_holds(accepted, agreed, by_market, already, published_before, self.clock())
        if fresh:
            for hold in await self.holds.add(fresh):
                log.warning(
                    "price held",
                    extra={
                        "hold_id": hold.hold_id,
                        "fixture_id": hold.fixture_id,
                        "market_id": hold.market_id,
                        "rules": ",".join(hold.rules),
                        "snapshot_hash": hold.snapshot_hash,
                        "event_sequence": hold.event_sequence,
                        "cause": bound.cause,
                        "evidence": evidence_json(hold.violations)[:1000],
                    },
                )
                if self.on_hold is not None:
                    self.on_hold(hold)
        data = published_bytes(published_set(agreed, held, published_before))
        return replace(accepted, data=data, digest=digest_bytes(data))

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
        the market was published (domain: release_publishes)."""
        hold = await self._decide(hold_id, HoldStatus.RELEASED, by, note)
        async with self._lock(hold.fixture_id, hold.phase):
            latest = await self.quote_sets.latest(hold.fixture_id, hold.phase)
            if latest is None or not release_publishes(
                hold, latest, await self.holds.open_markets(hold.fixture_id, hold.phase)
            ):
                return hold, False
            data = published_bytes(released_set(latest.quote_set, hold))
            released = replace(
                latest, data=data, digest=digest_bytes(data), accepted_at=self.clock()
            )
            if self.publish is not None:
                await self.publish(released)
        log.warning(
            "price hold released",
            extra={"hold_id": hold.hold_id, "market_id": hold.market_id, "by": by},
        )
        return hold, True

    async def reject(self, hold_id: str, by: str, note: str) -> PriceHold:
        hold = await self._decide(hold_id, HoldStatus.REJECTED, by, note)
        log.warning(
            "price hold rejected",
            extra={"hold_id": hold.hold_id, "market_id": hold.market_id, "by": by},
        )
        return hold

    async def _decide(self, hold_id: str, status: HoldStatus, by: str, note: str) -> PriceHold:
        check_decision(hold_id, note)
        decided = await self.holds.decide(hold_id, status, by, note, self.clock())
        if decided is not None:
            return decided
        raise undecidable(await self.holds.get(hold_id))
