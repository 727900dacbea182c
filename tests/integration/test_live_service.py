"""The live service through gRPC, with real Redis: sequencing, game state, the event bus."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import grpc
import pytest
import redis.asyncio as aioredis
from betmesh.common.v1 import game_state_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from betmesh.live.v1 import match_event_pb2 as me
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from service_runtime.errors import error_info
from service_runtime.events import Topic, stream_key
from service_runtime.server import ServiceHost
from services.live.app import SERVICE_NAME, build
from services.live.settings import LiveSettings
from tests.support.grpc_helpers import rpc_error

ROOT = Path(__file__).resolve().parents[2]
HOME, AWAY = sport_pb2.SIDE_HOME, sport_pb2.SIDE_AWAY
APPLIED, DUPLICATE, HELD = (
    pb.INGEST_OUTCOME_APPLIED,
    pb.INGEST_OUTCOME_DUPLICATE,
    pb.INGEST_OUTCOME_HELD,
)


if TYPE_CHECKING:
    # Only in the type stubs: what LiveOddsServiceStub is on an aio channel.
    Stub = live_odds_service_pb2_grpc.LiveOddsServiceAsyncStub


@dataclass
class Live:
    host: ServiceHost
    channel: grpc.aio.Channel
    stub: Stub


async def start_live(redis_url: str, hold_seconds: float) -> Live:
    settings = LiveSettings.from_env(
        {
            "BETMESH_AUTH_MODE": "anonymous",
            "BETMESH_REDIS_URL": redis_url,
            "BETMESH_PORT": "0",
            "BETMESH_GRACE_SECONDS": "0.5",
            "BETMESH_LIVE_HOLD_SECONDS": str(hold_seconds),
        }
    )
    host = build(settings)
    await host.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{host.port}")
    return Live(
        host, channel, cast("Stub", live_odds_service_pb2_grpc.LiveOddsServiceStub(channel))
    )


@pytest.fixture(scope="module")
async def lives(redis_url: str) -> AsyncIterator[dict[str, Live]]:
    """Two live processes' worth of servers sharing one Redis, and one with a short hold."""
    started = {
        "a": await start_live(redis_url, 30),
        "b": await start_live(redis_url, 30),
        "short_hold": await start_live(redis_url, 0.05),
    }
    yield started
    for live in started.values():
        await live.channel.close()
        await live.host.stop(0)


@pytest.fixture
def live(lives: dict[str, Live]) -> Stub:
    return lives["a"].stub


def new_fixture() -> str:
    return f"live-test-{uuid.uuid4().hex[:12]}"


def football(
    fixture_id: str, sequence: int, event_type: int, side: int = 0, **fields: Any
) -> me.MatchEvent:
    return me.MatchEvent(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_FOOTBALL,
        sequence=sequence,
        type=event_type,  # type: ignore[arg-type]
        side=side,  # type: ignore[arg-type]
        source="test",
        **fields,
    )


def kick_off(fixture_id: str) -> me.MatchEvent:
    return football(fixture_id, 1, me.MATCH_EVENT_TYPE_MATCH_STARTED)


def goal(fixture_id: str, sequence: int, side: int = HOME) -> me.MatchEvent:
    return football(fixture_id, sequence, me.MATCH_EVENT_TYPE_GOAL, side)


async def ingest(stub: Stub, event: me.MatchEvent) -> tuple[int, int]:
    reply = await stub.IngestMatchEvent(pb.IngestMatchEventRequest(event=event), timeout=10)
    return reply.outcome, reply.applied_sequence


async def state(stub: Stub, fixture_id: str) -> game_state_pb2.GameState:
    reply: pb.GetGameStateResponse = await stub.GetGameState(
        pb.GetGameStateRequest(fixture_id=fixture_id), timeout=10
    )
    assert reply.fixture_id == fixture_id
    return reply.state


async def refused(
    stub: Stub, event: me.MatchEvent | None
) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    request = (
        pb.IngestMatchEventRequest() if event is None else pb.IngestMatchEventRequest(event=event)
    )
    code, info, _ = await rpc_error(lambda: stub.IngestMatchEvent(request, timeout=10))
    assert info is not None
    return code, info.reason, dict(info.metadata)


async def published(redis_url: str, fixture_id: str) -> list[events_pb2.EventEnvelope]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        entries = await client.xrange(stream_key(Topic.GAME_STATE_CHANGED))
    finally:
        await client.aclose()
    envelopes = []
    for _, fields in entries or []:
        assert fields is not None
        raw = fields[b"envelope"]
        assert isinstance(raw, bytes)
        envelope = events_pb2.EventEnvelope.FromString(raw)
        if envelope.game_state_changed.fixture_id == fixture_id:
            assert fields[b"type"] == b"game_state_changed"
            envelopes.append(envelope)
    return envelopes


