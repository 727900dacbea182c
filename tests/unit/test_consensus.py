"""The quorum rule on exact bytes, with scripted replicas (pure logic; the integration tests
run the same rule against real replica processes)."""

from __future__ import annotations

import asyncio

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import quote_service_pb2

from gateway.adapters.memory import MemoryDissents, MemoryQuoteSets, memory_units
from gateway.domain.consensus import (
    Decision,
    Outcome,
    Reply,
    Verdict,
    Vote,
    first_difference,
    vote_for,
)
from gateway.domain.replicas import HealthPolicy, ReplicaHealth, ReplicaSetHealth, State
from gateway.service_layer.consensus import ConsensusGateway
from gateway.service_layer.fanout import decide
from service_runtime.digest import digest_bytes


def quote(odds_home: int = 21_000) -> bytes:
    qs = market_pb2.QuoteSet(
        fixture_id="f1",
        markets=[
            market_pb2.Market(
                market_id="f1/MATCH_RESULT",
                selections=[market_pb2.Selection(selection_id="home", odds_e4=odds_home)],
            )
        ],
    )
    return qs.SerializeToString(deterministic=True)


class Scripted:
    def __init__(self, replica_id: str, reply: Reply, delay: float = 0.0, engine: str = "") -> None:
        self.replica_id = replica_id
        self.address = f"test:{replica_id}"
        self.engine = engine
        self.reply = reply
        self.delay = delay
        self.calls = 0

    async def price(self, request: bytes, timeout: float) -> Reply:
        self.calls += 1
        if self.delay > timeout:
            await asyncio.sleep(timeout)
            return Reply(error_code="TIMED_OUT")
        await asyncio.sleep(self.delay)
        return self.reply


def honest(data: bytes) -> Reply:
    return Reply(data=data, claimed_digest=digest_bytes(data))


async def test_two_of_three_identical_outputs_are_accepted() -> None:
    good = quote()
    decision = await decide(
        [
            Scripted("a", honest(good)),
            Scripted("b", honest(good)),
            Scripted("c", honest(quote(22_000)), delay=0.05),
        ],
        b"req",
        2,
        1.0,
    )
    assert decision.accepted and decision.data == good


async def test_wrong_replica_is_outvoted_and_its_difference_explained() -> None:
    good, bad = quote(), quote(25_000)
    done: list[Decision] = []

    async def record(d: Decision) -> None:
        done.append(d)

    decision = await decide(
        [
            Scripted("a", honest(good)),
            Scripted("b", honest(bad)),
            Scripted("c", honest(good), delay=0.01),
        ],
        b"req",
        2,
        1.0,
        record,
    )
    assert decision.data == good
    await asyncio.sleep(0.05)  # the dissent is recorded after the answer, off its path
    (final,) = done
    dissent = next(v for v in final.votes if v.replica_id == "b")
    assert dissent.outcome == Outcome.DISSENTED
    assert dissent.first_difference == "f1/MATCH_RESULT/home odds_e4 25000 != 21000"


async def test_two_wrong_of_three_means_no_price() -> None:
    decision = await decide(
        [
            Scripted("a", honest(quote())),
            Scripted("b", honest(quote(25_000))),
            Scripted("c", honest(quote(26_000))),
        ],
        b"req",
        2,
        1.0,
    )
    assert not decision.accepted
    assert all(v.outcome == Outcome.DISSENTED for v in decision.votes)


async def test_a_false_digest_claim_does_not_count() -> None:
    good = quote()
    liar = Reply(data=quote(30_000), claimed_digest=digest_bytes(good))
    decision = await decide([Scripted("a", honest(good)), Scripted("b", liar)], b"req", 2, 1.0)
    assert not decision.accepted
    assert {v.replica_id: v.outcome for v in decision.votes}["b"] == Outcome.BAD_DIGEST


