"""Partner-side figures of issue 21, from the event's own timestamp.

One `python -m services.live` process (anonymous, no gateway: no repricing) on a fresh Redis
database; N subscribers to every fixture (this process; one stream in ten parses its messages
and measures, the others only read, so the clients' own cost stays small on 2 shared cores).

1. Event -> partner: M matches kicked off, then CLOCK events at --rate per second through
   IngestMatchEvent, each stamped with occurred_at; every subscriber receives the game state's
   odds_change with `event_time` = occurred_at: latency = receive time - event_time.
2. Feed loss -> bet stop: each fixture has live prices (bus); the feed stops; the FEED_LOST
   bet stop at the partner minus (last heartbeat + deadline) is the detection delay.
3. Liveness cost: the time of one touch (a script call per event/heartbeat) and of one
   watchdog sweep with M live fixtures, measured here against the same Redis.

    .venv/bin/python bench/live_stream/feed.py [--matches 50] [--subscribers 1000]
      [--rate 50] [--seconds 10] [--deadline 3] [--redis redis://127.0.0.1:6379/8]
The Redis database is flushed first: give one of your own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import grpc
import redis.asyncio as aioredis
from betmesh.common.v1 import market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from betmesh.live.v1 import match_event_pb2 as me

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from payload import markets  # noqa: E402

from service_runtime.events import EventPublisher, Topic  # noqa: E402
from services.live.adapters.redis_liveness import RedisLiveness  # noqa: E402

STREAMS_PER_CHANNEL = 200
METHOD = "/betmesh.live.v1.LiveOddsService/StreamOdds"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Partners:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.feed_lost: dict[str, float] = {}
        self.measuring = False
        # Bet stops for a lost feed count only once the feed has been stopped on purpose.
        self.feed_stopped = False

    async def stream(self, channel: grpc.aio.Channel, parse: bool) -> None:
        request = pb.StreamOddsRequest(max_batch_size=100)
        if not parse:
            # Read, never decoded: the other streams' cost stays on the server's side.
            raw = channel.unary_stream(
                METHOD, request_serializer=pb.StreamOddsRequest.SerializeToString
            )
            try:
                async for _ in raw(request):
                    pass
            except grpc.aio.AioRpcError:
                return
            return
        call = live_odds_service_pb2_grpc.LiveOddsServiceStub(channel).StreamOdds(request)
        try:
            async for message in call:
                if not parse or message.WhichOneof("payload") != "deltas":
                    continue
                now = time.time()
                for update in message.deltas.updates:
                    lost = update.bet_stop.reason == pb.BET_STOP_REASON_FEED_LOST
                    if lost and self.feed_stopped:
                        self.feed_lost.setdefault(update.bet_stop.fixture_id, now)
                    elif self.measuring and update.odds_change.game_state.elapsed_seconds:
                        when = update.event_time.seconds + update.event_time.nanos / 1e9
                        self.latencies.append((now - when) * 1000)
        except grpc.aio.AioRpcError:
            return


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--matches", type=int, default=50)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--deadline", type=float, default=3.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    args = parser.parse_args()
    client = aioredis.Redis.from_url(args.redis)
    await client.flushdb()
    env = {
        **os.environ,
        "BETMESH_PORT": "0",
        "BETMESH_REDIS_URL": args.redis,
        "BETMESH_AUTH_MODE": "anonymous",
        "BETMESH_LOG_LEVEL": "WARNING",
        "BETMESH_LIVE_FEED_DEADLINE_SECONDS": str(args.deadline),
        "BETMESH_LIVE_FEED_CHECK_SECONDS": "0.2",
        "BETMESH_LIVE_STREAM_MAX_PER_PARTNER": str(args.subscribers + 10),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.live", cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    port = int(line.strip().rsplit("=", 1)[1])
    try:
        await measure(args, client, port)
    finally:
        # Also when a measurement fails: no live process is left behind.
        process.terminate()
        await process.wait()
        await client.aclose()  # type: ignore[attr-defined]


async def measure(args: argparse.Namespace, client: aioredis.Redis, port: int) -> None:
    feed_channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    feed = live_odds_service_pb2_grpc.LiveOddsServiceStub(feed_channel)
    fixtures = [f"bench-{uuid.uuid4().hex[:8]}-{i}" for i in range(args.matches)]
    bus = EventPublisher(client, "betmesh.gateway")
    sequence = dict.fromkeys(fixtures, 0)

    async def send(fixture_id: str, kind: int, elapsed: int = 0) -> None:
        sequence[fixture_id] += 1
        event = me.MatchEvent(
            fixture_id=fixture_id, sport=sport_pb2.SPORT_FOOTBALL,
            sequence=sequence[fixture_id], type=kind, elapsed_seconds=elapsed, period=1,  # type: ignore[arg-type]
            source="bench",
        )  # fmt: skip
        event.occurred_at.GetCurrentTime()
        await feed.IngestMatchEvent(pb.IngestMatchEventRequest(event=event), timeout=60)

    for fixture_id in fixtures:
        await send(fixture_id, me.MATCH_EVENT_TYPE_MATCH_STARTED)
        await bus.publish(
            Topic.QUOTE_SET_ACCEPTED,
            events_pb2.EventEnvelope(
                quote_set_accepted=events_pb2.QuoteSetAccepted(
                    quote_set=market_pb2.QuoteSet(
                        fixture_id=fixture_id, sport=sport_pb2.SPORT_FOOTBALL,
                        phase=market_pb2.PRICING_PHASE_LIVE, markets=markets(fixture_id, 20000),
                    ),
                    digest="bench", agreeing_replicas=3, quorum=2,
                )
            ),
        )  # fmt: skip
    partners = Partners()
    channels, tasks = [], []
    for i in range(args.subscribers):
        if i % STREAMS_PER_CHANNEL == 0:
            # A connection of its own (the default pool would put every channel on one
            # connection, and its 256 concurrent streams would cap the subscribers).
            channels.append(
                grpc.aio.insecure_channel(
                    f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
                )
            )
        tasks.append(asyncio.create_task(partners.stream(channels[-1], parse=i % 10 == 0)))

    async def alive() -> None:
        while True:
            await feed.SendFeedHeartbeat(
                pb.SendFeedHeartbeatRequest(source="bench", fixture_ids=fixtures), timeout=60
            )
            await asyncio.sleep(args.deadline / 4)

    heartbeats = asyncio.create_task(alive())
    await asyncio.sleep(2 + args.subscribers / 500)

    # 1. event -> partner, while the feed is alive.
    partners.measuring = True
    started = time.monotonic()
    tick = 0
    while time.monotonic() - started < args.seconds:
        fixture_id = fixtures[tick % len(fixtures)]
        tick += 1
        await send(fixture_id, me.MATCH_EVENT_TYPE_CLOCK, elapsed=60 + tick)
        await asyncio.sleep(max(0.0, tick / args.rate - (time.monotonic() - started)))
    await asyncio.sleep(1)
    partners.measuring = False

    # 3. liveness cost, here against the same Redis, while the fixtures are live.
    liveness = RedisLiveness(client, producer="bench", deadline_seconds=3600)
    begin = time.perf_counter()
    for fixture_id in fixtures:
        await liveness.touch("bench", [fixture_id], recover=False)
    touch_ms = (time.perf_counter() - begin) * 1000 / len(fixtures)
    begin = time.perf_counter()
    for _ in range(20):
        await liveness.sweep()
    sweep_ms = (time.perf_counter() - begin) * 1000 / 20

    # 2. the feed stops: everything was last heard from now.
    heartbeats.cancel()
    await feed.SendFeedHeartbeat(
        pb.SendFeedHeartbeatRequest(source="bench", fixture_ids=fixtures), timeout=60
    )
    last_heard = time.time()
    partners.feed_stopped = True
    waited = time.monotonic()
    # A bounded poll (60 s at most) of a count the streams fill in.
    while len(partners.feed_lost) < len(fixtures) and time.monotonic() - waited < 60:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    detection = [(t - last_heard - args.deadline) * 1000 for t in partners.feed_lost.values()]
    load = os.getloadavg()[0]
    print(
        f"matches {args.matches}, subscribers {args.subscribers}, {args.rate:g} events/s, "
        f"load average {load:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"event -> partner (from event_time): n={len(partners.latencies)} "
        f"p50 {statistics.median(partners.latencies):.1f} ms, "
        f"p99 {pct(partners.latencies, 0.99):.1f} ms"
    )
    print(
        f"feed loss -> FEED_LOST at the partner, beyond the {args.deadline:g} s deadline: "
        f"{len(detection)}/{len(fixtures)} fixtures, p50 {pct(detection, 0.5):.0f} ms, "
        f"p99 {pct(detection, 0.99):.0f} ms"
    )
    print(
        f"liveness: touch {touch_ms:.2f} ms per event/heartbeat, "
        f"sweep of {len(fixtures)} live fixtures {sweep_ms:.2f} ms"
    )
    for task in tasks:
        task.cancel()
    for channel in [*channels, feed_channel]:
        await channel.close()


if __name__ == "__main__":
    asyncio.run(main())
