"""The snapshot canary as a use case: reviews each new snapshot a quorum of replicas know
before the scheduler prices from it, priced through consensus without anything stored or
published (`ConsensusGateway.agree`), and records the verdicts; operators force a snapshot
past it. What a review compares and decides: gateway/domain/canary.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from betmesh.common.v1 import sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2

from gateway.domain.canary import (
    LETTING_THROUGH,
    VETTED,
    WINNER,
    Agree,
    CanaryPolicy,
    FittedAt,
    Probabilities,
    Results,
    baseline,
    check_force_note,
    compared_fixture,
    conclude,
    count_move,
    fixture_for_result,
    forced,
    inconclusive,
    judge_backtest,
    judge_differences,
    outcome_index,
    rps_e9,
    unseen_results,
)
from gateway.domain.ports import FixtureRepository, QuoteSetRepository, ReviewRepository
from service_runtime.errors import DomainError

log = logging.getLogger(__name__)


@dataclass
class SnapshotCanary:
    policy: CanaryPolicy
    reviews: ReviewRepository
    agree: Agree
    fixtures: FixtureRepository
    quote_sets: QuoteSetRepository
    results: Results
    fitted_at: FittedAt
    clock: Callable[[], float] = time.time
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _verdicts: dict[str, int] = field(default_factory=dict)

    async def verdict(self, snapshot_hash: str) -> int | None:
        known = self._verdicts.get(snapshot_hash)
        if known is not None:
            return known
        review = await self.reviews.get(snapshot_hash)
        if review is None:
            return None
        self._verdicts[snapshot_hash] = review.verdict
        return review.verdict

    async def vetted(self, snapshot_hash: str) -> bool:
        return await self.verdict(snapshot_hash) in VETTED

    async def current(self, sport: sport_pb2.Sport.ValueType, newest_first: Sequence[str]) -> str:
        """The snapshot to price from among those a quorum knows (newest first), reviewing the
        ones newer than the current one on the way; "" when none may be priced from."""
        async with self._lock:
            verdicts = [await self.verdict(h) for h in newest_first]
            current_index = next((i for i, v in enumerate(verdicts) if v in LETTING_THROUGH), None)
            if current_index is None:
                if not newest_first:
                    return ""
                if all(v is None for v in verdicts):
                    await self._save(baseline(sport, newest_first[0], self.clock()))
                    return newest_first[0]
                return ""
            current = newest_first[current_index]
            for index in range(current_index):
                if verdicts[index] is not None:
                    continue  # refused before: stays refused until forced
                candidate = newest_first[index]
                review = await self.review(sport, candidate, current)
                if inconclusive(review):
                    log.warning("snapshot canary inconclusive", extra={"snapshot_hash": candidate})
                    continue
                await self._save(review)
                if review.verdict == pb.SNAPSHOT_VERDICT_APPROVED:
                    return candidate
            return current

    async def force(
        self, sport: sport_pb2.Sport.ValueType, snapshot_hash: str, by: str, note: str
    ) -> pb.SnapshotReview:
        check_force_note(note)
        async with self._lock:
            review = forced(
                await self.reviews.get(snapshot_hash), sport, snapshot_hash, by, note, self.clock()
            )
            await self._save(review)
        log.warning(
            "snapshot forced past the canary",
            extra={"snapshot_hash": snapshot_hash, "by": by},
        )
        return review

    async def _save(self, review: pb.SnapshotReview) -> None:
        await self.reviews.save(review)
        self._verdicts[review.snapshot_hash] = review.verdict

    async def _probabilities(
        self, request: quote_service_pb2.PriceFixtureRequest
    ) -> Probabilities | None:
        try:
            quote_set = await self.agree(request)
        except DomainError as exc:  # an unknown team, no quorum: this fixture is not compared
            log.info("canary could not price", extra={"reason": exc.reason})
            return None
        return {
            m.market_id: {s.selection_id: s.probability_e9 for s in m.selections}
            for m in quote_set.markets
        }

    async def review(
        self, sport: sport_pb2.Sport.ValueType, candidate: str, current: str
    ) -> pb.SnapshotReview:
        review = pb.SnapshotReview(
            snapshot_hash=candidate, sport=sport, current_snapshot_hash=current
        )
        reasons: list[str] = []
        await self._backtest(sport, candidate, current, review, reasons)
        await self._differences(sport, candidate, current, review, reasons)
        conclude(review, reasons, self.clock())
        log.warning(
            "snapshot canary verdict",
            extra={
                "snapshot_hash": candidate,
                "verdict": pb.SnapshotVerdict.Name(review.verdict),
                "reasons": "; ".join(reasons),
            },
        )
        return review

    async def _backtest(
        self,
        sport: sport_pb2.Sport.ValueType,
        candidate: str,
        current: str,
        review: pb.SnapshotReview,
        reasons: list[str],
    ) -> None:
        """Each snapshot prices the results neither was fitted on; scored by the domain."""
        if sport not in WINNER:
            return
        market_type, outcomes = WINNER[sport]
        fitted = [await self.fitted_at(sport, h) for h in (candidate, current)]
        scores: list[tuple[int, int]] = []
        for result in unseen_results(self.results(sport), fitted, self.policy):
            fixture = fixture_for_result(sport, result)
            pair = []
            for snapshot in (candidate, current):
                priced = await self._probabilities(
                    quote_service_pb2.PriceFixtureRequest(
                        fixture=fixture, snapshot_hash=snapshot, market_types=[market_type]
                    )
                )
                market = next(iter(priced.values()), None) if priced else None
                if market is None:
                    break
                pair.append(
                    rps_e9([market.get(o, 0) for o in outcomes], outcome_index(sport, result))
                )
            if len(pair) == 2:
                scores.append((pair[0], pair[1]))
        judge_backtest(review, scores, self.policy, reasons)

    async def _differences(
        self,
        sport: sport_pb2.Sport.ValueType,
        candidate: str,
        current: str,
        review: pb.SnapshotReview,
        reasons: list[str],
    ) -> None:
        """The coming fixtures priced by each snapshot; the moves judged by the domain."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        coming = await self.fixtures.list(
            [sport],
            now,
            now + timedelta(days=self.policy.horizon_days),
            self.policy.compare_fixtures,
            0,
        )
        for fixture in coming:
            if not compared_fixture(fixture):
                continue
            new = await self._probabilities(
                quote_service_pb2.PriceFixtureRequest(fixture=fixture, snapshot_hash=candidate)
            )
            old = await self._probabilities(
                quote_service_pb2.PriceFixtureRequest(fixture=fixture, snapshot_hash=current)
            )
            if new is None or old is None:
                continue
            count_move(review, new, old, self.policy)
        judge_differences(review, self.policy, reasons)
