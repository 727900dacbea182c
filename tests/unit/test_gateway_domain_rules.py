"""The gateway's domain rules on their own, no port involved: which votes a consensus decision
records and how a quarantined replica's probe is judged (domain/gateway.py), which snapshot the
scheduler prices from (domain/scheduler.py), what the guard publishes and when a release
publishes (domain/guard.py), and the canary's verdicts (domain/canary.py). The use cases that
run them: tests/unit/test_gateway_service_layer.py and the guard's and canary's tests."""

from __future__ import annotations

import pytest
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb

from gateway.domain.canary import (
    CanaryPolicy,
    count_move,
    forced,
    inconclusive,
    judge_backtest,
    judge_differences,
)
from gateway.domain.consensus import Decision, Outcome, Reply, Tally, Verdict, Vote
from gateway.domain.gateway import decision_outcome, judge_probe, votes_to_record
from gateway.domain.guard import check_decision, published_set, release_publishes
from gateway.domain.holds import PriceHold
from gateway.domain.model import Accepted, ListedSnapshot, PricedState, fixture_digest
from gateway.domain.scheduler import priced_as_now, quorum_snapshots, snapshot_surface
from service_runtime.errors import InvalidArgument

TENNIS, FOOTBALL = sport_pb2.SPORT_TENNIS, sport_pb2.SPORT_FOOTBALL
CLAY, HARD = sport_pb2.TENNIS_SURFACE_CLAY, sport_pb2.TENNIS_SURFACE_HARD


def votes() -> list[Vote]:
    return [
        Vote("a", "a:1", Outcome.AGREED, "sha256:good", verdict=Verdict.AGREED),
        Vote("b", "b:1", Outcome.AGREED, "sha256:good", verdict=Verdict.AGREED),
        Vote("c", "c:1", Outcome.DISSENTED, "sha256:bad", verdict=Verdict.REPLICA_FAULTY),
        Vote("d", "d:1", Outcome.TIMED_OUT),
    ]


class Client:
    def __init__(self, replica_id: str, engine: str) -> None:
        self.replica_id, self.address, self.engine = replica_id, f"{replica_id}:1", engine

    async def price(self, request: bytes, timeout: float) -> Reply:
        raise AssertionError("the tally asks nobody: the fan-out does")


def answered(replica_id: str, engine: str, digest: str) -> Vote:
    return Vote(replica_id, f"{replica_id}:1", Outcome.AGREED, digest, data=b"x", engine=engine)


def test_the_tally_decides_at_k_identical_outputs_of_two_engines() -> None:
    clients = [Client("a", "grid"), Client("b", "grid"), Client("c", "cdf")]
    tally = Tally(clients, 2, 2)
    assert not tally.take(answered("a", "grid", "sha256:x")) and not tally.decided
    # Two of one engine: a quorum the rule cannot accept; the spare replicas are needed.
    assert tally.take(answered("b", "grid", "sha256:x")) and not tally.decided
    tally.take(answered("c", "cdf", "sha256:x"))
    assert tally.decided and tally.decision.digest == "sha256:x"
    assert tally.decision.engines == ["cdf", "grid"]
    assert tally.taken() == {"a", "b", "c"}


def test_the_tally_relays_k_alike_refusals_and_otherwise_needs_the_others() -> None:
    clients = [Client(r, "") for r in "abc"]
    refused = Tally(clients, 2, 1)
    bad = Vote("a", "a:1", Outcome.FAILED, error="INVALID_ARGUMENT UNKNOWN_PARTICIPANT")
    assert refused.take(bad) and not refused.decided
    refused.take(Vote("b", "b:1", Outcome.FAILED, error="INVALID_ARGUMENT UNKNOWN_PARTICIPANT"))
    assert refused.decided and refused.decision.common_error is not None
    assert refused.decision.common_error.error_reason == "UNKNOWN_PARTICIPANT"
    split = Tally(clients, 2, 1)
    split.take(answered("a", "", "sha256:x"))
    assert split.take(answered("b", "", "sha256:y"))  # a second digest: the others are needed
    split.take(Vote("c", "c:1", Outcome.TIMED_OUT))
    split.close()
    assert not split.decided and split.decision.refusal == "NO_QUORUM"
    # The caller's copy is not the tally's: late answers change only the latter.
    copy = split.answer()
    assert copy is not split.decision and copy.refusal == "NO_QUORUM"


