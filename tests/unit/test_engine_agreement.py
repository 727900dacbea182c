"""The agreement rule across engines (gateway/domain/agreement.py, consensus.decide) and the
records it leaves, with scripted replicas answering real quote sets of the pricing code. The
fault tests against real replica processes are in tests/e2e/test_engine_faults.py."""

from __future__ import annotations

import asyncio

from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.quotes.v1 import quote_service_pb2

from gateway.adapters.memory import MemoryDissents, MemoryQuoteSets, memory_units
from gateway.domain.agreement import markets_agree
from gateway.domain.consensus import Outcome, Reply, Verdict
from gateway.domain.gateway import NoQuorum
from gateway.domain.replicas import HealthPolicy, State
from gateway.service_layer.consensus import ConsensusGateway
from gateway.service_layer.fanout import decide
from service_runtime.digest import digest_bytes
from services.quotes.domain.pricing import canonicalise, price_fixture
from services.quotes.domain.snapshots import snapshot_hash
from tests.support.demo_snapshots import demo_football_snapshot
from tests.unit.test_consensus import Scripted

FIXTURE = sport_pb2.Fixture(
    fixture_id="f1",
    sport=sport_pb2.SPORT_FOOTBALL,
    home=sport_pb2.Participant(participant_id="fb:liverpool"),
    away=sport_pb2.Participant(participant_id="fb:man-city"),
)
REQUEST = quote_service_pb2.PriceFixtureRequest(fixture=FIXTURE, snapshot_hash="sha256:x")


def priced(engine: str) -> market_pb2.QuoteSet:
    snapshot = demo_football_snapshot()
    return price_fixture(
        FIXTURE, snapshot, snapshot_hash(snapshot), [], None, sport_pb2.SPORT_FOOTBALL, engine
    )


def answer(quote_set: market_pb2.QuoteSet, engine: str) -> Reply:
    data = canonicalise(quote_set)
    return Reply(data=data, claimed_digest=digest_bytes(data), engine=engine)


def skewed(quote_set: market_pb2.QuoteSet) -> market_pb2.QuoteSet:
    """The `skew-odds` fault: the first offered price one tick too generous."""
    wrong = market_pb2.QuoteSet()
    wrong.CopyFrom(quote_set)
    canonicalise(wrong)
    wrong.markets[0].selections[0].odds_e4 += 100
    return wrong


HONEST_A, HONEST_B = priced("dc-grid"), priced("dc-direct")
SKEWED_MARKET = min(m.market_id for m in HONEST_A.markets)


def gateway(clients: list[Scripted], quarantine_after: int = 2) -> ConsensusGateway:
    return ConsensusGateway.create(
        [(sport_pb2.SPORT_FOOTBALL, 2, clients)],
        1.0,
        8,
        HealthPolicy(quarantine_after=quarantine_after, readmit_after=1),
        (quote_sets := MemoryQuoteSets()),
        MemoryDissents(),
        memory_units(quote_sets),
    )


def test_the_two_football_engines_answer_identical_bytes() -> None:
    assert canonicalise(HONEST_A) == canonicalise(HONEST_B)


async def test_identical_bytes_of_one_engine_are_not_enough() -> None:
    a = [Scripted(r, answer(HONEST_A, "dc-grid"), engine="dc-grid") for r in ("a1", "a2")]
    decision = await decide(a, b"req", 2, 1.0, min_engines=2)
    assert not decision.accepted
    assert decision.refusal == "SINGLE_ENGINE"
    both = [*a, Scripted("b1", answer(HONEST_B, "dc-direct"), engine="dc-direct")]
    decision = await decide(both, b"req", 2, 1.0, min_engines=2)
    assert decision.accepted and decision.engines == ["dc-direct", "dc-grid"]
    assert not decision.withheld


