"""The snapshot canary: a new model snapshot is reviewed before any replica prices from it.

The scheduler's current snapshot of a sport is the newest one a quorum of replicas know AND the
canary let through (approved, the sport's first one as a baseline, or forced by an operator);
pinned snapshots are the operator's own choice and are not reviewed. A review compares the
candidate with the current snapshot, both priced through consensus without anything being
stored or published (`ConsensusGateway.agree`):

1. Back-test: the most recent results (configured results file) kicked off after both snapshots
   were fitted, priced as a match-result market by each; the mean ranked probability score
   (RPS) of the candidate must not be worse than the current one's by more than the margin.
2. Price-difference report: the coming fixtures of the sport, priced by each; a fixture
   "moved" when some market's fair probability moved more than the bound. When more than the
   allowed share of fixtures moved, the candidate is refused; otherwise the large moves are
   held for review by the integrity guard when the candidate is priced.

A refused snapshot stays refused (its verdict is stored) until an operator forces it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2
from google.protobuf import timestamp_pb2

from gateway.domain.ports import FixtureRepository, QuoteSetRepository
from service_runtime.errors import DomainError, InvalidArgument

log = logging.getLogger(__name__)

E9 = 1_000_000_000
LETTING_THROUGH = frozenset(
    {pb.SNAPSHOT_VERDICT_APPROVED, pb.SNAPSHOT_VERDICT_BASELINE, pb.SNAPSHOT_VERDICT_FORCED}
)
VETTED = frozenset({pb.SNAPSHOT_VERDICT_APPROVED, pb.SNAPSHOT_VERDICT_BASELINE})
# The market each sport's back-test scores, with its outcomes in rank order.
WINNER = {
    sport_pb2.SPORT_FOOTBALL: (market_pb2.MARKET_TYPE_MATCH_RESULT, ("home", "draw", "away")),
    sport_pb2.SPORT_TENNIS: (market_pb2.MARKET_TYPE_MATCH_WINNER, ("home", "away")),
    sport_pb2.SPORT_BASKETBALL: (market_pb2.MARKET_TYPE_MONEYLINE, ("home", "away")),
}


@dataclass(frozen=True)
class PastResult:
    kickoff: float  # epoch seconds
    home: str  # participant ids
    away: str
    home_score: int
    away_score: int


@dataclass(frozen=True)
class CanaryPolicy:
    # A candidate's mean RPS may exceed the current one's by at most this (parts per billion).
    score_margin_e9: int = 5_000_000
    backtest_matches: int = 100
    # Fewer priced matches than this: the back-test is inconclusive (noted, not a refusal).
    min_backtest_matches: int = 10
    # The price-difference report: a market moving more than this is a large move...
    move_bound_e9: int = 100_000_000
    # ... and more than this share of the compared fixtures with one refuses the snapshot.
    max_moved_share_e4: int = 2_500
    compare_fixtures: int = 50
    horizon_days: int = 7


def rps_e9(probabilities: Sequence[int], outcome: int) -> int:
    """Ranked probability score of ordered outcomes (0 perfect, 1 worst), parts per billion."""
    total = sum(probabilities) or 1
    cumulative = 0
    score = 0
    for index, p in enumerate(probabilities[:-1]):
        cumulative += p * E9 // total
        observed = E9 if outcome <= index else 0
        score += (cumulative - observed) ** 2
    return score // (E9 * max(len(probabilities) - 1, 1))


def outcome_index(sport: sport_pb2.Sport.ValueType, result: PastResult) -> int:
    if result.home_score > result.away_score:
        return 0
    if result.home_score < result.away_score:
        return len(WINNER[sport][1]) - 1
    return 1


class ReviewRepository(Protocol):
    async def get(self, snapshot_hash: str) -> pb.SnapshotReview | None: ...

    async def save(self, review: pb.SnapshotReview) -> None: ...

    async def list(
        self, sport: sport_pb2.Sport.ValueType, limit: int, offset: int
    ) -> list[pb.SnapshotReview]: ...


Agree = Callable[[quote_service_pb2.PriceFixtureRequest], Awaitable[market_pb2.QuoteSet]]
Results = Callable[[sport_pb2.Sport.ValueType], Sequence[PastResult]]
FittedAt = Callable[[sport_pb2.Sport.ValueType, str], Awaitable[float | None]]


def _stamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


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
                # The sport's first snapshot under the canary: nothing to compare it with.
                if all(v is None for v in verdicts):
                    await self._save(
                        pb.SnapshotReview(
                            snapshot_hash=newest_first[0],
                            sport=sport,
                            verdict=pb.SNAPSHOT_VERDICT_BASELINE,
                            reviewed_at=_stamp(self.clock()),
                        )
                    )
                    return newest_first[0]
                return ""
            current = newest_first[current_index]
            for index in range(current_index):
                if verdicts[index] is not None:
                    continue  # refused before: stays refused until forced
                candidate = newest_first[index]
                review = await self.review(sport, candidate, current)
                if review.verdict == pb.SNAPSHOT_VERDICT_APPROVED and not (
                    review.compared_fixtures or review.backtest_matches
                ):
                    # Nothing could be priced to compare (no coming fixture, replicas without a
                    # quorum): not a pass. Left unreviewed, it is tried again on the next pass.
                    log.warning("snapshot canary inconclusive", extra={"snapshot_hash": candidate})
                    continue
                await self._save(review)
                if review.verdict == pb.SNAPSHOT_VERDICT_APPROVED:
                    return candidate
            return current

    async def force(
        self, sport: sport_pb2.Sport.ValueType, snapshot_hash: str, by: str, note: str
    ) -> pb.SnapshotReview:
        if len(note) > 500:
            raise InvalidArgument("NOTE_TOO_LONG", "note must be at most 500 characters")
        async with self._lock:
            review = await self.reviews.get(snapshot_hash) or pb.SnapshotReview(
                snapshot_hash=snapshot_hash, sport=sport
            )
            if review.sport != sport:
                raise InvalidArgument(
                    "SPORT_MISMATCH", "the snapshot was reviewed for another sport"
                )
            review.verdict = pb.SNAPSHOT_VERDICT_FORCED
            review.forced_by = by
            review.note = note
            review.reviewed_at.CopyFrom(_stamp(self.clock()))
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
    ) -> dict[str, dict[str, int]] | None:
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
        review.reasons.extend(reasons)
        review.verdict = pb.SNAPSHOT_VERDICT_REFUSED if reasons else pb.SNAPSHOT_VERDICT_APPROVED
        review.reviewed_at.CopyFrom(_stamp(self.clock()))
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
        if sport not in WINNER:
            return
        market_type, outcomes = WINNER[sport]
        fitted = [await self.fitted_at(sport, h) for h in (candidate, current)]
        after = max((f for f in fitted if f), default=0.0)
        unseen = sorted(
            (r for r in self.results(sport) if r.kickoff >= after), key=lambda r: r.kickoff
        )[-self.policy.backtest_matches :]
        scores: list[tuple[int, int]] = []
        for result in unseen:
            fixture = sport_pb2.Fixture(
                fixture_id=f"canary-{int(result.kickoff)}-{result.home}-{result.away}"[:200],
                sport=sport,
                home=sport_pb2.Participant(participant_id=result.home),
                away=sport_pb2.Participant(participant_id=result.away),
                start_time=_stamp(result.kickoff),
                best_of_sets=3 if sport == sport_pb2.SPORT_TENNIS else 0,
            )
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
        review.backtest_matches = len(scores)
        if not scores:
            return
        review.candidate_score_e9 = sum(s[0] for s in scores) // len(scores)
        review.current_score_e9 = sum(s[1] for s in scores) // len(scores)
        if len(scores) < self.policy.min_backtest_matches:
            return
        if review.candidate_score_e9 > review.current_score_e9 + self.policy.score_margin_e9:
            reasons.append(
                f"BACKTEST_WORSE: mean RPS {review.candidate_score_e9} against "
                f"{review.current_score_e9} over {len(scores)} results"
            )

    async def _differences(
        self,
        sport: sport_pb2.Sport.ValueType,
        candidate: str,
        current: str,
        review: pb.SnapshotReview,
        reasons: list[str],
    ) -> None:
        now = datetime.fromtimestamp(self.clock(), UTC)
        coming = await self.fixtures.list(
            [sport],
            now,
            now + timedelta(days=self.policy.horizon_days),
            self.policy.compare_fixtures,
            0,
        )
        for fixture in coming:
            if fixture.status not in (
                sport_pb2.FIXTURE_STATUS_UNSPECIFIED,
                sport_pb2.FIXTURE_STATUS_SCHEDULED,
            ):
                continue
            new = await self._probabilities(
                quote_service_pb2.PriceFixtureRequest(fixture=fixture, snapshot_hash=candidate)
            )
            old = await self._probabilities(
                quote_service_pb2.PriceFixtureRequest(fixture=fixture, snapshot_hash=current)
            )
            if new is None or old is None:
                continue
            review.compared_fixtures += 1
            worst, where = 0, ""
            for market_id, selections in new.items():
                before = old.get(market_id, {})
                for selection, p in selections.items():
                    if selection in before and abs(p - before[selection]) > worst:
                        worst, where = abs(p - before[selection]), market_id
            if worst > review.max_move_e9:
                review.max_move_e9, review.max_move_market_id = worst, where
            if worst > self.policy.move_bound_e9:
                review.moved_fixtures += 1
        compared = review.compared_fixtures
        if compared and review.moved_fixtures * 10_000 > self.policy.max_moved_share_e4 * compared:
            reasons.append(
                f"PRICES_MOVED: {review.moved_fixtures} of {compared} coming fixtures have a "
                f"market moving more than {self.policy.move_bound_e9} parts per billion "
                f"(largest {review.max_move_e9} on {review.max_move_market_id})"
            )