def test_a_clean_acceptance_records_its_faulty_votes_and_a_refusal_every_vote() -> None:
    accepted = Decision(2, 4, votes(), digest="sha256:good", data=b"x")
    assert decision_outcome(accepted) == "ACCEPTED"
    assert [v.replica_id for v in votes_to_record(accepted, "ACCEPTED")] == ["c"]
    partial = Decision(2, 4, votes(), digest="sha256:good", withheld=[("m", "DISAGREED")])
    assert decision_outcome(partial) == "PARTIAL"
    assert len(votes_to_record(partial, "PARTIAL")) == 4
    refused = Decision(2, 4, votes(), refusal="ENGINES_DISAGREE")
    assert decision_outcome(refused) == "ENGINES_DISAGREE"
    assert decision_outcome(Decision(2, 4, votes())) == "NO_QUORUM"
    assert len(votes_to_record(refused, "ENGINES_DISAGREE")) == 4
    # The replicas refused the request alike: the caller's mistake, nothing recorded.
    relayed = Decision(2, 4, votes(), common_error=Reply(error_code="INVALID_ARGUMENT"))
    assert decision_outcome(relayed) == ""
    assert votes_to_record(relayed, "") == []


def test_a_probed_replica_agreeing_earns_its_way_back_and_another_answer_is_outvoted() -> None:
    decision = Decision(2, 4, votes(), digest="sha256:good", data=b"x")
    probe = [
        Vote("q1", "q1:1", Outcome.DISSENTED, "sha256:good"),
        Vote("q2", "q2:1", Outcome.DISSENTED, "sha256:other", data=b"y"),
        Vote("q3", "q3:1", Outcome.TIMED_OUT),
    ]
    judge_probe(decision, probe)
    assert (probe[0].outcome, probe[0].verdict) == (Outcome.AGREED, Verdict.AGREED)
    assert (probe[1].outcome, probe[1].verdict) == (Outcome.DISSENTED, Verdict.REPLICA_FAULTY)
    assert probe[1].outvoted_by == ["a", "b"]
    assert probe[2].outcome == Outcome.TIMED_OUT  # no answer: nothing to judge


def test_the_current_snapshot_is_the_newest_a_quorum_lists_for_the_surface() -> None:
    old, new, clay = (
        ListedSnapshot("sha256:old", HARD),
        ListedSnapshot("sha256:new", HARD),
        (ListedSnapshot("sha256:clay", CLAY)),
    )
    lists = [[clay, new, old], [clay, old], [new, old]]
    # new: two of three; clay: two of three; old: all three. Newest first as the first lists them.
    assert quorum_snapshots(lists, 2, TENNIS, HARD) == ["sha256:new", "sha256:old"]
    assert quorum_snapshots(lists, 3, TENNIS, HARD) == ["sha256:old"]
    assert quorum_snapshots(lists, 2, TENNIS, CLAY) == ["sha256:clay"]
    assert quorum_snapshots(lists, 2, TENNIS, sport_pb2.TENNIS_SURFACE_GRASS) == []
    # An unnamed surface is hard; outside tennis there is no surface at all.
    assert snapshot_surface(TENNIS, sport_pb2.TENNIS_SURFACE_UNSPECIFIED) == HARD
    assert snapshot_surface(FOOTBALL, CLAY) == sport_pb2.TENNIS_SURFACE_UNSPECIFIED


def test_a_price_is_current_only_for_the_same_snapshot_fixture_and_steer() -> None:
    fixture = sport_pb2.Fixture(fixture_id="f1", sport=FOOTBALL)
    state = PricedState("sha256:s", fixture_digest(fixture), 10_500)
    assert priced_as_now(state, "sha256:s", fixture, 10_500)
    assert not priced_as_now(None, "sha256:s", fixture, 10_500)
    assert not priced_as_now(state, "sha256:t", fixture, 10_500)
    assert not priced_as_now(state, "sha256:s", fixture, 0)
    moved = sport_pb2.Fixture(fixture_id="f1", sport=FOOTBALL, neutral_venue=True)
    assert not priced_as_now(state, "sha256:s", moved, 10_500)


def market(market_id: str, odds: int) -> market_pb2.Market:
    return market_pb2.Market(
        market_id=market_id,
        status=market_pb2.MARKET_STATUS_ACTIVE,
        selections=[market_pb2.Selection(selection_id="home", odds_e4=odds)],
    )


def test_a_held_market_keeps_its_last_published_prices_suspended_or_is_left_out() -> None:
    agreed = market_pb2.QuoteSet(
        fixture_id="f1", markets=[market("A", 20_000), market("B", 30_000), market("C", 40_000)]
    )
    published = published_set(agreed, {"B", "C"}, {"B": market("B", 25_000)})
    assert [(m.market_id, m.selections[0].odds_e4, m.status) for m in published.markets] == [
        ("A", 20_000, market_pb2.MARKET_STATUS_ACTIVE),
        ("B", 25_000, market_pb2.MARKET_STATUS_SUSPENDED),
    ]


