"""The stream's core without network: filters, resume tokens, settlement, conflation."""

from __future__ import annotations

import pytest
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb

from service_runtime.errors import FailedPrecondition, InvalidArgument
from service_runtime.live_bet_delay import LiveBetDelays
from services.live.domain.stream.book import Book, Entry
from services.live.domain.stream.filters import Filter
from services.live.domain.stream.resume import WHOLE, TokenSigner
from services.live.domain.stream.settlement import (
    HALF_LOSE,
    HALF_WIN,
    LOSE,
    VOID,
    WIN,
    market_outcomes,
)
from services.live.domain.stream.subscriber import Limits, Subscriber
from services.live.domain.stream.translate import LIVE, PRE, FixtureRecord, translate

KEY = b"unit-test-key-0123456789"


def test_filter_validation_reasons() -> None:
    with pytest.raises(InvalidArgument) as unknown:
        Filter.from_proto(pb.SubscriptionFilter(sports=[42]), 10)  # type: ignore[list-item]
    assert unknown.value.reason == "UNKNOWN_SPORT"
    with pytest.raises(InvalidArgument) as many:
        Filter.from_proto(pb.SubscriptionFilter(fixture_ids=["a", "b", "c"]), 2)
    assert many.value.reason == "TOO_MANY_FIXTURE_IDS"
    f = Filter.from_proto(
        pb.SubscriptionFilter(sports=[sport_pb2.SPORT_TENNIS], phase=pb.PHASE_FILTER_LIVE), 10
    )
    assert f.matches("x", sport_pb2.SPORT_TENNIS, market_pb2.PRICING_PHASE_LIVE)
    assert not f.matches("x", sport_pb2.SPORT_TENNIS, market_pb2.PRICING_PHASE_PRE_MATCH)
    assert Filter.from_proto(f.to_proto(), 10) == f


def test_tokens_round_trip_and_refuse_forgery_other_journals_and_age() -> None:
    signer = TokenSigner(KEY, max_age_seconds=60)
    token = signer.encoder("s1", pb.SubscriptionFilter(fixture_ids=["f"]), "e1").encode(
        7, (123, 4), WHOLE, 1000.0
    )
    point = signer.decode(token, "e1", now=1010.0)
    assert (point.stream_id, point.sequence, point.position, point.delivered) == (
        "s1",
        7,
        (123, 4),
        WHOLE,
    )
    assert list(point.filter.fixture_ids) == ["f"]
    with pytest.raises(InvalidArgument):
        TokenSigner(b"another-key-0123456789", 60).decode(token, "e1", now=1010.0)
    with pytest.raises(FailedPrecondition) as stale:
        signer.decode(token, "e2", now=1010.0)
    assert stale.value.reason == "RESUME_TOKEN_STALE"
    with pytest.raises(FailedPrecondition) as old:
        signer.decode(token, "e1", now=2000.0)
    assert old.value.reason == "RESUME_TOKEN_EXPIRED"


def _market(kind: int, ids: tuple[str, ...], line: int = 0) -> market_pb2.Market:
    return market_pb2.Market(
        market_id="f/X",
        type=kind,  # type: ignore[arg-type]
        line_e2=line,
        selections=[market_pb2.Selection(selection_id=i) for i in ids],
    )


def test_settlement_from_the_final_score() -> None:
    totals = market_pb2.MARKET_TYPE_TOTAL_GOALS
    assert market_outcomes(_market(totals, ("over", "under"), 250), 2, 1) == {
        "over": WIN,
        "under": LOSE,
    }
    assert market_outcomes(_market(totals, ("over", "under"), 300), 2, 1) == {
        "over": VOID,
        "under": VOID,
    }
    # 3 goals against 2.75: half the stake on 2.5 (won), half on 3.0 (void).
    assert market_outcomes(_market(totals, ("over", "under"), 275), 2, 1) == {
        "over": HALF_WIN,
        "under": HALF_LOSE,
    }
    handicap = market_pb2.MARKET_TYPE_ASIAN_HANDICAP
    assert market_outcomes(_market(handicap, ("away", "home"), -25), 1, 1) == {
        "home": HALF_LOSE,
        "away": HALF_WIN,
    }
    score = market_pb2.MARKET_TYPE_CORRECT_SCORE
    assert market_outcomes(_market(score, ("1-0", "2-1", "other")), 5, 4) == {
        "1-0": LOSE,
        "2-1": LOSE,
        "other": WIN,
    }
    assert market_outcomes(_market(market_pb2.MARKET_TYPE_SET_BETTING, ("2-0",)), 2, 0) is None


