"""The integrity guard at the point where an agreed quote set becomes published.

Every set a quorum agreed on (pre-match, and live sets priced for services/live) passes
`PriceGuard.screen` before it is stored and announced on `quotes.accepted`, the one path to bets
and to the odds stream. Markets that break a rule of `integrity.py`, or that an open hold still
holds, are not published: the published set carries the market's last published prices with
status SUSPENDED (live and pre-match alike: bets refuses it, the stream shows a bet stop), or
omits it when it was never published. Each new violation is one hold per market, stored with its
evidence, counted and logged for the operator, who releases it (the held prices are published)
or rejects it (they never are) through the gateway's RPCs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from betmesh.common.v1 import game_state_pb2, market_pb2

from gateway.domain.holds import HoldRepository, HoldStatus, PriceHold
from gateway.domain.integrity import (
    GuardPolicy,
    MoveBound,
    Violation,
    check_coherence,
    check_moves,
    live_bound,
    pre_match_bound,
)
from gateway.domain.ports import Accepted, QuoteSetRepository
from service_runtime.digest import canonical_bytes, digest_bytes
from service_runtime.errors import FailedPrecondition, InvalidArgument, NotFound

log = logging.getLogger(__name__)

LIVE = market_pb2.PRICING_PHASE_LIVE
PRE_MATCH = market_pb2.PRICING_PHASE_PRE_MATCH
MAX_NOTE = 500
LOCK_STRIPES = 64

SnapshotVetted = Callable[[str], Awaitable[bool]]
OnHold = Callable[[PriceHold], None]


def published_bytes(quote_set: market_pb2.QuoteSet) -> bytes:
    """Canonical bytes of a published set: markets by market_id, as replicas write them."""
    quote_set.markets.sort(key=lambda m: m.market_id)
    return canonical_bytes(quote_set)


def evidence_json(violations: tuple[Violation, ...]) -> str:
    return json.dumps(
        [{"rule": v.rule, "detail": v.detail, "values": v.values} for v in violations],
        sort_keys=True,
    )


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
        violations = check_coherence(agreed, self.policy)
        # A move an operator released since the last publish is not held again.
        violations += [
            v for v in check_moves(agreed, compared, bound) if v.market_id not in vouched
        ]
        by_market: dict[str, list[Violation]] = defaultdict(list)
        for violation in violations:
            by_market[violation.market_id].append(violation)
        held = set(by_market) | already
        if not held & {m.market_id for m in agreed.markets}:
            return accepted
        published_before = (
            {m.market_id: m for m in previous.quote_set.markets} if previous is not None else {}
        )
        agreed_markets = {m.market_id: m for m in agreed.markets}
        now = self.clock()
        fresh = [
            PriceHold(
                fixture_id=agreed.fixture_id,
                sport=agreed.sport,
                phase=agreed.phase,
                market_id=market_id,
                violations=tuple(found),
                snapshot_hash=agreed.snapshot_hash,
                event_sequence=agreed.event_sequence,
                quote_set_digest=accepted.digest,
                held_market=canonical_bytes(agreed_markets[market_id]),
                published_market=canonical_bytes(published_before[market_id])
                if market_id in published_before
                else b"",
                held_at=now,
            )
            for market_id, found in sorted(by_market.items())
            if market_id not in already and market_id in agreed_markets
        ]
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
        published = market_pb2.QuoteSet()
        published.CopyFrom(agreed)
        del published.markets[:]
        for market in agreed.markets:
            if market.market_id not in held:
                published.markets.append(market)
                continue
            before = published_before.get(market.market_id)
            if before is not None:
                kept = published.markets.add()
                kept.CopyFrom(before)
                kept.status = market_pb2.MARKET_STATUS_SUSPENDED
        data = published_bytes(published)
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
                return live_bound(self.policy, before, state), _markets(previous)
            # The first live price continues the pre-match one.
            pre = await self.quote_sets.latest(agreed.fixture_id, PRE_MATCH)
            return live_bound(self.policy, None, state), _markets(pre)
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
        return bound, _markets(previous)

    # ---- the operator's decisions -----------------------------------------------------------

    async def release(self, hold_id: str, by: str, note: str) -> tuple[PriceHold, bool]:
        """Closes the hold and publishes its market as agreed. Returns the hold and whether
        the market was published (not when the fixture was re-priced from another snapshot or
        event since, or another hold of the fixture still holds it)."""
        hold = await self._decide(hold_id, HoldStatus.RELEASED, by, note)
        async with self._lock(hold.fixture_id, hold.phase):
            latest = await self.quote_sets.latest(hold.fixture_id, hold.phase)
            if (
                latest is None
                or latest.quote_set.snapshot_hash != hold.snapshot_hash
                or latest.quote_set.event_sequence != hold.event_sequence
                or hold.market_id in await self.holds.open_markets(hold.fixture_id, hold.phase)
            ):
                return hold, False
            market = market_pb2.Market.FromString(hold.held_market)
            published = market_pb2.QuoteSet()
            published.CopyFrom(latest.quote_set)
            kept = [m for m in published.markets if m.market_id != hold.market_id]
            del published.markets[:]
            published.markets.extend(kept)
            published.markets.append(market)
            data = published_bytes(published)
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
        if not hold_id:
            raise InvalidArgument("HOLD_ID_REQUIRED", "hold_id is required")
        # Ids are BIGSERIALs: at most 18 digits (anything longer is not ours, and must not
        # reach the database as an out-of-range number).
        if len(hold_id) > 18 or not hold_id.isascii() or not hold_id.isdigit():
            raise InvalidArgument("HOLD_ID_INVALID", "hold_id is not one this gateway issued")
        if len(note) > MAX_NOTE:
            raise InvalidArgument("NOTE_TOO_LONG", f"note must be at most {MAX_NOTE} characters")
        decided = await self.holds.decide(hold_id, status, by, note, self.clock())
        if decided is not None:
            return decided
        known = await self.holds.get(hold_id)
        if known is None:
            raise NotFound("HOLD_NOT_FOUND", "no price hold with this id")
        raise FailedPrecondition(
            "HOLD_ALREADY_DECIDED",
            f"the hold was already {known.status.value.lower()}",
            {"status": known.status.value},
        )


def _markets(accepted: Accepted | None) -> dict[str, market_pb2.Market]:
    return {m.market_id: m for m in accepted.quote_set.markets} if accepted is not None else {}
