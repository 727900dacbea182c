"""A feed that dies mid-match never leaves a market open: real quote replicas, the consensus
gateway, a live server and a bets server on one real Redis (and PostgreSQL for bets). The
feed's deadline is short here (BETMESH_LIVE_FEED_DEADLINE_SECONDS); the cadence is short too,
so a cadence reprice had every chance to reopen what the feed loss closed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from betmesh.bets.v1 import bet_service_pb2 as bets_pb
from betmesh.common.v1 import market_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gateway_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from betmesh.live.v1 import match_event_pb2 as me
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint

from service_runtime.server import ServiceHost
from services.live.app import build as build_live
from services.live.settings import LiveSettings
from tests.integration.test_bets_harness import Mesh as Bets
from tests.integration.test_bets_harness import running
from tests.integration.test_live_repricing import (
    ACTIVE,
    LIVE,
    SUSPENDED,
    Feed,
    Mesh,
    Seen,
    ingest,
    mesh,
    price_pre_match,
    wait_until,
)
from tests.integration.test_live_stream import Reader
from tests.support.grpc_helpers import rpc_error

__all__ = ["mesh"]  # the module-scoped mesh fixture, shared with test_live_repricing

DEADLINE_SECONDS = 2.0


@pytest.fixture(scope="module")
async def bets(database_url: str, redis_url: str) -> AsyncIterator[Bets]:
    async with running(database_url, redis_url, consumer=f"feed-{uuid.uuid4().hex[:6]}") as b:
        yield b


async def start_live(
    redis_url: str, gateway_port: int, meters: MeterProvider | None = None
) -> ServiceHost:
    host = build_live(
        LiveSettings.from_env(
            {
                "BETMESH_REDIS_URL": redis_url,
                "BETMESH_GATEWAY_ADDRESS": f"127.0.0.1:{gateway_port}",
                "BETMESH_AUTH_MODE": "anonymous",
                "BETMESH_PORT": "0",
                "BETMESH_GRACE_SECONDS": "0",
                "BETMESH_LIVE_STREAM_PREFIX": f"test:feedloss:{uuid.uuid4().hex[:8]}",
                "BETMESH_LIVE_STREAM_LEASE_SECONDS": "1",
                "BETMESH_LIVE_FEED_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
                "BETMESH_LIVE_FEED_CHECK_SECONDS": "0.2",
                "BETMESH_LIVE_BUSY_REPRICE_SECONDS": "0.5",
                "BETMESH_LIVE_QUIET_REPRICE_SECONDS": "0.5",
                "BETMESH_LIVE_REPRICE_TICK_SECONDS": "0.1",
                "BETMESH_LIVE_GATEWAY_TIMEOUT_SECONDS": "5",
            }
        ),
        meters,
    )
    await host.start()
    return host


def stub_for(channel: grpc.aio.Channel) -> Any:
    return live_odds_service_pb2_grpc.LiveOddsServiceStub(channel)


async def refusal(method: Any, request: Any) -> tuple[grpc.StatusCode, str]:
    code, info, _ = await rpc_error(lambda: method(request, timeout=20))
    return code, info.reason if info is not None else ""


def statuses(events: list[Seen]) -> list[tuple[int, str]]:
    return [
        (e.envelope.market_status_changed.status, e.envelope.market_status_changed.reason)
        for e in events
        if e.describe()[0] == "status"
    ]


def after(events: list[Seen], status: int, reason: str) -> list[Seen]:
    """What was published after the last status change with this reason."""
    index = max(
        i
        for i, e in enumerate(events)
        if e.describe()[0] == "status"
        and e.envelope.market_status_changed.status == status
        and e.envelope.market_status_changed.reason == reason
    )
    return events[index + 1 :]


def reason_seen(status: int, reason: str) -> Any:
    return lambda events: (status, reason) in statuses(events)


async def live_odds(mesh: Mesh, fixture_id: str) -> int:
    accepted = await mesh.consensus.GetAcceptedQuoteSet(
        gateway_pb2.GetAcceptedQuoteSetRequest(fixture_id=fixture_id, phase=LIVE), timeout=5
    )
    result = next(
        m
        for m in accepted.accepted.quote_set.markets
        if m.type == market_pb2.MARKET_TYPE_MATCH_RESULT
    )
    return int(next(s.odds_e4 for s in result.selections if s.selection_id == "home"))


async def live_bet(bets: Bets, player: str, fixture_id: str, odds: int) -> bets_pb.Bet:
    # Bets learns prices, and live's heartbeat (a second apart), from the bus on its own time
    # (a long backlog after other tests): a refusal for a price or a heartbeat it has not read
    # yet is retried, any other decision is the answer.
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        bet = await bets.place(
            player,
            [(fixture_id, f"{fixture_id}/MATCH_RESULT", "home", odds)],
            1_000,
            acceptance=bets_pb.ODDS_ACCEPTANCE_ANY,
            live=True,
        )
        unpriced = (
            "no accepted consensus price" in bet.rejection_message
            or "its last word on the fixture: never" in bet.rejection_message
        )
        if not unpriced or asyncio.get_running_loop().time() > deadline:
            return bet
        await asyncio.sleep(0.2)


async def bet_stops(reader: Reader, reason: int, timeout: float = 30) -> pb.BetStop:
    while True:
        message = await reader.next(timeout)
        for update in message.deltas.updates:
            if update.WhichOneof("update") == "bet_stop" and update.bet_stop.reason == reason:
                return update.bet_stop


async def reopened(reader: Reader, timeout: float = 30) -> pb.FixtureOdds:
    while True:
        message = await reader.next(timeout)
        for update in message.deltas.updates:
            odds = update.odds_change
            if (
                odds.phase == LIVE
                and odds.markets
                and {m.status for m in odds.markets} == {ACTIVE}
                and odds.bet_stop_reason == pb.BET_STOP_REASON_UNSPECIFIED
            ):
                return odds


def keep_alive(stub: Any, fixture_id: str, last_sequence: int | None = None) -> asyncio.Task[None]:
    """The feed's heartbeats (a quarter of the deadline apart) until cancelled: the feed dies.
    Without `last_sequence` they do not say where the feed is up to (the old field)."""

    async def beat() -> None:
        while True:
            if last_sequence is None:
                await stub.SendFeedHeartbeat(
                    pb.SendFeedHeartbeatRequest(source="test", fixture_ids=[fixture_id]),
                    timeout=5,
                )
            else:
                await up_to(stub, fixture_id, last_sequence)
            await asyncio.sleep(DEADLINE_SECONDS / 4)

    return asyncio.create_task(beat())


async def up_to(stub: Any, fixture_id: str, last_sequence: int) -> pb.SendFeedHeartbeatResponse:
    """A heartbeat saying the feed has sent up to `last_sequence` for the fixture."""
    reply: pb.SendFeedHeartbeatResponse = await stub.SendFeedHeartbeat(
        pb.SendFeedHeartbeatRequest(
            source="test",
            fixtures=[pb.FixtureProgress(fixture_id=fixture_id, last_sequence=last_sequence)],
        ),
        timeout=5,
    )
    return reply


def behind(reply: pb.SendFeedHeartbeatResponse) -> list[tuple[str, int, int, int]]:
    return [
        (b.fixture_id, b.missing_sequence, b.missing_through, b.applied_sequence)
        for b in reply.behind
    ]


async def kicked_off(mesh: Mesh, live: ServiceHost, stub: Any, prefix: str) -> tuple[Feed, Reader]:
    """A football match priced pre-match and kicked off on `live`, with a reader of its odds."""
    fid = f"{prefix}-{uuid.uuid4().hex[:10]}"
    reader = Reader(stub, pb.StreamOddsRequest(filter=pb.SubscriptionFilter(fixture_ids=[fid])))
    await reader.image()
    await price_pre_match(mesh, fid)
    feed = Feed(fid)
    await ingest(live, feed.event(me.MATCH_EVENT_TYPE_MATCH_STARTED))
    return feed, reader


async def test_a_dead_feed_suspends_refuses_live_bets_and_reopens_only_after_recovery(
    mesh: Mesh, bets: Bets, redis_url: str
) -> None:
    live = await start_live(redis_url, mesh.gateway.port)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{live.port}")
    feed_alive: asyncio.Task[None] | None = None
    try:
        stub = stub_for(channel)
        feed, reader = await kicked_off(mesh, live, stub, "loss")
        fid = feed.fixture_id
        beat = await stub.SendFeedHeartbeat(
            pb.SendFeedHeartbeatRequest(source="test", fixture_ids=[fid]), timeout=5
        )
        assert beat.deadline_ms == int(DEADLINE_SECONDS * 1000)
        # The feed keeps the match alive with heartbeats: betting is open.
        feed_alive = keep_alive(stub, fid)
        await wait_until(mesh, fid, lambda ev: (ACTIVE, "REPRICED") in statuses(ev))
        player = await bets.player(balance=10_000)
        opened = await live_bet(bets, player, fid, await live_odds(mesh, fid))
        assert opened.status == bets_pb.BET_STATUS_ACCEPTED, opened.rejection_message

        feed_alive.cancel()
        # The feed dies: no event, no heartbeat.
        stop = await bet_stops(reader, pb.BET_STOP_REASON_FEED_LOST)
        assert stop.fixture_id == fid and stop.status == SUSPENDED and stop.phase == LIVE
        events = await wait_until(mesh, fid, reason_seen(SUSPENDED, "FEED_LOST"))
        refused = await live_bet(bets, player, fid, await live_odds(mesh, fid))
        assert refused.status == bets_pb.BET_STATUS_REJECTED
        assert "suspended" in refused.rejection_message
        # Several cadence periods (0.5 s) pass: nothing is repriced, nothing reopens.
        await asyncio.sleep(2.0)
        events = await wait_until(mesh, fid, reason_seen(SUSPENDED, "FEED_LOST"))
        assert after(events, SUSPENDED, "FEED_LOST") == []

        # The feed is back, and up to the event live applied (nothing was lost): a fresh
        # reprice is accepted, then the markets reopen.
        back = await up_to(stub, fid, feed.sequence)
        assert (list(back.recovered_fixture_ids), behind(back)) == ([fid], [])
        feed_alive = keep_alive(stub, fid)
        events = await wait_until(
            mesh,
            fid,
            lambda ev: (ACTIVE, "REPRICED") in statuses(after(ev, SUSPENDED, "FEED_LOST")),
        )
        since = [e.describe()[0] for e in after(events, SUSPENDED, "FEED_LOST")]
        assert since.index("accepted") < since.index("status")
        odds = await reopened(reader)
        assert odds.fixture.fixture_id == fid
        again = await live_bet(bets, player, fid, await live_odds(mesh, fid))
        assert again.status == bets_pb.BET_STATUS_ACCEPTED, again.rejection_message
        reader.cancel()
    finally:
        if feed_alive is not None:
            feed_alive.cancel()
        await channel.close()
        await live.stop(0)


async def test_an_operator_suspends_and_resumes_a_live_fixture(mesh: Mesh, redis_url: str) -> None:
    live = await start_live(redis_url, mesh.gateway.port)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{live.port}")
    feed_alive: asyncio.Task[None] | None = None
    try:
        fid = f"oper-{uuid.uuid4().hex[:10]}"
        feed = Feed(fid)
        stub = stub_for(channel)

        assert await refusal(stub.SuspendFixture, pb.SuspendFixtureRequest(fixture_id=fid)) == (
            grpc.StatusCode.NOT_FOUND,
            "FIXTURE_NOT_FOUND",
        )
        await price_pre_match(mesh, fid)
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_MATCH_STARTED))
        feed_alive = keep_alive(stub, fid)
        await wait_until(mesh, fid, lambda ev: (ACTIVE, "REPRICED") in statuses(ev))
        reader = Reader(stub, pb.StreamOddsRequest(filter=pb.SubscriptionFilter(fixture_ids=[fid])))
        await reader.image()
        await stub.SuspendFixture(pb.SuspendFixtureRequest(fixture_id=fid, reason="pitch check"))
        await stub.SuspendFixture(pb.SuspendFixtureRequest(fixture_id=fid))  # idempotent
        stop = await bet_stops(reader, pb.BET_STOP_REASON_OPERATOR)
        assert stop.status == SUSPENDED
        # An event and the cadence reprice it: the markets stay closed.
        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_YELLOW_CARD, 2, 600))
        await asyncio.sleep(1.5)
        events = await wait_until(mesh, fid, reason_seen(SUSPENDED, "OPERATOR"))
        assert (ACTIVE, "REPRICED") not in statuses(after(events, SUSPENDED, "OPERATOR"))
        assert statuses(events).count((SUSPENDED, "OPERATOR")) == 1

        await stub.ResumeFixture(pb.ResumeFixtureRequest(fixture_id=fid))
        await wait_until(
            mesh,
            fid,
            lambda ev: (ACTIVE, "REPRICED") in statuses(after(ev, SUSPENDED, "OPERATOR")),
        )
        odds = await reopened(reader)
        assert odds.match_status == pb.MATCH_STATUS_LIVE
        reader.cancel()

        await ingest(live, feed.event(me.MATCH_EVENT_TYPE_MATCH_ENDED, elapsed=5580, period=2))
        assert await refusal(stub.SuspendFixture, pb.SuspendFixtureRequest(fixture_id=fid)) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "FIXTURE_NOT_LIVE",
        )
    finally:
        if feed_alive is not None:
            feed_alive.cancel()
        await channel.close()
        await live.stop(0)


async def test_feed_heartbeats_are_validated(mesh: Mesh, redis_url: str) -> None:
    live = await start_live(redis_url, mesh.gateway.port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{live.port}") as channel:
            stub = stub_for(channel)
            for request, reason in (
                (pb.SendFeedHeartbeatRequest(), "SOURCE_REQUIRED"),
                # The contract's field rules answer first, naming each field.
                (pb.SendFeedHeartbeatRequest(source="x" * 129), "INVALID_REQUEST_FIELDS"),
                (
                    pb.SendFeedHeartbeatRequest(source="s", fixture_ids=["f"] * 1001),
                    "INVALID_REQUEST_FIELDS",
                ),
                (
                    pb.SendFeedHeartbeatRequest(source="s", fixture_ids=[""]),
                    "INVALID_REQUEST_FIELDS",
                ),
                (
                    pb.SendFeedHeartbeatRequest(
                        source="s", fixtures=[pb.FixtureProgress(fixture_id="f")] * 1001
                    ),
                    "INVALID_REQUEST_FIELDS",
                ),
                (
                    pb.SendFeedHeartbeatRequest(
                        source="s",
                        fixtures=[pb.FixtureProgress(fixture_id="f", last_sequence=10**9 + 1)],
                    ),
                    "INVALID_REQUEST_FIELDS",
                ),
                (
                    pb.SendFeedHeartbeatRequest(source="s", fixtures=[pb.FixtureProgress()]),
                    "INVALID_REQUEST_FIELDS",
                ),
            ):
                assert await refusal(stub.SendFeedHeartbeat, request) == (
                    grpc.StatusCode.INVALID_ARGUMENT,
                    reason,
                )
            # A producer-only heartbeat is fine and recovers nothing.
            reply = await stub.SendFeedHeartbeat(pb.SendFeedHeartbeatRequest(source="quiet"))
            assert list(reply.recovered_fixture_ids) == []
            refused = await refusal(
                stub.SuspendFixture, pb.SuspendFixtureRequest(fixture_id="f", reason="r" * 201)
            )
            assert refused == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST_FIELDS")
    finally:
        await live.stop(0)


async def test_an_event_after_a_gap_in_the_feed_holds_the_markets_until_the_gap_is_filled(
    mesh: Mesh, bets: Bets, redis_url: str
) -> None:
    """The feed skips a sequence, then sends a goal: live cannot apply the goal (it holds it
    until the missing event comes), so the state it prices from is stale. Before, the markets
    stayed open at the pre-goal price and the cadence kept repricing 0-0."""
    live = await start_live(redis_url, mesh.gateway.port)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{live.port}") as channel:
        stub = stub_for(channel)
        feed, reader = await kicked_off(mesh, live, stub, "gap")
        fid = feed.fixture_id
        feed_alive = keep_alive(stub, fid)  # the feed stays alive throughout
        try:
            await wait_until(mesh, fid, lambda ev: (ACTIVE, "REPRICED") in statuses(ev))
            player = await bets.player(balance=10_000)
            missing = feed.event(me.MATCH_EVENT_TYPE_YELLOW_CARD, 2, 600)  # not sent (yet)
            goal = feed.event(me.MATCH_EVENT_TYPE_GOAL, 1, 700)
            held = await stub.IngestMatchEvent(pb.IngestMatchEventRequest(event=goal), timeout=10)
            assert held.outcome == pb.INGEST_OUTCOME_HELD
            stop = await bet_stops(reader, pb.BET_STOP_REASON_FEED_GAP)
            assert stop.status == SUSPENDED and stop.phase == LIVE
            await wait_until(mesh, fid, reason_seen(SUSPENDED, "FEED_GAP"))
            refused = await live_bet(bets, player, fid, await live_odds(mesh, fid))
            assert refused.status == bets_pb.BET_STATUS_REJECTED
            # Several cadence periods (0.5 s) pass: nothing reopens on the stale state.
            await asyncio.sleep(2.0)
            events = await wait_until(mesh, fid, reason_seen(SUSPENDED, "FEED_GAP"))
            assert (ACTIVE, "REPRICED") not in statuses(after(events, SUSPENDED, "FEED_GAP"))

            # The feed resends the missing event: both apply, a fresh price reopens the markets.
            filled = await stub.IngestMatchEvent(
                pb.IngestMatchEventRequest(event=missing), timeout=10
            )
            assert filled.outcome == pb.INGEST_OUTCOME_APPLIED
            await wait_until(
                mesh,
                fid,
                lambda ev: (ACTIVE, "REPRICED") in statuses(after(ev, SUSPENDED, "FEED_GAP")),
            )
            odds = await reopened(reader)
            assert odds.game_state.football.home_goals == 1
            reader.cancel()
        finally:
            feed_alive.cancel()
            await live.stop(0)


async def test_a_goal_lost_with_the_feed_keeps_the_markets_closed_until_it_is_resent(
    mesh: Mesh, redis_url: str
) -> None:
    """The feed is cut while a goal happens; the goal is not redelivered yet when the network
    heals. Before, the first heartbeat reopened the match at the pre-goal prices. Now the
    heartbeat says the feed is up to the goal: the match stays suspended (FEED_GAP), the
    reply names the sequence to resend, and the resent goal reopens it at post-goal prices."""
    live = await start_live(redis_url, mesh.gateway.port)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{live.port}")
    feed_alive: asyncio.Task[None] | None = None
    try:
        stub = stub_for(channel)
        feed, reader = await kicked_off(mesh, live, stub, "tail")
        fid = feed.fixture_id
        feed_alive = keep_alive(stub, fid, feed.sequence)
        await wait_until(mesh, fid, lambda ev: (ACTIVE, "REPRICED") in statuses(ev))
        pre_goal = await live_odds(mesh, fid)

        feed_alive.cancel()
        goal = feed.event(me.MATCH_EVENT_TYPE_GOAL, 1, 700)  # sent into the outage: lost
        await bet_stops(reader, pb.BET_STOP_REASON_FEED_LOST)

        back = await up_to(stub, fid, goal.sequence)
        assert list(back.recovered_fixture_ids) == []
        assert behind(back) == [(fid, 2, 2, 1)]
        stop = await bet_stops(reader, pb.BET_STOP_REASON_FEED_GAP)
        assert stop.status == SUSPENDED and stop.phase == LIVE
        feed_alive = keep_alive(stub, fid, goal.sequence)
        # Several cadence periods (0.5 s) pass: nothing reopens at the pre-goal price.
        await asyncio.sleep(2.0)
        events = await wait_until(mesh, fid, reason_seen(SUSPENDED, "FEED_GAP"))
        assert (ACTIVE, "REPRICED") not in statuses(after(events, SUSPENDED, "FEED_GAP"))

        resent = await stub.IngestMatchEvent(pb.IngestMatchEventRequest(event=goal), timeout=10)
        assert resent.outcome == pb.INGEST_OUTCOME_APPLIED
        events = await wait_until(
            mesh,
            fid,
            lambda ev: (ACTIVE, "REPRICED") in statuses(after(ev, SUSPENDED, "FEED_GAP")),
        )
        since = [e.describe() for e in after(events, SUSPENDED, "FEED_GAP")]
        assert since.index(("accepted", LIVE, goal.sequence)) < since.index(
            ("status", ACTIVE, goal.sequence)
        )
        odds = await reopened(reader)
        assert odds.game_state.football.home_goals == 1
        assert await live_odds(mesh, fid) < pre_goal
        reader.cancel()
    finally:
        if feed_alive is not None:
            feed_alive.cancel()
        await channel.close()
        await live.stop(0)


async def test_a_heartbeat_without_a_sequence_does_not_reopen_a_lost_feed(
    mesh: Mesh, redis_url: str
) -> None:
    """The old heartbeat (fixture ids only) cannot tell whether events were lost: it keeps an
    open match alive, but reopens nothing after a loss; the feed's last sequence does."""
    live = await start_live(redis_url, mesh.gateway.port)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{live.port}")
    feed_alive: asyncio.Task[None] | None = None
    try:
        stub = stub_for(channel)
        feed, reader = await kicked_off(mesh, live, stub, "unseq")
        fid = feed.fixture_id
        feed_alive = keep_alive(stub, fid)
        await wait_until(mesh, fid, lambda ev: (ACTIVE, "REPRICED") in statuses(ev))
        feed_alive.cancel()
        await bet_stops(reader, pb.BET_STOP_REASON_FEED_LOST)

        back = await stub.SendFeedHeartbeat(
            pb.SendFeedHeartbeatRequest(source="test", fixture_ids=[fid]), timeout=5
        )
        assert (list(back.recovered_fixture_ids), behind(back)) == ([], [])
        feed_alive = keep_alive(stub, fid)
        await asyncio.sleep(2.0)
        events = await wait_until(mesh, fid, reason_seen(SUSPENDED, "FEED_LOST"))
        assert after(events, SUSPENDED, "FEED_LOST") == []

        assert list((await up_to(stub, fid, feed.sequence)).recovered_fixture_ids) == [fid]
        await wait_until(
            mesh,
            fid,
            lambda ev: (ACTIVE, "REPRICED") in statuses(after(ev, SUSPENDED, "FEED_LOST")),
        )
        reader.cancel()
    finally:
        if feed_alive is not None:
            feed_alive.cancel()
        await channel.close()
        await live.stop(0)