async def test_health_serving(lives: dict[str, Live]) -> None:
    health = health_pb2_grpc.HealthStub(lives["a"].channel)
    for name in ("", SERVICE_NAME):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_in_order_events_apply_and_duplicates_are_ignored(live: Stub) -> None:
    fixture_id = new_fixture()
    assert await ingest(live, kick_off(fixture_id)) == (APPLIED, 1)
    assert await ingest(live, goal(fixture_id, 2)) == (APPLIED, 2)
    assert await ingest(live, goal(fixture_id, 3, AWAY)) == (APPLIED, 3)
    assert await ingest(live, goal(fixture_id, 2)) == (DUPLICATE, 3)
    assert await ingest(live, kick_off(fixture_id)) == (DUPLICATE, 3)
    game = await state(live, fixture_id)
    assert game.event_sequence == 3
    assert (game.football.home_goals, game.football.away_goals) == (1, 1)


async def test_held_until_the_gap_fills_then_applied_in_order(live: Stub) -> None:
    fixture_id = new_fixture()
    assert await ingest(live, kick_off(fixture_id)) == (APPLIED, 1)
    assert await ingest(live, goal(fixture_id, 4, AWAY)) == (HELD, 1)
    assert await ingest(live, goal(fixture_id, 3, AWAY)) == (HELD, 1)
    assert await ingest(live, goal(fixture_id, 4, HOME)) == (DUPLICATE, 1)
    assert (await state(live, fixture_id)).event_sequence == 1
    assert await ingest(live, goal(fixture_id, 2)) == (APPLIED, 4)
    game = await state(live, fixture_id)
    assert game.event_sequence == 4
    # The held events applied, not the later duplicate of 4.
    assert (game.football.home_goals, game.football.away_goals) == (1, 2)


async def test_a_gap_past_the_hold_window_is_refused_naming_the_missing_sequence(
    lives: dict[str, Live],
) -> None:
    stub = lives["short_hold"].stub
    fixture_id = new_fixture()
    assert await ingest(stub, kick_off(fixture_id)) == (APPLIED, 1)
    assert await ingest(stub, goal(fixture_id, 4)) == (HELD, 1)
    await asyncio.sleep(0.1)  # past the 0.05 s hold window
    code, reason, metadata = await refused(stub, goal(fixture_id, 5))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SEQUENCE_GAP")
    assert metadata["missing_sequence"] == "2"
    assert metadata["missing_through"] == "3"
    assert metadata["applied_sequence"] == "1"
    # Resending what is missing closes the gap; the held event then applies.
    assert await ingest(stub, goal(fixture_id, 2)) == (APPLIED, 2)
    assert await ingest(stub, goal(fixture_id, 3)) == (APPLIED, 4)
    assert await ingest(stub, goal(fixture_id, 5)) == (APPLIED, 5)
    assert (await state(stub, fixture_id)).football.home_goals == 4


async def test_concurrent_ingestion_by_two_servers_applies_each_event_once(
    lives: dict[str, Live], redis_url: str
) -> None:
    fixture_id = new_fixture()
    last = 60
    events = [kick_off(fixture_id)] + [
        goal(fixture_id, sequence, HOME if sequence % 3 else AWAY)
        for sequence in range(2, last + 1)
    ]
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)

    async def feed(name: str, order: list[me.MatchEvent]) -> list[tuple[int, int]]:
        return [await ingest(lives[name].stub, event) for event in order]

    # Two feeds per server, in step: one in order (every event races the other server's copy
    # to be the next applied), one shuffled (holds and gap fills race the in-order feeds).
    replies = await asyncio.gather(
        feed("a", events), feed("b", events), feed("a", shuffled), feed("b", shuffled[::-1])
    )
    applied_by_in_order_feeds = sum(1 for reply in replies[0] + replies[1] if reply[0] == APPLIED)
    assert 0 < applied_by_in_order_feeds <= last
    game = await state(lives["b"].stub, fixture_id)
    assert game.event_sequence == last
    expected_away = sum(1 for s in range(2, last + 1) if s % 3 == 0)
    assert game.football.away_goals == expected_away
    assert game.football.home_goals == last - 1 - expected_away
    # The bus saw each sequence exactly once, in order: nothing applied twice or skipped.
    envelopes = await published(redis_url, fixture_id)
    assert [e.game_state_changed.state.event_sequence for e in envelopes] == list(
        range(1, last + 1)
    )


