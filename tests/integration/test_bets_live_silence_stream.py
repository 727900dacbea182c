"""A live bet needs a live process alive behind its price: a real `python -m services.live`
watches an in-play fixture and vouches for it (LiveHeartbeat), bets takes live bets on it; once
live is frozen (SIGSTOP: its port open, nothing said) bets refuses them, BETTING_SUSPENDED, the
live producer silent, both a new bet and one pending through its delay; live thawed, they are
taken again. The price itself never changes: only live's silence refuses."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from betmesh.bets.v1 import bet_service_pb2 as pb
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import live_odds_service_pb2 as live_pb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from betmesh.live.v1 import match_event_pb2 as me

from service_runtime.events import Topic, stream_key
from tests.integration import test_bets_harness as harness
from tests.integration.test_bets_harness import Mesh
from tests.integration.test_live_repricing import Feed
from tests.integration.test_live_stream_processes import live_env, spawn

# Both processes read the pair (service_runtime/live_watch.py), as the launcher passes it.
WATCH = {"BETMESH_LIVE_HEARTBEAT_SECONDS": "0.25", "BETMESH_BETS_LIVE_SILENCE_SECONDS": "2"}
# Longer than the silence: a bet pending when live freezes is decided after live fell silent.
DELAY = {"BETMESH_BETS_LIVE_DELAY_SECONDS": "football=4,tennis=4,basketball=4"}


@pytest.fixture
async def live(redis_url: str) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    process, port = await spawn(
        live_env(
            redis_url,
            "silence",
            # The test's feed says one thing and goes quiet: not a lost feed here.
            BETMESH_LIVE_FEED_DEADLINE_SECONDS="600",
            **WATCH,
            **DELAY,
        )
    )
    yield process, port
    if process.returncode is None:
        process.send_signal(signal.SIGCONT)
        process.kill()
        await process.wait()


@pytest.fixture
async def bets(database_url: str, redis_url: str) -> AsyncIterator[Mesh]:
    async with harness.running(
        database_url, redis_url, consumer=f"silence-{uuid.uuid4().hex[:6]}", **WATCH, **DELAY
    ) as mesh:
        yield mesh


async def kick_off(port: int, fixture_id: str) -> None:
    feed = Feed(fixture_id)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub: Any = live_odds_service_pb2_grpc.LiveOddsServiceStub(channel)
        reply = await stub.IngestMatchEvent(
            live_pb.IngestMatchEventRequest(event=feed.event(me.MATCH_EVENT_TYPE_MATCH_STARTED)),
            timeout=10,
        )
    assert reply.outcome == live_pb.INGEST_OUTCOME_APPLIED


async def last_heartbeat(bets: Mesh) -> str:
    entries: Any = await bets.bus.client.xrevrange(stream_key(Topic.LIVE_HEARTBEAT), count=1)
    return entries[0][0].decode() if entries else "0"


async def vouched(bets: Mesh, fixture_id: str, after: str = "0", timeout: float = 30) -> None:
    """Until bets has read a heartbeat of live's naming the fixture, published after `after`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        entries: Any = await bets.bus.client.xrevrange(
            stream_key(Topic.LIVE_HEARTBEAT), min=f"({after}", count=20
        )
        for entry_id, fields in entries:
            beat = events_pb2.EventEnvelope.FromString(fields[b"envelope"]).live_heartbeat
            if fixture_id in beat.fixture_ids:
                await bets.bus.consumed(Topic.LIVE_HEARTBEAT, entry_id)
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"live never vouched for {fixture_id}")


async def refused_once_silent(bets: Mesh, player: str, fixture_id: str) -> pb.Bet:
    """Live bets until one is refused (live's silence takes its time to pass); each taken one
    before is an accepted bet."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        bet = await bets.place(player, home(fixture_id), 100, live=True, wait=False)
        if bet.status == pb.BET_STATUS_REJECTED or asyncio.get_running_loop().time() > deadline:
            return bet
        await asyncio.sleep(0.2)


def home(fixture_id: str) -> list[tuple[str, str, str, int]]:
    return [(fixture_id, f"{fixture_id}/MATCH_RESULT", "home", 20_000)]


async def test_live_bets_are_refused_once_the_live_producer_is_silent(
    live: tuple[asyncio.subprocess.Process, int], bets: Mesh
) -> None:
    process, port = live
    player, fixture_id = await bets.player(balance=100_000), harness.uid("silence")
    await kick_off(port, fixture_id)
    # The consensus price, as the gateway accepts it; live alone vouches for the fixture.
    await bets.bus.prices(
        harness.quote_set(fixture_id, harness.football(fixture_id), live=True, sequence=2),
        vouch=False,
    )
    await vouched(bets, fixture_id)
    taken = await bets.place(player, home(fixture_id), 1_000, live=True, wait=True)
    assert taken.status == pb.BET_STATUS_ACCEPTED, taken.rejection_message

    pending = await bets.place(player, home(fixture_id), 1_000, live=True, wait=False)
    assert pending.status == pb.BET_STATUS_PENDING, pending.rejection_message
    process.send_signal(signal.SIGSTOP)  # frozen: its port open, its last word ACTIVE

    refused = await refused_once_silent(bets, player, fixture_id)
    assert (refused.status, refused.rejection_reason) == (
        pb.BET_STATUS_REJECTED,
        pb.REJECTION_REASON_BETTING_SUSPENDED,
    ), refused.rejection_message
    assert "live producer is silent" in refused.rejection_message

    async def decided() -> bool:
        return (await bets.bet(pending.bet_id)).status != pb.BET_STATUS_PENDING

    await harness.eventually(decided, timeout=60)
    late = await bets.bet(pending.bet_id)
    assert (late.status, late.rejection_reason) == (
        pb.BET_STATUS_REJECTED,
        pb.REJECTION_REASON_BETTING_SUSPENDED,
    ), late.rejection_message
    assert "live producer is silent" in late.rejection_message

    before = await last_heartbeat(bets)
    process.send_signal(signal.SIGCONT)  # live back: its word, and live bets, come back
    await vouched(bets, fixture_id, after=before)
    again = await bets.place(player, home(fixture_id), 1_000, live=True, wait=True)
    assert again.status == pb.BET_STATUS_ACCEPTED, again.rejection_message
