"""The snapshot canary's rules: a new model snapshot is reviewed before any replica prices from
it (gateway/service_layer/canary.py runs the reviews).

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

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb
from betmesh.quotes.v1 import quote_service_pb2
from google.protobuf import timestamp_pb2

from service_runtime.errors import InvalidArgument

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


Agree = Callable[[quote_service_pb2.PriceFixtureRequest], Awaitable[market_pb2.QuoteSet]]
Results = Callable[[sport_pb2.Sport.ValueType], Sequence[PastResult]]
FittedAt = Callable[[sport_pb2.Sport.ValueType, str], Awaitable[float | None]]


def _stamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def fixture_for_result(sport: sport_pb2.Sport.ValueType, result: PastResult) -> sport_pb2.Fixture:
    """The fixture a past result is priced as, for the back-test."""
    return sport_pb2.Fixture(
        fixture_id=f"canary-{int(result.kickoff)}-{result.home}-{result.away}"[:200],
        sport=sport,
        home=sport_pb2.Participant(participant_id=result.home),
        away=sport_pb2.Participant(participant_id=result.away),
        start_time=_stamp(result.kickoff),
        best_of_sets=3 if sport == sport_pb2.SPORT_TENNIS else 0,
    )


def unseen_results(
    results: Sequence[PastResult], fitted: Sequence[float | None], policy: CanaryPolicy
) -> list[PastResult]:
    """The most recent results kicked off after both snapshots were fitted, oldest first."""
    after = max((f for f in fitted if f), default=0.0)
    return sorted((r for r in results if r.kickoff >= after), key=lambda r: r.kickoff)[
        -policy.backtest_matches :
    ]


def judge_backtest(
    review: pb.SnapshotReview,
    scores: Sequence[tuple[int, int]],
    policy: CanaryPolicy,
    reasons: list[str],
) -> None:
    """Mean RPS of (candidate, current) per result: worse by more than the margin over enough
    results refuses the candidate (fewer: noted, inconclusive)."""
    review.backtest_matches = len(scores)
    if not scores:
        return
    review.candidate_score_e9 = sum(s[0] for s in scores) // len(scores)
    review.current_score_e9 = sum(s[1] for s in scores) // len(scores)
    if len(scores) < policy.min_backtest_matches:
        return
    if review.candidate_score_e9 > review.current_score_e9 + policy.score_margin_e9:
        reasons.append(
            f"BACKTEST_WORSE: mean RPS {review.candidate_score_e9} against "
            f"{review.current_score_e9} over {len(scores)} results"
        )


def compared_fixture(fixture: sport_pb2.Fixture) -> bool:
    """Only fixtures still to be priced pre-match are compared."""
    return fixture.status in (
        sport_pb2.FIXTURE_STATUS_UNSPECIFIED,
        sport_pb2.FIXTURE_STATUS_SCHEDULED,
    )


Probabilities = dict[str, dict[str, int]]


def count_move(
    review: pb.SnapshotReview, new: Probabilities, old: Probabilities, policy: CanaryPolicy
) -> None:
    """One compared fixture: its largest move of a selection's fair probability, counted as
    moved beyond the bound."""
    review.compared_fixtures += 1
    worst, where = 0, ""
    for market_id, selections in new.items():
        before = old.get(market_id, {})
        for selection, p in selections.items():
            if selection in before and abs(p - before[selection]) > worst:
                worst, where = abs(p - before[selection]), market_id
    if worst > review.max_move_e9:
        review.max_move_e9, review.max_move_market_id = worst, where
    if worst > policy.move_bound_e9:
        review.moved_fixtures += 1


def judge_differences(review: pb.SnapshotReview, policy: CanaryPolicy, reasons: list[str]) -> None:
    """More than the allowed share of compared fixtures moved: the candidate is refused."""
    compared = review.compared_fixtures
    if compared and review.moved_fixtures * 10_000 > policy.max_moved_share_e4 * compared:
        reasons.append(
            f"PRICES_MOVED: {review.moved_fixtures} of {compared} coming fixtures have a "
            f"market moving more than {policy.move_bound_e9} parts per billion "
            f"(largest {review.max_move_e9} on {review.max_move_market_id})"
        )


def conclude(review: pb.SnapshotReview, reasons: Sequence[str], now: float) -> None:
    review.reasons.extend(reasons)
    review.verdict = pb.SNAPSHOT_VERDICT_REFUSED if reasons else pb.SNAPSHOT_VERDICT_APPROVED
    review.reviewed_at.CopyFrom(_stamp(now))


def inconclusive(review: pb.SnapshotReview) -> bool:
    """Approved on nothing (no coming fixture, replicas without a quorum): not a pass. Left
    unreviewed, the candidate is tried again on the next pass."""
    return review.verdict == pb.SNAPSHOT_VERDICT_APPROVED and not (
        review.compared_fixtures or review.backtest_matches
    )


def baseline(sport: sport_pb2.Sport.ValueType, snapshot_hash: str, now: float) -> pb.SnapshotReview:
    """The sport's first snapshot under the canary: nothing to compare it with."""
    return pb.SnapshotReview(
        snapshot_hash=snapshot_hash,
        sport=sport,
        verdict=pb.SNAPSHOT_VERDICT_BASELINE,
        reviewed_at=_stamp(now),
    )


def check_force_note(note: str) -> None:
    if len(note) > 500:
        raise InvalidArgument("NOTE_TOO_LONG", "note must be at most 500 characters")


def forced(
    known: pb.SnapshotReview | None,
    sport: sport_pb2.Sport.ValueType,
    snapshot_hash: str,
    by: str,
    note: str,
    now: float,
) -> pb.SnapshotReview:
    """An operator's force of a snapshot of `sport`, over its review if it had one."""
    review = known or pb.SnapshotReview(snapshot_hash=snapshot_hash, sport=sport)
    if review.sport != sport:
        raise InvalidArgument("SPORT_MISMATCH", "the snapshot was reviewed for another sport")
    review.verdict = pb.SNAPSHOT_VERDICT_FORCED
    review.forced_by = by
    review.note = note
    review.reviewed_at.CopyFrom(_stamp(now))
    return review