async def test_scripted_football_match_game_state(live: Stub, redis_url: str) -> None:
    fixture_id = new_fixture()
    script = [
        football(fixture_id, 1, me.MATCH_EVENT_TYPE_MATCH_STARTED, period=1),
        football(fixture_id, 2, me.MATCH_EVENT_TYPE_GOAL, HOME, elapsed_seconds=754),
        football(fixture_id, 3, me.MATCH_EVENT_TYPE_YELLOW_CARD, AWAY, elapsed_seconds=1200),
        football(fixture_id, 4, me.MATCH_EVENT_TYPE_RED_CARD, AWAY, elapsed_seconds=2100),
        football(fixture_id, 5, me.MATCH_EVENT_TYPE_PERIOD_ENDED, elapsed_seconds=2760),
        football(fixture_id, 6, me.MATCH_EVENT_TYPE_PERIOD_STARTED, period=2, elapsed_seconds=2700),
        football(fixture_id, 7, me.MATCH_EVENT_TYPE_GOAL, AWAY, elapsed_seconds=3300),
        football(fixture_id, 8, me.MATCH_EVENT_TYPE_GOAL, HOME, elapsed_seconds=4000),
        football(fixture_id, 9, me.MATCH_EVENT_TYPE_GOAL_CANCELLED, HOME, elapsed_seconds=4060),
        football(fixture_id, 10, me.MATCH_EVENT_TYPE_CLOCK, elapsed_seconds=4500),
    ]
    for event in script:
        assert await ingest(live, event) == (APPLIED, event.sequence)
    game = await state(live, fixture_id)
    assert game.event_sequence == 10
    assert game.period == 2
    assert game.elapsed_seconds == 4500
    assert game.WhichOneof("sport_state") == "football"
    assert game.football == game_state_pb2.FootballState(
        home_goals=1, away_goals=1, home_red_cards=0, away_red_cards=1, regulation_seconds=5400
    )

    envelopes = await published(redis_url, fixture_id)
    assert [e.game_state_changed.state.event_sequence for e in envelopes] == list(range(1, 11))
    assert all(e.producer == "betmesh.live" and e.event_id for e in envelopes)
    assert len({e.event_id for e in envelopes}) == 10
    assert envelopes[1].game_state_changed.state.football.home_goals == 1
    assert envelopes[-1].game_state_changed.state == game

    # The end closes the fixture: a retry of the end is a duplicate, anything new is refused.
    assert await ingest(live, football(fixture_id, 11, me.MATCH_EVENT_TYPE_MATCH_ENDED)) == (
        APPLIED,
        11,
    )
    assert await ingest(live, football(fixture_id, 11, me.MATCH_EVENT_TYPE_MATCH_ENDED)) == (
        DUPLICATE,
        11,
    )
    code, reason, _ = await refused(live, goal(fixture_id, 12))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "MATCH_ENDED")
    assert len(await published(redis_url, fixture_id)) == 11


async def test_tennis_and_basketball_through_grpc(live: Stub) -> None:
    tennis_id, basketball_id = new_fixture(), new_fixture()

    def point(sequence: int, side: int) -> me.MatchEvent:
        return me.MatchEvent(
            fixture_id=tennis_id,
            sport=sport_pb2.SPORT_TENNIS,
            sequence=sequence,
            type=me.MATCH_EVENT_TYPE_POINT_WON,
            side=side,  # type: ignore[arg-type]
        )

    start = me.MatchEvent(
        fixture_id=tennis_id,
        sport=sport_pb2.SPORT_TENNIS,
        sequence=1,
        type=me.MATCH_EVENT_TYPE_MATCH_STARTED,
    )
    assert await ingest(live, start) == (APPLIED, 1)
    for sequence, side in enumerate([HOME, AWAY, HOME, AWAY, HOME, AWAY, HOME], start=2):
        await ingest(live, point(sequence, side))
    tennis = (await state(live, tennis_id)).tennis
    assert (tennis.home_points, tennis.away_points) == (4, 3)  # advantage home
    await ingest(live, point(9, HOME))
    tennis = (await state(live, tennis_id)).tennis
    assert [(s.home_games, s.away_games) for s in tennis.sets] == [(1, 0)]
    assert not tennis.home_serving

    events = [
        me.MatchEvent(
            fixture_id=basketball_id,
            sport=sport_pb2.SPORT_BASKETBALL,
            sequence=1,
            type=me.MATCH_EVENT_TYPE_MATCH_STARTED,
        ),
        me.MatchEvent(
            fixture_id=basketball_id,
            sport=sport_pb2.SPORT_BASKETBALL,
            sequence=2,
            type=me.MATCH_EVENT_TYPE_POINTS_SCORED,
            side=HOME,
            points=3,
            elapsed_seconds=40,
        ),
        me.MatchEvent(
            fixture_id=basketball_id,
            sport=sport_pb2.SPORT_BASKETBALL,
            sequence=3,
            type=me.MATCH_EVENT_TYPE_POINTS_SCORED,
            side=AWAY,
            points=2,
            elapsed_seconds=65,
        ),
    ]
    for event in events:
        await ingest(live, event)
    game = await state(live, basketball_id)
    assert (game.basketball.home_points, game.basketball.away_points) == (3, 2)
    assert game.elapsed_seconds == 65
    code, reason, metadata = await refused(
        live,
        me.MatchEvent(
            fixture_id=basketball_id,
            sport=sport_pb2.SPORT_BASKETBALL,
            sequence=4,
            type=me.MATCH_EVENT_TYPE_POINTS_SCORED,
            side=AWAY,
            points=4,
        ),
    )
    assert (code, reason, metadata["points"]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_POINTS",
        "4",
    )


