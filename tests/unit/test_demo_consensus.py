"""The demo summary reads dissent records as decisions (launcher/demo/consensus.py)."""

from __future__ import annotations

from betmesh.gateway.v1 import consensus_gateway_service_pb2 as pb

from launcher.demo.consensus import explain, summarise


def _record(
    replica: str,
    outcome: pb.VoteOutcome.ValueType,
    verdict: pb.DissentVerdict.ValueType,
    *,
    digest: str = "",
    decision_id: str = "d1",
    decision: str = "NO_QUORUM",
    first_difference: str = "",
    majority: str = "",
) -> pb.Dissent:
    return pb.Dissent(
        fixture_id="md-1-football-d6-1",
        vote=pb.ReplicaVote(
            replica_id=replica,
            outcome=outcome,
            digest=digest,
            first_difference=first_difference,
            error="TIMED_OUT" if not digest else "",
        ),
        majority_digest=majority,
        verdict=verdict,
        decision_id=decision_id,
        decision=decision,
    )


def test_one_refusal_for_lack_of_answers_is_one_decision_and_no_disagreement() -> None:
    """What the demo at load 15-20 recorded: one pre-match call, football-1 answered, the two
    others timed out. Three records, one decision, no replica priced anything differently."""
    records = [
        _record(
            "football-1", pb.VOTE_OUTCOME_DISSENTED, pb.DISSENT_VERDICT_NO_MAJORITY, digest="a"
        ),
        _record("football-2", pb.VOTE_OUTCOME_TIMED_OUT, pb.DISSENT_VERDICT_NO_ANSWER),
        _record("football-3", pb.VOTE_OUTCOME_TIMED_OUT, pb.DISSENT_VERDICT_NO_ANSWER),
    ]
    consensus = summarise(records)
    assert consensus.records == 3
    assert len(consensus.decisions) == 1
    assert consensus.disagreements == []
    assert len(consensus.unanswered) == 1
    text = explain(consensus.decisions[0])
    assert "1 replica answered;" in text
    assert "football-2 TIMED_OUT, football-3 TIMED_OUT" in text
    assert "not a price disagreement" in text
    assert consensus.summary()["disagreements"] == 0


def test_replicas_answering_differently_is_a_disagreement() -> None:
    records = [
        _record(
            "football-1", pb.VOTE_OUTCOME_DISSENTED, pb.DISSENT_VERDICT_NO_MAJORITY, digest="a"
        ),
        _record(
            "football-2",
            pb.VOTE_OUTCOME_DISSENTED,
            pb.DISSENT_VERDICT_NO_MAJORITY,
            digest="b",
            first_difference="f/MATCH_RESULT/home odds_e4 21000 != 21500",
        ),
        _record("football-3", pb.VOTE_OUTCOME_TIMED_OUT, pb.DISSENT_VERDICT_NO_ANSWER),
    ]
    consensus = summarise(records)
    assert len(consensus.disagreements) == 1 and consensus.unanswered == []
    assert "odds_e4 21000 != 21500" in explain(consensus.decisions[0])


def test_an_outvoted_replica_on_an_accepted_set_is_a_disagreement() -> None:
    """A clean acceptance records only the faulty vote: one record, one disagreement."""
    faulty = _record(
        "football-3",
        pb.VOTE_OUTCOME_DISSENTED,
        pb.DISSENT_VERDICT_REPLICA_FAULTY,
        digest="b",
        decision="ACCEPTED",
        majority="a",
        first_difference="f/TOTAL_GOALS/250 payout_e4 9400 != 9500",
    )
    engine_mismatch = _record(
        "football-2",
        pb.VOTE_OUTCOME_ENGINE_MISMATCH,
        pb.DISSENT_VERDICT_REPLICA_FAULTY,
        decision_id="d2",
        decision="ACCEPTED",
    )
    consensus = summarise([faulty, engine_mismatch])
    assert len(consensus.decisions) == 2
    assert len(consensus.disagreements) == 2


def test_records_without_a_decision_id_stand_alone() -> None:
    records = [
        _record(
            "football-2", pb.VOTE_OUTCOME_TIMED_OUT, pb.DISSENT_VERDICT_NO_ANSWER, decision_id=""
        ),
        _record(
            "football-3", pb.VOTE_OUTCOME_TIMED_OUT, pb.DISSENT_VERDICT_NO_ANSWER, decision_id=""
        ),
    ]
    consensus = summarise(records)
    assert len(consensus.decisions) == 2
    assert "no replica answered; no answer from football-2 TIMED_OUT" in explain(
        consensus.decisions[0]
    )