async def test_one_engines_agreement_is_recorded_as_too_few_engines_not_as_a_dissent() -> None:
    alone = [Scripted(r, answer(HONEST_A, "dc-grid"), engine="dc-grid") for r in ("a1", "a2")]
    refused = await decide(alone, b"req", 2, 1.0, min_engines=2)
    assert refused.refusal == "SINGLE_ENGINE"
    assert {(v.outcome, v.verdict) for v in refused.votes} == {
        (Outcome.TOO_FEW_ENGINES, Verdict.UNCONFIRMED)
    }
    # Contradicted by the other engine on every market (a price one tick off everywhere): the
    # majority still agreed among itself; only the other engine's replica dissented.
    other = market_pb2.QuoteSet()
    other.CopyFrom(HONEST_B)
    canonicalise(other)
    for market in other.markets:
        market.selections[0].odds_e4 += 100
    contradicted = [*alone, Scripted("b1", answer(other, "dc-direct"), engine="dc-direct")]
    refused = await decide(contradicted, b"req", 2, 1.0, min_engines=2)
    assert refused.refusal == "ENGINES_DISAGREE"
    assert {v.replica_id: (v.outcome, v.verdict) for v in refused.votes} == {
        "a1": (Outcome.TOO_FEW_ENGINES, Verdict.UNCONFIRMED),
        "a2": (Outcome.TOO_FEW_ENGINES, Verdict.UNCONFIRMED),
        "b1": (Outcome.DISSENTED, Verdict.MAJORITY_SUSPECT),
    }


async def test_one_engine_identically_wrong_publishes_nothing_wrong_and_quarantines_nobody() -> (
    None
):
    wrong = answer(skewed(HONEST_A), "dc-grid")
    clients = [
        Scripted("a1", wrong, engine="dc-grid"),
        Scripted("a2", wrong, engine="dc-grid"),
        Scripted("b1", answer(HONEST_B, "dc-direct"), engine="dc-direct"),
    ]
    mesh = gateway(clients)
    for _ in range(5):
        accepted = await mesh.quote(REQUEST)
    published = {m.market_id: m for m in accepted.quote_set.markets}
    wrong_market = published[SKEWED_MARKET]
    # The market they disagree on is withheld: suspended, no price at all.
    assert wrong_market.status == market_pb2.MARKET_STATUS_SUSPENDED
    assert all(s.odds_e4 == 0 for s in wrong_market.selections)
    assert [(w.market_id, w.reason) for w in accepted.evidence.withheld] == [
        (SKEWED_MARKET, "ENGINES_DISAGREE")
    ]
    # Every other market is published at the honest price.
    honest = {m.market_id: m for m in HONEST_B.markets}
    for market_id, market in published.items():
        if market_id != SKEWED_MARKET:
            assert market == honest[market_id]
    await asyncio.sleep(0.05)
    health = mesh.replica_sets[sport_pb2.SPORT_FOOTBALL].health.replicas
    assert health["b1"].state == State.HEALTHY
    assert health["b1"].dissented_total == 0
    assert health["b1"].majority_suspect_total == 5
    assert health["b1"].last_verdict == Verdict.MAJORITY_SUSPECT
    records = await mesh.dissents.list(sport_pb2.SPORT_FOOTBALL, 100, 0)
    # Partial decisions are recorded with every vote.
    assert len(records) == 15
    b1 = [r for r in records if r.vote.replica_id == "b1"]
    assert {r.verdict for r in b1} == {"MAJORITY_SUSPECT"}
    assert b1[0].outvoted_by == ("a1", "a2") and b1[0].decision == "PARTIAL"
    assert {r.verdict for r in records if r.vote.replica_id != "b1"} == {"UNCONFIRMED"}


async def test_a_replica_outvoted_by_two_engines_is_faulty_and_quarantined() -> None:
    clients = [
        Scripted("a1", answer(skewed(HONEST_A), "dc-grid"), engine="dc-grid"),
        Scripted("a2", answer(HONEST_A, "dc-grid"), engine="dc-grid", delay=0.01),
        Scripted("b1", answer(HONEST_B, "dc-direct"), engine="dc-direct", delay=0.01),
    ]
    mesh = gateway(clients)
    for _ in range(3):
        accepted = await mesh.quote(REQUEST)
        assert accepted.data == canonicalise(HONEST_A)
        await asyncio.sleep(0.05)
    health = mesh.replica_sets[sport_pb2.SPORT_FOOTBALL].health.replicas
    assert health["a1"].state == State.QUARANTINED
    records = await mesh.dissents.list(sport_pb2.SPORT_FOOTBALL, 100, 0)
    assert {(r.vote.replica_id, r.verdict, r.outvoted_by) for r in records} == {
        ("a1", "REPLICA_FAULTY", ("a2", "b1"))
    }