def test_an_answer_that_does_not_decode_is_a_wrong_answer() -> None:
    garbled = Reply(error_code="MALFORMED", error_message="not a PriceFixtureResponse")
    vote = vote_for(Scripted("b", garbled), garbled, 100)
    assert vote.outcome == Outcome.MALFORMED
    good = digest_bytes(quote())
    decision = Decision(
        2,
        3,
        [
            Vote("a", "a", Outcome.AGREED, good, verdict=Verdict.AGREED),
            vote,
            Vote("c", "c", Outcome.AGREED, good, verdict=Verdict.AGREED),
        ],
        digest=good,
    )
    health = ReplicaSetHealth(1, 2, policy=HealthPolicy(quarantine_after=3, readmit_after=2))
    health.replicas = {r: ReplicaHealth(r, r) for r in ("a", "b", "c")}
    for _ in range(2):
        assert health.record(decision) == []
    assert health.record(decision) == [("b", State.QUARANTINED)]


async def test_quorum_answer_does_not_wait_for_the_slowest() -> None:
    good = quote()
    slow = Scripted("c", honest(good), delay=5.0)
    decision = await asyncio.wait_for(
        decide([Scripted("a", honest(good)), Scripted("b", honest(good)), slow], b"req", 2, 10.0),
        2.0,
    )
    assert decision.accepted
    assert {v.replica_id: v.outcome for v in decision.votes}["c"] == Outcome.NOT_AWAITED


async def test_caller_error_shared_by_a_quorum_is_relayed() -> None:
    refusal = Reply(error_code="INVALID_ARGUMENT", error_reason="UNKNOWN_PARTICIPANT")
    decision = await decide(
        [Scripted("a", refusal), Scripted("b", refusal), Scripted("c", refusal)], b"r", 2, 1.0
    )
    assert decision.common_error is not None
    assert decision.common_error.error_reason == "UNKNOWN_PARTICIPANT"


def test_first_difference_reports_missing_market() -> None:
    empty = market_pb2.QuoteSet(fixture_id="f1").SerializeToString()
    assert first_difference(quote(), empty) == "f1/MATCH_RESULT missing"


async def test_repeated_wrong_answers_quarantine_and_agreement_readmits() -> None:
    health = ReplicaSetHealth(1, 2, policy=HealthPolicy(quarantine_after=2, readmit_after=2))
    health.replicas = {r: ReplicaHealth(r, r) for r in ("a", "b", "c")}
    good = quote()
    outcome_b = Scripted("b", honest(quote(25_000)))
    done: list[Decision] = []

    async def record(d: Decision) -> None:
        done.append(d)

    for _ in range(2):
        done.clear()
        await decide(
            [Scripted("a", honest(good)), outcome_b, Scripted("c", honest(good), delay=0.01)],
            b"r",
            2,
            1.0,
            record,
        )
        await asyncio.sleep(0.05)
        health.record(done[0])
    assert health.replicas["b"].state == State.QUARANTINED
    assert health.counting() == ["a", "c"]
    for _ in range(2):
        d = await decide(
            [Scripted("a", honest(good)), Scripted("b", honest(good)), Scripted("c", honest(good))],
            b"r",
            3,
            1.0,
        )
        health.record(d)
    assert health.replicas["b"].state.value == "HEALTHY"


async def test_quarantine_steps_aside_when_too_few_healthy_replicas_remain() -> None:

    good = quote()
    clients = [Scripted(r, honest(good)) for r in ("a", "b", "c")]
    gateway = ConsensusGateway.create(
        [(sport_pb2.SPORT_FOOTBALL, 2, clients)],
        1.0,
        8,
        HealthPolicy(quarantine_after=1, readmit_after=1),
        (quote_sets := MemoryQuoteSets()),
        MemoryDissents(),
        memory_units(quote_sets),
        min_engines=1,
    )
    health = gateway.replica_sets[sport_pb2.SPORT_FOOTBALL].health
    health.replicas["a"].state = State.QUARANTINED
    health.replicas["b"].state = State.QUARANTINED
    request = quote_service_pb2.PriceFixtureRequest(
        fixture=sport_pb2.Fixture(fixture_id="f1", sport=sport_pb2.SPORT_FOOTBALL),
        snapshot_hash="sha256:x",
    )
    accepted = await gateway.quote(request)
    assert accepted.digest
    await asyncio.sleep(0.05)  # health is recorded after the answer
    assert health.counting() == ["a", "b", "c"]