async def test_bad_inputs_are_refused_with_reasons(live: Stub) -> None:
    fixture_id = new_fixture()
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    assert (await refused(live, None))[:2] == (invalid, "EVENT_REQUIRED")
    assert (await refused(live, goal("", 1)))[:2] == (invalid, "FIXTURE_ID_REQUIRED")
    assert (await refused(live, goal(fixture_id, 0)))[:2] == (invalid, "SEQUENCE_REQUIRED")
    # Scoring before MATCH_STARTED: nothing is stored, the fixture stays unknown.
    assert (await refused(live, goal(fixture_id, 1)))[:2] == (invalid, "MATCH_NOT_STARTED")
    code, info, _ = await rpc_error(
        lambda: live.GetGameState(pb.GetGameStateRequest(fixture_id=fixture_id), timeout=10)
    )
    assert (code, info and info.reason) == (grpc.StatusCode.NOT_FOUND, "FIXTURE_NOT_FOUND")

    await ingest(live, kick_off(fixture_id))
    assert (await refused(live, football(fixture_id, 2, me.MATCH_EVENT_TYPE_GOAL)))[:2] == (
        invalid,
        "SIDE_REQUIRED",
    )
    code, reason, metadata = await refused(
        live, football(fixture_id, 2, me.MATCH_EVENT_TYPE_POINT_WON, HOME)
    )
    assert (code, reason) == (invalid, "EVENT_TYPE_NOT_VALID_FOR_SPORT")
    assert metadata == {"event_type": "MATCH_EVENT_TYPE_POINT_WON", "sport": "SPORT_FOOTBALL"}
    point = me.MatchEvent(
        fixture_id=fixture_id,
        sport=sport_pb2.SPORT_TENNIS,
        sequence=2,
        type=me.MATCH_EVENT_TYPE_POINT_WON,
        side=HOME,
    )
    code, reason, metadata = await refused(live, point)
    assert (code, reason, metadata["fixture_sport"]) == (
        invalid,
        "SPORT_MISMATCH",
        "SPORT_FOOTBALL",
    )
    assert (await refused(live, football(fixture_id, 2, me.MATCH_EVENT_TYPE_GOAL_CANCELLED, AWAY)))[
        :2
    ] == (invalid, "NO_GOAL_TO_CANCEL")
    # Refusals consumed nothing: sequence 2 is still the next one.
    assert await ingest(live, goal(fixture_id, 2)) == (APPLIED, 2)

    code, info, _ = await rpc_error(lambda: live.GetGameState(pb.GetGameStateRequest(), timeout=10))
    assert (code, info and info.reason) == (invalid, "FIXTURE_ID_REQUIRED")


async def test_streaming_rpcs_answer_with_reasons(live: Stub) -> None:
    # StreamOdds itself is tested in test_live_stream*.py; here only the error path.
    async def stream() -> None:
        request = pb.StreamOddsRequest(filter=pb.SubscriptionFilter(sports=[99]))  # type: ignore[list-item]
        async for _ in live.StreamOdds(request, timeout=10):
            raise AssertionError("StreamOdds sent a message")

    code, info, _ = await rpc_error(stream)
    # An undefined enum value: the contract's rule (buf.validate, checked by the runtime).
    assert (code, info and info.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_REQUEST_FIELDS",
    )

    # The rich status is readable the standard way too (grpc_status on the aio error).
    try:
        await live.UpdateSubscription(pb.UpdateSubscriptionRequest(stream_id="s"), timeout=10)
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.NOT_FOUND
        info = error_info(rpc_status.from_call(exc))
        assert info is not None and info.reason == "STREAM_NOT_FOUND"
    else:
        raise AssertionError("UpdateSubscription succeeded")


async def test_python_dash_m_starts_and_prints_ready(redis_url: str) -> None:
    env = {
        **os.environ,
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_HOST": "127.0.0.1",
        "BETMESH_PORT": "0",
        "BETMESH_REDIS_URL": redis_url,
        "BETMESH_LOG_LEVEL": "WARNING",
        "BETMESH_GRACE_SECONDS": "0.5",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.live",
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert line.startswith("READY betmesh.live port="), line
        port = int(line.strip().rsplit("=", 1)[1])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(
                health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