async def test_one_engine_down_says_single_engine() -> None:
    clients = [
        Scripted("a1", answer(HONEST_A, "dc-grid"), engine="dc-grid"),
        Scripted("a2", answer(HONEST_A, "dc-grid"), engine="dc-grid"),
        Scripted("b1", Reply(error_code="UNAVAILABLE"), engine="dc-direct"),
    ]
    mesh = gateway(clients)
    try:
        await mesh.quote(REQUEST)
        raise AssertionError("published with one engine")
    except NoQuorum as refusal:
        assert refusal.reason == "SINGLE_ENGINE" and refusal.code == "UNAVAILABLE"
    await asyncio.sleep(0.05)
    records = await mesh.dissents.list(sport_pb2.SPORT_FOOTBALL, 100, 0)
    assert sorted((r.vote.replica_id, r.verdict) for r in records) == [
        ("a1", "UNCONFIRMED"),
        ("a2", "UNCONFIRMED"),
        ("b1", "NO_ANSWER"),
    ]
    assert {r.decision for r in records} == {"SINGLE_ENGINE"}


async def test_all_three_disagreeing_is_recorded_with_every_vote() -> None:
    clients = [
        Scripted("a1", answer(HONEST_A, "dc-grid"), engine="dc-grid"),
        Scripted("a2", answer(skewed(HONEST_A), "dc-grid"), engine="dc-grid"),
        Scripted("b1", answer(skewed(skewed(HONEST_B)), "dc-direct"), engine="dc-direct"),
    ]
    mesh = gateway(clients)
    accepted = await mesh.quote(REQUEST)
    # The one market they all differ on is withheld; the rest still publish.
    assert [(w.market_id, w.reason) for w in accepted.evidence.withheld] == [
        (SKEWED_MARKET, "NO_QUORUM")
    ]
    await asyncio.sleep(0.05)
    records = await mesh.dissents.list(sport_pb2.SPORT_FOOTBALL, 100, 0)
    assert sorted(r.vote.replica_id for r in records) == ["a1", "a2", "b1"]
    assert {r.verdict for r in records} == {"NO_MAJORITY"}
    assert len({r.decision_id for r in records}) == 1
    assert {r.vote.digest for r in records} == {digest_bytes(c.reply.data or b"") for c in clients}


async def test_whole_sets_that_disagree_are_refused_with_every_vote() -> None:
    others = [priced("dc-grid") for _ in range(3)]
    for i, quote_set in enumerate(others):
        quote_set.snapshot_hash = f"sha256:{i}"  # three different headers
    clients = [
        Scripted(r, answer(q, e), engine=e)
        for r, q, e in zip(
            ("a1", "a2", "b1"), others, ("dc-grid", "dc-grid", "dc-direct"), strict=True
        )
    ]
    mesh = gateway(clients)
    try:
        await mesh.quote(REQUEST)
        raise AssertionError("published without agreement")
    except NoQuorum as refusal:
        assert refusal.reason == "NO_QUORUM"
        assert {v.outcome for v in refusal.decision.votes} == {Outcome.DISSENTED}
    await asyncio.sleep(0.05)
    records = await mesh.dissents.list(sport_pb2.SPORT_FOOTBALL, 100, 0)
    assert sorted((r.vote.replica_id, r.verdict) for r in records) == [
        ("a1", "NO_MAJORITY"),
        ("a2", "NO_MAJORITY"),
        ("b1", "NO_MAJORITY"),
    ]


def _market(odds: list[int], probabilities: list[int], payout: int) -> market_pb2.Market:
    return market_pb2.Market(
        market_id="f1/MATCH_RESULT",
        type=market_pb2.MARKET_TYPE_MATCH_RESULT,
        status=market_pb2.MARKET_STATUS_ACTIVE,
        payout_e4=payout,
        selections=[
            market_pb2.Selection(
                selection_id=str(i),
                odds_e4=o,
                probability_e9=p,
                status=market_pb2.SELECTION_STATUS_ACTIVE,
            )
            for i, (o, p) in enumerate(zip(odds, probabilities, strict=True))
        ],
    )


def test_a_rounding_straddle_agrees_but_a_price_that_does_not_follow_does_not() -> None:
    base = _market([21_000, 34_000], [476_190_476, 523_809_524], 9_300)
    # Same probabilities, another price: a wrong price.
    assert not markets_agree(base, _market([21_200, 34_000], [476_190_476, 523_809_524], 9_300))
    # Probabilities 1e-9 apart and the price one tick apart: two correct engines.
    straddle = _market([21_200, 34_000], [476_190_475, 523_809_525], 9_310)
    assert markets_agree(base, straddle)
    # Two ticks apart, or probabilities further than the tolerance apart: no.
    assert not markets_agree(base, _market([21_400, 34_000], [476_190_475, 523_809_525], 9_320))
    assert not markets_agree(base, _market([21_000, 34_000], [476_192_476, 523_807_524], 9_300))