async def test_a_dissent_that_finished_while_the_quorum_formed_is_still_recorded() -> None:
    good, bad = quote(), quote(25_000)
    done: list[Decision] = []

    async def record(d: Decision) -> None:
        done.append(d)

    # All three answer at once: the wrong one may be complete but unread when the quorum forms.
    for _ in range(20):
        done.clear()
        await decide(
            [Scripted("a", honest(good)), Scripted("b", honest(good)), Scripted("c", honest(bad))],
            b"req",
            2,
            1.0,
            record,
        )
        await asyncio.sleep(0.01)
        (final,) = done
        assert {v.replica_id: v.outcome for v in final.votes}["c"] == Outcome.DISSENTED


async def test_an_operator_quarantine_holds_until_the_operator_readmits() -> None:
    health = ReplicaSetHealth(1, 2, policy=HealthPolicy(quarantine_after=2, readmit_after=1))
    health.replicas = {r: ReplicaHealth(r, r) for r in ("a", "b", "c")}
    assert health.set_by_operator("b", True)
    assert not health.set_by_operator("nobody", True)
    assert health.counting() == ["a", "c"]
    good = quote()
    for _ in range(3):  # agreements readmit a replica the votes quarantined, not this one
        d = await decide([Scripted(r, honest(good)) for r in ("a", "b", "c")], b"r", 3, 1.0)
        health.record(d)
    assert health.replicas["b"].state == State.QUARANTINED
    assert health.set_by_operator("b", False)
    readmitted = health.replicas["b"]
    assert readmitted.state.value == "HEALTHY" and not readmitted.held_by_operator
    assert health.counting() == ["a", "b", "c"]


def test_timeouts_never_quarantine_and_never_excuse_a_wrong_answer() -> None:
    """A replica that gives no answer is unavailable, not wrong; a wrong answer's quarantine
    is exactly as strict with timeouts between the wrong answers."""

    def decision(outcome: Outcome, verdict: Verdict) -> Decision:
        return Decision(
            2,
            3,
            [
                Vote("a", "a", Outcome.AGREED, "d", verdict=Verdict.AGREED),
                Vote("b", "b", outcome, verdict=verdict),
                Vote("c", "c", Outcome.AGREED, "d", verdict=Verdict.AGREED),
            ],
            digest="d",
        )

    timed_out = decision(Outcome.TIMED_OUT, Verdict.NO_ANSWER)
    unreachable = decision(Outcome.UNAVAILABLE, Verdict.NO_ANSWER)
    wrong = decision(Outcome.DISSENTED, Verdict.REPLICA_FAULTY)
    health = ReplicaSetHealth(1, 2, policy=HealthPolicy(quarantine_after=3, readmit_after=2))
    health.replicas = {r: ReplicaHealth(r, r) for r in ("a", "b", "c")}
    for _ in range(10):
        assert health.record(timed_out) == [] and health.record(unreachable) == []
    b = health.replicas["b"]
    assert b.state == State.HEALTHY and b.timed_out_total == 10 and b.consecutive_faults == 0
    assert b.last_outcome == Outcome.UNAVAILABLE and b.last_verdict == Verdict.NO_ANSWER
    # Wrong, no answer, wrong, no answer, wrong: the third wrong answer quarantines, as it
    # would with nothing between them.
    assert health.record(wrong) == [] and health.record(timed_out) == []
    assert health.record(wrong) == [] and health.record(unreachable) == []
    assert health.record(wrong) == [("b", State.QUARANTINED)]
    assert b.dissented_total == 3


