"""StreamOdds as a partner integrates it (issue 21): one connection per stream mesh-wide,
conflation that never hides a bet stop, heartbeats that report real lag, and the contract's
details (event time, bet-stop reasons, phases, match status, filters as sets, rollback and
cancel on the wire). Real live servers on one real Redis; bus events as the producers publish
them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.common.v1 import game_state_pb2, market_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb

from service_runtime.events import EventPublisher, Topic
from tests.integration.test_live_stream import (
    ACTIVE,
    LIVE,
    PRE,
    SUSPENDED,
    Live,
    Reader,
    new_fixture,
    only,
    publish_prices,
    publish_status,
    start_live,
)
from tests.support.grpc_helpers import rpc_error

# Heartbeats a stalled client reads (0.5 s apart) before its lag must have been reported.
MAX_HEARTBEATS = 60


@pytest.fixture(scope="module")
async def lives(redis_url: str) -> AsyncIterator[dict[str, Live]]:
    prefix = f"test:contract:{uuid.uuid4().hex[:8]}"
    started = {
        "a": await start_live(redis_url, prefix, BETMESH_AUTH_MODE="anonymous"),
        "b": await start_live(redis_url, prefix, BETMESH_AUTH_MODE="anonymous"),
        "patient": await start_live(
            redis_url,
            f"{prefix}:patient",
            BETMESH_AUTH_MODE="anonymous",
            # Far more than the stalled client's test keeps it behind, even on a busy machine.
            BETMESH_LIVE_STREAM_MAX_BEHIND_SECONDS="60",
        ),
    }
    yield started
    for live in started.values():
        await live.channel.close()
        await live.host.stop(0)


@pytest.fixture(scope="module")
async def bus(redis_url: str) -> AsyncIterator[EventPublisher]:
    client = aioredis.Redis.from_url(redis_url)
    yield EventPublisher(client, "betmesh.live")
    await client.aclose()  # type: ignore[attr-defined]


async def ended(reader: Reader, timeout: float = 30) -> grpc.aio.AioRpcError:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            await reader.next(timeout=deadline - time.monotonic(), heartbeats=True)
        except grpc.aio.AioRpcError as error:
            return error
    raise AssertionError("the stream did not end")


async def test_a_stream_resumed_on_another_process_cuts_the_first_connection(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    one, two = new_fixture(), new_fixture()
    first = Reader(lives["a"].stub, only(one))
    await first.image()
    await publish_prices(bus, one, LIVE, 20000)
    await first.updates(1)
    token = first.received[-1].resume_token
    stream_id = first.received[-1].stream_id
    # The same stream resumed on process b while a still serves the first connection.
    second = Reader(lives["b"].stub, pb.StreamOddsRequest(resume_token=token))
    await publish_prices(bus, one, LIVE, 20100)
    (update,) = await second.updates(1)
    assert update.odds_change.quote_set_digest == f"sha256:{20100:064x}"
    error = await ended(first)
    assert error.code() == grpc.StatusCode.ABORTED
    assert "resumed on another connection" in (error.details() or "")
    # A filter change, asked of either process, reaches the connection that holds the stream.
    for asked in ("a", "b"):
        wanted = pb.SubscriptionFilter(fixture_ids=[one, two] if asked == "a" else [two, one])
        await lives[asked].stub.UpdateSubscription(
            pb.UpdateSubscriptionRequest(stream_id=stream_id, filter=wanted), timeout=10
        )
        changed = await second.next()
        while changed.WhichOneof("payload") != "subscription_changed":
            # The image of what the previous change added comes after its announcement.
            assert changed.WhichOneof("payload") == "full_image", changed
            changed = await second.next()
        assert set(changed.subscription_changed.filter.fixture_ids) == {one, two}
    await publish_prices(bus, two, PRE, 30000)
    message = await second.next()
    while message.WhichOneof("payload") == "full_image":
        message = await second.next()
    (update,) = message.deltas.updates
    assert update.odds_change.fixture.fixture_id == two
    assert len({m.stream_id for m in second.received}) == 1
    second.cancel()


async def test_a_resume_may_repeat_its_filter_in_any_order_or_send_an_empty_one(
    lives: dict[str, Live],
) -> None:
    one, two = new_fixture(), new_fixture()
    reader = Reader(
        lives["a"].stub, pb.StreamOddsRequest(filter=pb.SubscriptionFilter(fixture_ids=[one, two]))
    )
    await reader.image()
    token = reader.received[-1].resume_token
    reader.cancel()
    for given in (
        pb.SubscriptionFilter(fixture_ids=[two, one]),
        pb.SubscriptionFilter(fixture_ids=[two, one, two]),
        pb.SubscriptionFilter(),
    ):
        resumed = Reader(lives["b"].stub, pb.StreamOddsRequest(filter=given, resume_token=token))
        first = await resumed.next(heartbeats=True)
        assert first.stream_id == reader.received[-1].stream_id
        token = resumed.received[-1].resume_token
        resumed.cancel()
    code, info, _ = await rpc_error(
        lambda: Reader(
            lives["b"].stub,
            pb.StreamOddsRequest(
                filter=pb.SubscriptionFilter(fixture_ids=[one]), resume_token=token
            ),
        ).next()
    )
    assert (code, info and info.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "RESUME_FILTER_MISMATCH",
    )


async def test_a_conflated_stream_sees_every_suspension(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    fixture = new_fixture()
    await publish_prices(bus, fixture, LIVE, 20000)
    reader = Reader(lives["a"].stub, only(fixture, conflate_ms=2000))
    await reader.image()
    for _ in range(10):
        # Each stop lasts a few milliseconds, far inside the conflation window.
        await publish_status(bus, fixture, SUSPENDED)
        await publish_prices(bus, fixture, LIVE, 20000)
        await publish_status(bus, fixture, ACTIVE)
    stops: list[pb.BetStop] = []
    statuses: set[int] = set()
    while len(stops) < 10 or statuses != {ACTIVE}:
        message = await reader.next(timeout=30)
        for update in message.deltas.updates:
            if update.WhichOneof("update") == "bet_stop":
                stops.append(update.bet_stop)
            elif update.odds_change.markets:
                statuses = {m.status for m in update.odds_change.markets}
    assert len(stops) == 10
    assert {s.reason for s in stops} == {pb.BET_STOP_REASON_DANGEROUS_EVENT}
    # Every stop came before the state that reopened the markets.
    assert any(m.conflated for m in reader.received)
    reader.cancel()


async def test_a_stalled_client_is_told_its_lag_by_the_heartbeat(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    fixture = new_fixture()
    stuck = Reader(lives["patient"].stub, only(fixture, heartbeat_interval_ms=500))
    watcher = Reader(lives["patient"].stub, only(fixture))
    await stuck.image()
    await watcher.image()
    # More than the connection's windows hold: the server's writes block on the client.
    count = 60
    for price in range(count):
        await publish_prices(bus, fixture, LIVE, 20000 + price, markets=40)
    last = f"sha256:{20000 + count - 1:064x}"
    # Once a client that reads has the last price, the server has offered every one to the
    # stuck client too, whose oldest unsent update is at least that old. However long that
    # took on a busy machine, the stuck client now reads nothing for 3 s more.
    while last not in digests(await watcher.updates(1, timeout=60)):
        pass
    await asyncio.sleep(3.0)
    # The heartbeat that reports the lag is queued when the blocked write returns, ahead of
    # the updates still to be sent: reading up to the last price and one heartbeat more sees it.
    beats: list[pb.Heartbeat] = []
    seen_last = False
    # Bounded: a stream that never sends the last price must fail the test, not spin.
    while len(beats) < MAX_HEARTBEATS:
        message = await stuck.next(timeout=30, heartbeats=True)
        if message.WhichOneof("payload") == "heartbeat":
            beats.append(message.heartbeat)
            if seen_last:
                break
        seen_last = seen_last or last in digests(list(message.deltas.updates))
    lagging = max(beats, key=lambda b: b.lag_ms)
    assert lagging.lag_ms >= 2_500, beats
    assert lagging.max_lag_ms == 60_000
    stuck.cancel()
    watcher.cancel()


def digests(updates: list[pb.OddsUpdate]) -> set[str]:
    return {u.odds_change.quote_set_digest for u in updates if u.HasField("odds_change")}


async def test_event_time_reasons_phases_and_match_status_on_the_wire(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    fixture = new_fixture()
    reader = Reader(lives["b"].stub, only(fixture))
    await reader.image()
    await publish_prices(bus, fixture, PRE, 19000)
    await publish_status(bus, fixture, market_pb2.MARKET_STATUS_HANDED_OVER, "KICK_OFF")
    await publish_prices(bus, fixture, LIVE, 20000)
    kicked = events_pb2.GameStateChanged(
        fixture_id=fixture,
        state=game_state_pb2.GameState(event_sequence=1),
        match_status="LIVE",
    )
    kicked.event_time.FromSeconds(1_700_000_000)  # the match event's own time
    await bus.publish(Topic.GAME_STATE_CHANGED, events_pb2.EventEnvelope(game_state_changed=kicked))
    await publish_status(bus, fixture, market_pb2.MARKET_STATUS_DEACTIVATED, "MATCH_ABANDONED")
    await bus.publish(
        Topic.GAME_STATE_CHANGED,
        events_pb2.EventEnvelope(
            game_state_changed=events_pb2.GameStateChanged(
                fixture_id=fixture,
                state=game_state_pb2.GameState(event_sequence=2),
                match_status="ABANDONED",
            )
        ),
    )
    for correction in (False, True):
        await bus.publish(
            Topic.RESULT_FINALISED,
            events_pb2.EventEnvelope(
                result_finalised=events_pb2.ResultFinalised(
                    fixture_id=fixture,
                    home_score=1,
                    away_score=int(correction),
                    status="RESULT_STATUS_COMPLETED",
                    version=1 + int(correction),
                    correction=correction,
                )
            ),
        )
    voided = events_pb2.BetsVoided(
        fixture_id=fixture, market_ids=[f"{fixture}/MATCH_RESULT"], reason="late feed"
    )
    await bus.publish(Topic.BETS_VOIDED, events_pb2.EventEnvelope(bets_voided=voided))
    updates: list[pb.OddsUpdate] = []
    while not any(u.WhichOneof("update") == "bet_cancel" for u in updates):
        updates += (await reader.next(timeout=30)).deltas.updates
    # Every update says when it happened at its source.
    assert all(u.HasField("event_time") for u in updates)
    by_kind: dict[str, list[Any]] = {}
    for update in updates:
        kind = str(update.WhichOneof("update"))
        by_kind.setdefault(kind, []).append(update)
    reasons = [u.bet_stop.reason for u in by_kind["bet_stop"]]
    assert pb.BET_STOP_REASON_HANDED_OVER in reasons
    assert pb.BET_STOP_REASON_MATCH_ABANDONED in reasons
    assert pb.BET_STOP_REASON_UNSPECIFIED not in reasons
    states = [u.odds_change for u in by_kind["odds_change"] if u.odds_change.phase == LIVE]
    started = next(s for s in states if s.match_status == pb.MATCH_STATUS_LIVE)
    assert started.game_state.event_sequence == 1
    game_updates = [u for u in by_kind["odds_change"] if u.odds_change.game_state.event_sequence]
    assert game_updates[0].event_time.seconds == 1_700_000_000
    assert states[-1].match_status == pb.MATCH_STATUS_ABANDONED
    # One settlement per (phase, market, version): the phase makes the two phases distinct.
    settled = [
        (u.bet_settlement.phase, m.market_id, u.bet_settlement.result_version)
        for u in by_kind["bet_settlement"]
        for m in u.bet_settlement.markets
    ]
    assert len(settled) == len(set(settled))
    assert {p for p, _, _ in settled} == {PRE, LIVE}
    rollbacks = {u.rollback_bet_settlement.phase for u in by_kind["rollback_bet_settlement"]}
    assert rollbacks == {PRE, LIVE}
    cancels = {u.bet_cancel.phase for u in by_kind["bet_cancel"]}
    assert cancels <= {PRE, LIVE} and cancels
    reader.cancel()


async def _results(reader: Reader, until: Any, timeout: float = 30) -> list[pb.OddsUpdate]:
    """Settlement and rollback updates until `until(updates)` holds."""
    updates: list[pb.OddsUpdate] = []
    while not until(updates):
        for update in (await reader.next(timeout=timeout)).deltas.updates:
            if update.WhichOneof("update") in ("bet_settlement", "rollback_bet_settlement"):
                updates.append(update)
    return updates


def _validated(fixture: str, home: int, away: int, sources: str) -> events_pb2.EventEnvelope:
    return events_pb2.EventEnvelope(
        result_validated=events_pb2.ResultValidated(
            fixture_id=fixture,
            home_score=home,
            away_score=away,
            status="RESULT_STATUS_COMPLETED",
            sources_hash=sources,
        )
    )


async def test_provisional_settlement_is_rolled_back_by_a_correction_then_made_final(
    lives: dict[str, Live], bus: EventPublisher
) -> None:
    fixture = new_fixture()
    reader = Reader(lives["a"].stub, only(fixture))
    await reader.image()
    await publish_prices(bus, fixture, PRE, 19000)
    # The sources agree on 2-1: partners settle at once, provisionally.
    await bus.publish(Topic.RESULT_VALIDATED, _validated(fixture, 2, 1, "sha256:first"))
    (first,) = await _results(reader, lambda u: len(u) >= 1)
    assert first.bet_settlement.certainty == pb.SETTLEMENT_CERTAINTY_PROVISIONAL
    assert first.bet_settlement.result_version == "sha256:first"
    markets = sorted(m.market_id for m in first.bet_settlement.markets)
    assert markets
    # The same result again (a re-announcement) changes nothing; an operator's correction in
    # the dispute window (2-2) rolls the settlement back and settles again, still provisional.
    await bus.publish(Topic.RESULT_VALIDATED, _validated(fixture, 2, 1, "sha256:first"))
    await bus.publish(Topic.RESULT_VALIDATED, _validated(fixture, 2, 2, "sha256:second"))
    rollback, again = await _results(reader, lambda u: len(u) >= 2)
    assert sorted(rollback.rollback_bet_settlement.market_ids) == markets
    assert again.bet_settlement.certainty == pb.SETTLEMENT_CERTAINTY_PROVISIONAL
    assert again.bet_settlement.result_version == "sha256:second"
    assert again.bet_settlement.markets != first.bet_settlement.markets
    # On chain with the corrected result: confirmed, not rolled back; a provisional arriving
    # after it is old news.
    final = events_pb2.ResultFinalised(
        fixture_id=fixture, home_score=2, away_score=2, status="RESULT_STATUS_COMPLETED", version=1
    )
    await bus.publish(Topic.RESULT_FINALISED, events_pb2.EventEnvelope(result_finalised=final))
    await bus.publish(Topic.RESULT_VALIDATED, _validated(fixture, 3, 0, "sha256:late"))
    # A marker after both: everything before it has been delivered.
    marker = events_pb2.BetsVoided(fixture_id=fixture, reason="marker")
    await bus.publish(Topic.BETS_VOIDED, events_pb2.EventEnvelope(bets_voided=marker))
    updates: list[pb.OddsUpdate] = []
    while not any(u.WhichOneof("update") == "bet_cancel" for u in updates):
        updates += (await reader.next(timeout=30)).deltas.updates
    kinds = [u.WhichOneof("update") for u in updates]
    assert "rollback_bet_settlement" not in kinds
    (confirmed,) = [u.bet_settlement for u in updates if u.WhichOneof("update") == "bet_settlement"]
    assert confirmed.certainty == pb.SETTLEMENT_CERTAINTY_ON_CHAIN
    assert confirmed.result_version == "1"
    assert confirmed.markets == again.bet_settlement.markets
    reader.cancel()
    # A partner that connects now sees which settlement holds in the full image.
    late = Reader(lives["b"].stub, only(fixture))
    (odds,) = [o for o in await late.image() if o.phase == PRE]
    assert odds.settled_result.certainty == pb.SETTLEMENT_CERTAINTY_ON_CHAIN
    assert (odds.settled_result.home_score, odds.settled_result.away_score) == (2, 2)
    late.cancel()