async def test_a_straddle_publishes_the_less_generous_price() -> None:
    lower = priced("dc-grid")
    canonicalise(lower)
    higher = market_pb2.QuoteSet()
    higher.CopyFrom(lower)
    market = higher.markets[0]
    market.selections[0].odds_e4 += 100
    market.selections[0].probability_e9 -= 1
    market.payout_e4 += 10
    clients = [
        Scripted("a1", answer(higher, "dc-grid"), engine="dc-grid"),
        Scripted("a2", answer(higher, "dc-grid"), engine="dc-grid"),
        Scripted("b1", answer(lower, "dc-direct"), engine="dc-direct"),
    ]
    decision = await decide(clients, b"req", 2, 1.0, min_engines=2)
    assert decision.accepted and not decision.withheld
    assert decision.data == canonicalise(lower)
    assert {v.verdict for v in decision.votes} == {Verdict.AGREED}


async def test_hedged_calls_bring_in_the_other_engine_when_the_first_agree_alone() -> None:
    same = answer(HONEST_A, "dc-grid")
    clients = [
        Scripted("a1", same, engine="dc-grid"),
        Scripted("a2", same, engine="dc-grid"),
        Scripted("b1", answer(HONEST_B, "dc-direct"), engine="dc-direct"),
    ]
    # The hedge delay alone would wait 10 s: the single-engine quorum brings b1 in at once.
    decision = await asyncio.wait_for(
        decide(clients, b"req", 2, 1.0, hedge_after=10.0, min_engines=2), timeout=5
    )
    assert decision.accepted and clients[2].calls == 1
    assert decision.engines == ["dc-direct", "dc-grid"]


async def test_a_replica_declaring_another_engine_than_configured_is_a_fault_not_a_vote() -> None:
    clients = [
        Scripted("a1", answer(HONEST_A, "dc-grid"), engine="dc-grid"),
        # Configured as the independent engine, but runs the reference one: not a 2nd opinion.
        Scripted("b1", answer(HONEST_A, "dc-grid"), engine="dc-direct"),
        Scripted("a2", answer(HONEST_A, "dc-grid"), engine="dc-grid"),
    ]
    decision = await decide(clients, b"req", 2, 1.0, min_engines=2)
    assert not decision.accepted and decision.refusal == "SINGLE_ENGINE"
    outcomes = {v.replica_id: (v.outcome, v.verdict) for v in decision.votes}
    assert outcomes["b1"] == (Outcome.ENGINE_MISMATCH, Verdict.REPLICA_FAULTY)


def test_the_gateway_reads_each_replicas_engine_and_refuses_a_set_of_one_engine() -> None:
    from gateway.settings import GatewaySettings
    from service_runtime.settings import SettingsError

    settings = GatewaySettings.from_env(
        {"BETMESH_GATEWAY_REPLICAS": "football=h:1@dc-grid,h:2@dc-direct,h:3@dc-grid"}
    )
    (football,) = settings.replica_sets
    assert football.addresses == ("h:1", "h:2", "h:3")
    assert football.engines == ("dc-grid", "dc-direct", "dc-grid")
    assert football.min_engines == 2
    one_engine_tennis = GatewaySettings.from_env(
        {
            "BETMESH_GATEWAY_REPLICAS": "football=h:1@dc-grid,h:2@dc-direct,h:3@dc-grid;"
            "tennis=h:4@markov-dp",
            "BETMESH_GATEWAY_QUORUM": "football=2,tennis=1",
            "BETMESH_GATEWAY_MIN_ENGINES": "football=2,tennis=1",
        }
    )
    assert {c.sport: c.min_engines for c in one_engine_tennis.replica_sets} == {
        sport_pb2.SPORT_FOOTBALL: 2,
        sport_pb2.SPORT_TENNIS: 1,
    }
    for wrong in ("football=h:1@dc-grid,h:2@dc-grid,h:3@dc-grid", "football=h:1@Bad!,h:2,h:3"):
        try:
            GatewaySettings.from_env({"BETMESH_GATEWAY_REPLICAS": wrong})
        except SettingsError:
            continue
        raise AssertionError(f"accepted {wrong}")