async def test_a_heartbeat_ahead_of_an_open_match_suspends_it_at_once(
    mesh: Mesh, redis_url: str
) -> None:
    """No outage at all: the feed's word that it sent an event live never applied (the tail of
    the match) stops the markets at once, until the event comes."""
    live = await start_live(redis_url, mesh.gateway.port)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{live.port}")
    feed_alive: asyncio.Task[None] | None = None
    try:
        stub = stub_for(channel)
        feed, reader = await kicked_off(mesh, live, stub, "ahead")
        fid = feed.fixture_id
        feed_alive = keep_alive(stub, fid)
        await wait_until(mesh, fid, lambda ev: (ACTIVE, "REPRICED") in statuses(ev))
        card = feed.event(me.MATCH_EVENT_TYPE_YELLOW_CARD, 2, 600)  # lost on its way

        reply = await up_to(stub, fid, card.sequence)
        assert behind(reply) == [(fid, 2, 2, 1)]
        stop = await bet_stops(reader, pb.BET_STOP_REASON_FEED_GAP)
        assert stop.status == SUSPENDED
        await wait_until(mesh, fid, reason_seen(SUSPENDED, "FEED_GAP"))

        applied = await stub.IngestMatchEvent(pb.IngestMatchEventRequest(event=card), timeout=10)
        assert applied.outcome == pb.INGEST_OUTCOME_APPLIED
        await wait_until(
            mesh,
            fid,
            lambda ev: (ACTIVE, "REPRICED") in statuses(after(ev, SUSPENDED, "FEED_GAP")),
        )
        assert behind(await up_to(stub, fid, card.sequence)) == []
        reader.cancel()
    finally:
        if feed_alive is not None:
            feed_alive.cancel()
        await channel.close()
        await live.stop(0)