def test_a_replica_that_answers_nothing_is_shown_unreachable_until_it_answers() -> None:
    """Three calls in a row that found no gRPC server there (no connection, a socket that says
    nothing, bytes that are not gRPC) and the operator sees it: counted, shown unreachable,
    still counting towards the quorum (it is asked as before). Any answer, a refusal of the
    request or one after the deadline included, ends it; a call it was not awaited for says
    nothing."""

    def decision(outcome: Outcome) -> Decision:
        verdict = Verdict.AGREED if outcome == Outcome.AGREED else Verdict.NO_ANSWER
        return Decision(
            2,
            3,
            [
                Vote("a", "a", Outcome.AGREED, "d", verdict=Verdict.AGREED),
                Vote("b", "b", outcome, "d" if outcome == Outcome.AGREED else "", verdict=verdict),
                Vote("c", "c", Outcome.AGREED, "d", verdict=Verdict.AGREED),
            ],
            digest="d",
        )

    health = ReplicaSetHealth(1, 2)
    health.replicas = {r: ReplicaHealth(r, r) for r in ("a", "b", "c")}
    b = health.replicas["b"]
    health.record(decision(Outcome.UNAVAILABLE))
    health.record(decision(Outcome.TIMED_OUT))  # reached, only slow
    for _ in range(2):
        health.record(decision(Outcome.UNAVAILABLE))
        health.record(decision(Outcome.NOT_AWAITED))
    assert not b.unreachable
    health.record(decision(Outcome.UNAVAILABLE))
    assert b.unreachable and b.unavailable_total == 4 and b.timed_out_total == 1
    assert b.state == State.HEALTHY and "b" in health.counting()
    health.record(decision(Outcome.FAILED))  # it answered: a refusal, but an answer
    assert not b.unreachable
    for _ in range(3):
        health.record(decision(Outcome.UNAVAILABLE))
    assert b.unreachable
    health.record(decision(Outcome.AGREED))
    assert not b.unreachable and b.unavailable_total == 7


def test_a_replica_timing_out_in_a_row_rests_then_one_call_probes_it() -> None:
    def decision(outcome: Outcome) -> Decision:
        return Decision(2, 3, [Vote("b", "b:1", outcome)])

    health = ReplicaSetHealth(1, 2, policy=HealthPolicy(rest_after=3, rest_seconds=10.0))
    health.replicas = {r: ReplicaHealth(r, r) for r in ("a", "b", "c")}
    b = health.replicas["b"]
    # Two timeouts, and an UNAVAILABLE (no wait, no news of its speed) between them: asked.
    health.record(decision(Outcome.TIMED_OUT), now=1.0)
    health.record(decision(Outcome.UNAVAILABLE), now=1.5)
    health.record(decision(Outcome.TIMED_OUT), now=2.0)
    assert health.stepping_aside(2.0) == set() and health.unreachable() == set()
    health.record(decision(Outcome.TIMED_OUT), now=3.0)  # the third in a row
    # Resting, and shown unreachable until it answers (probes and all).
    assert health.stepping_aside(3.0) == {"b"} == health.unreachable()
    assert health.stepping_aside(12.9) == {"b"}
    # Cool-down over: one call asks it (the probe); the calls while it is out do not.
    assert health.stepping_aside(13.0) == set()
    assert health.stepping_aside(13.1) == {"b"} == health.unreachable()
    health.record(decision(Outcome.TIMED_OUT), now=14.0)  # the probe timed out: rests again
    assert health.stepping_aside(23.9) == {"b"} and health.stepping_aside(24.0) == set()
    health.record(decision(Outcome.FAILED), now=24.5)  # it answered (an error): rest over
    assert health.stepping_aside(24.6) == set() and health.unreachable() == set()
    assert b.state == State.HEALTHY and b.consecutive_faults == 0 and b.timed_out_total == 4
    # Resting votes (not asked) change nothing; 0 never rests.
    health.record(decision(Outcome.RESTING), now=25.0)
    assert b.consecutive_timeouts == 0
    never = ReplicaSetHealth(1, 2, policy=HealthPolicy(rest_after=0))
    never.replicas = {"b": ReplicaHealth("b", "b")}
    for n in range(10):
        never.record(decision(Outcome.TIMED_OUT), now=float(n))
    assert never.stepping_aside(10.0) == set()