def test_a_release_publishes_only_into_the_set_it_was_held_from() -> None:
    hold = PriceHold(
        fixture_id="f1",
        sport=FOOTBALL,
        phase=market_pb2.PRICING_PHASE_LIVE,
        market_id="A",
        violations=(),
        snapshot_hash="sha256:s",
        event_sequence=7,
        quote_set_digest="sha256:q",
        held_market=b"",
        published_market=b"",
        held_at=1.0,
    )

    def latest(snapshot: str, sequence: int) -> Accepted:
        data = market_pb2.QuoteSet(
            fixture_id="f1", snapshot_hash=snapshot, event_sequence=sequence
        ).SerializeToString()
        return Accepted(data, "sha256:d", pb.QuorumEvidence(), 1.0, "sha256:f")

    assert release_publishes(hold, latest("sha256:s", 7), set())
    assert not release_publishes(hold, None, set())
    assert not release_publishes(hold, latest("sha256:t", 7), set())  # re-priced from another
    assert not release_publishes(hold, latest("sha256:s", 8), set())  # a later event since
    assert not release_publishes(hold, latest("sha256:s", 7), {"A"})  # another hold holds it


@pytest.mark.parametrize(
    ("hold_id", "note", "reason"),
    [
        ("", "", "HOLD_ID_REQUIRED"),
        ("1" * 19, "", "HOLD_ID_INVALID"),
        ("12a", "", "HOLD_ID_INVALID"),
        ("٣", "", "HOLD_ID_INVALID"),  # a digit, but not an ASCII one
        ("12", "x" * 501, "NOTE_TOO_LONG"),
    ],
)
def test_an_operators_decision_is_checked_before_any_store(
    hold_id: str, note: str, reason: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        check_decision(hold_id, note)
    assert refused.value.reason == reason
    check_decision("1" * 18, "x" * 500)


def test_the_backtest_refuses_a_worse_candidate_only_over_enough_results() -> None:
    policy = CanaryPolicy(min_backtest_matches=3, score_margin_e9=1_000)
    few = pb.SnapshotReview()
    reasons: list[str] = []
    judge_backtest(few, [(9_000, 1_000)] * 2, policy, reasons)
    assert reasons == [] and few.backtest_matches == 2  # inconclusive: noted, not refused
    enough: list[str] = []
    review = pb.SnapshotReview()
    judge_backtest(review, [(3_001, 2_000)] * 3, policy, enough)
    assert (review.candidate_score_e9, review.current_score_e9) == (3_001, 2_000)
    assert len(enough) == 1 and enough[0].startswith("BACKTEST_WORSE")
    within: list[str] = []
    judge_backtest(pb.SnapshotReview(), [(3_000, 2_000)] * 3, policy, within)
    assert within == []  # worse by exactly the margin: allowed


def test_too_many_moved_fixtures_refuse_the_candidate() -> None:
    policy = CanaryPolicy(move_bound_e9=100, max_moved_share_e4=5_000)
    review = pb.SnapshotReview()
    count_move(review, {"m": {"home": 1_000}}, {"m": {"home": 1_150}}, policy)  # moved 150
    count_move(review, {"m": {"home": 1_000}}, {"m": {"home": 1_050}}, policy)  # 50
    assert (review.compared_fixtures, review.moved_fixtures, review.max_move_e9) == (2, 1, 150)
    reasons: list[str] = []
    judge_differences(review, policy, reasons)
    assert reasons == []  # one of two: exactly the allowed share
    count_move(review, {"n": {"away": 500}}, {"n": {"away": 900}}, policy)
    judge_differences(review, policy, reasons)
    assert len(reasons) == 1 and reasons[0].startswith("PRICES_MOVED")
    assert review.max_move_market_id == "n"


def test_an_approval_on_nothing_is_inconclusive_and_a_force_keeps_its_sport() -> None:
    assert inconclusive(pb.SnapshotReview(verdict=pb.SNAPSHOT_VERDICT_APPROVED))
    assert not inconclusive(
        pb.SnapshotReview(verdict=pb.SNAPSHOT_VERDICT_APPROVED, compared_fixtures=1)
    )
    assert not inconclusive(pb.SnapshotReview(verdict=pb.SNAPSHOT_VERDICT_REFUSED))
    known = pb.SnapshotReview(snapshot_hash="sha256:s", sport=FOOTBALL)
    with pytest.raises(InvalidArgument) as mismatch:
        forced(known, TENNIS, "sha256:s", "ops", "", 1.0)
    assert mismatch.value.reason == "SPORT_MISMATCH"
    review = forced(None, TENNIS, "sha256:s", "ops", "by hand", 1.0)
    assert (review.verdict, review.forced_by, review.sport) == (
        pb.SNAPSHOT_VERDICT_FORCED,
        "ops",
        TENNIS,
    )