async def test_a_heartbeat_behind_what_live_applied_is_refused_with_its_reason(
    mesh: Mesh, redis_url: str
) -> None:
    live = await start_live(redis_url, mesh.gateway.port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{live.port}") as channel:
            stub = stub_for(channel)
            fid = f"below-{uuid.uuid4().hex[:10]}"
            feed = Feed(fid)
            await price_pre_match(mesh, fid)
            await ingest(live, feed.event(me.MATCH_EVENT_TYPE_MATCH_STARTED))
            await ingest(live, feed.event(me.MATCH_EVENT_TYPE_YELLOW_CARD, 2, 600))
            code, info, _ = await rpc_error(lambda: up_to(stub, fid, 1))
            assert (code, info.reason if info else "") == (
                grpc.StatusCode.FAILED_PRECONDITION,
                "LAST_SEQUENCE_BEHIND_APPLIED",
            )
            assert info is not None and dict(info.metadata) == {
                "fixture_id": fid,
                "last_sequence": "1",
                "applied_sequence": "2",
            }
            assert behind(await up_to(stub, fid, 2)) == []
    finally:
        await live.stop(0)


def held(metrics: InMemoryMetricReader) -> dict[str, int]:
    """betmesh.live.fixtures_held as a scrape reads it: reason -> live fixtures held."""
    data = metrics.get_metrics_data()
    return {
        str(point.attributes["betmesh.hold.reason"]): int(point.value)
        for resource in (data.resource_metrics if data is not None else [])
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "betmesh.live.fixtures_held"
        for point in metric.data.data_points
        if isinstance(point, NumberDataPoint) and point.attributes
    }


async def held_until(metrics: InMemoryMetricReader, wanted: Any) -> dict[str, int]:
    # The gauge is read from Redis by a background pass (five feed checks, 1 s here).
    deadline = asyncio.get_running_loop().time() + 30
    while not wanted(counts := held(metrics)):
        assert asyncio.get_running_loop().time() < deadline, counts
        await asyncio.sleep(0.1)
    return counts


async def test_the_fixtures_a_feed_keeps_closed_are_counted_by_reason(
    mesh: Mesh, redis_url: str
) -> None:
    """What an operator is alerted on (BetmeshLiveFeedGap, BetmeshLiveFeedLost): a feed that
    says it sent an event it never resends holds its fixture FEED_GAP, and only the feed can
    lift it; then the feed dies (FEED_LOST). Other tests' fixtures share the store (their feeds
    stopped: FEED_LOST for good), so the counts are compared, not equated."""
    metrics = InMemoryMetricReader()
    live = await start_live(redis_url, mesh.gateway.port, MeterProvider(metric_readers=[metrics]))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{live.port}")
    feed_alive: asyncio.Task[None] | None = None
    try:
        stub = stub_for(channel)
        await held_until(
            metrics, lambda counts: set(counts) == {"FEED_LOST", "FEED_GAP", "OPERATOR"}
        )
        feed, reader = await kicked_off(mesh, live, stub, "held")
        fid = feed.fixture_id
        card = feed.event(me.MATCH_EVENT_TYPE_YELLOW_CARD, 2, 600)  # never resent
        feed_alive = keep_alive(stub, fid, card.sequence)
        await held_until(metrics, lambda counts: counts["FEED_GAP"] >= 1)

        lost = held(metrics)["FEED_LOST"]
        feed_alive.cancel()
        await held_until(metrics, lambda counts: counts["FEED_LOST"] > lost)
        reader.cancel()
    finally:
        if feed_alive is not None:
            feed_alive.cancel()
        await channel.close()
        await live.stop(0)