def _entry(ms: int, price: int) -> Entry:
    market = market_pb2.Market(
        market_id="f/MATCH_RESULT",
        type=market_pb2.MARKET_TYPE_MATCH_RESULT,
        status=market_pb2.MARKET_STATUS_ACTIVE,
        selections=[market_pb2.Selection(selection_id="home", odds_e4=price)],
    )
    state = pb.FixtureOdds(phase=market_pb2.PRICING_PHASE_LIVE, markets=[market])
    state.fixture.fixture_id, state.fixture.sport = "f", sport_pb2.SPORT_FOOTBALL
    update = pb.OddsUpdate(odds_change=state)
    return Entry(
        (ms, 0), "f", sport_pb2.SPORT_FOOTBALL, market_pb2.PRICING_PHASE_LIVE, [update], state
    )


def _subscriber(max_batch: int = 100) -> Subscriber:
    signer = TokenSigner(KEY, 60)
    return Subscriber(
        "s",
        Filter(),
        "p",
        lambda f: signer.encoder("s", f.to_proto(), "e"),
        max_batch=max_batch,
        heartbeat_seconds=5,
        conflate_seconds=0,
        limits=Limits(conflate_after=2, max_behind_seconds=1),
        position=(0, 0),
    )


def test_a_blocked_subscriber_is_conflated_to_the_latest_state_then_cut() -> None:
    book, sub = Book(), _subscriber()
    sub.writing = True  # a write waits on the client
    for ms in range(1, 6):
        entry = _entry(ms, 20000 + ms)
        book.apply(entry)
        sub.offer(entry, now=float(ms) / 10)
    sub.build(book, now=1.0)
    (message,) = [pb.StreamOddsResponse.FromString(m) for m in sub.outbox]
    assert message.conflated and message.sequence == 1
    (update,) = message.deltas.updates
    assert update.odds_change.markets[0].selections[0].odds_e4 == 20005
    sub.check(now=5.0)
    assert sub.cut == "CONSUMER_TOO_SLOW"


def test_batches_split_inside_an_entry_keep_exact_positions() -> None:
    book, sub = Book(), _subscriber(max_batch=1)
    entry = _entry(1, 20000)
    entry.updates.append(entry.updates[0])
    book.apply(entry)
    sub.offer(entry, now=0)
    sub.build(book, now=0)
    first, second = [pb.StreamOddsResponse.FromString(m) for m in sub.outbox]
    signer = TokenSigner(KEY, 60)
    assert signer.decode(first.resume_token, "e", now=0).delivered == 1
    assert signer.decode(second.resume_token, "e", now=0).delivered == WHOLE


def test_shared_update_bytes_decode_as_the_message_they_stand_for() -> None:
    """Streams send a header of their own plus update bytes encoded once per entry: what a
    client decodes must be exactly the message protobuf itself would have built."""
    book, sub = Book(), _subscriber()
    entry = _entry(1, 20000)
    entry.updates.append(pb.OddsUpdate(bet_stop=pb.BetStop(fixture_id="f", market_ids=["f/X"])))
    book.apply(entry)
    sub.offer(entry, now=0)
    sub.build(book, now=0)
    (raw,) = sub.outbox
    message = pb.StreamOddsResponse.FromString(raw)
    assert list(message.deltas.updates) == entry.updates
    expected = pb.StreamOddsResponse(
        stream_id="s", sequence=1, resume_token=message.resume_token, sent_at=message.sent_at
    )
    expected.deltas.updates.extend(entry.updates)
    assert message == expected
    # A restricted view is encoded once and reused, not re-serialised per stream.
    totals = Filter(market_types=frozenset({market_pb2.MARKET_TYPE_TOTAL_GOALS}))
    assert entry.encoded(totals) is entry.encoded(totals)
    assert entry.encoded(totals) == []  # neither update concerns a totals market


def test_a_void_reaches_the_phases_whose_markets_it_names() -> None:
    record = FixtureRecord("f")
    for phase, ids in ((PRE, ["f/MATCH_RESULT", "f/TOTAL_GOALS/250"]), (LIVE, ["f/MATCH_RESULT"])):
        record.phases[phase] = pb.FixtureOdds(
            phase=phase, markets=[market_pb2.Market(market_id=i) for i in ids]
        )
    voided = events_pb2.BetsVoided(fixture_id="f", market_ids=["f/TOTAL_GOALS/250"], reason="r")
    voided.placed_after.FromSeconds(10)
    delays = LiveBetDelays.standard()
    (change,) = translate(record, events_pb2.EventEnvelope(bets_voided=voided), None, delays)
    assert change.phase == PRE
    (update,) = change.updates
    assert list(update.bet_cancel.market_ids) == ["f/TOTAL_GOALS/250"]
    assert update.bet_cancel.start_time.seconds == 10
    assert not update.bet_cancel.HasField("end_time")
    whole = translate(
        record,
        events_pb2.EventEnvelope(bets_voided=events_pb2.BetsVoided(fixture_id="f")),
        None,
        delays,
    )
    assert sorted(c.phase for c in whole) == [PRE, LIVE]
