"""In-play repricing latency: match event ingested -> live quote set accepted by consensus.

    .venv/bin/python bench/live/repricing_latency.py [--matches 50] [--speed 330]
        [--database-url URL] [--redis-url URL] [--guard on|off|both]

Starts 3 football replicas, the gateway and one live process with the launcher (real
processes; embedded PostgreSQL and Redis unless URLs are given; anonymous auth), prices each
match pre-match, then replays services/live/scripts/football.json for `--matches` fixtures at
once (each its own fixture id, all concurrently, at `--speed` timeline seconds per second)
through IngestMatchEvent. For every event, latency = the gateway's QuoteSetAccepted for that
fixture and event sequence on `quotes.accepted` (its occurred_at) minus the moment just before
IngestMatchEvent was called: ingest, bet stop, reprice trigger, the live process's lease, the
gateway's fan-out to 3 replicas and quorum, storage and the announcement. An event whose price
was coalesced into a later one (two events before one reprice finished) has no price of its
own and is counted as coalesced.
Baseline, same run: one GetConsensusQuote with a game state, called directly, one in flight
(the floor the live path adds to). Compare the ratio, not the absolute figures (2 shared cores).

With `--subscribers N` (e.g. 1000), N StreamOdds subscribers (every fixture, this process,
200 streams per channel) are open on the live process during the replay, and the figure the
issue asks for is measured too: event ingested -> that event's repriced odds received by a
subscriber (the first message carrying the accepted set's digest, per subscriber), p50/p99
over every (subscriber, event) pair. The clients do not decode messages: they find the
digests in the raw bytes (they share the machine's cores with the mesh).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import redis.asyncio as aioredis
from betmesh.common.v1 import game_state_pb2, market_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gw
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2 as qs
from betmesh.quotes.v1 import quote_service_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.mesh import add_mesh_arguments, run_on_mesh
from launcher.mesh import Mesh
from service_runtime.events import Topic, stream_key
from services.live.simulator import TimedEvent, load_file

DIGEST = re.compile(rb"sha256:[0-9a-f]{64}")
STREAMS_PER_CHANNEL = 200


class Subscribers:
    """Open streams recording, per digest, when each subscriber first saw it."""

    def __init__(self, address: str, count: int, filters: list[pb.SubscriptionFilter]) -> None:
        # A connection of its own per channel (channels with equal options would share one,
        # and its concurrent-stream limit).
        self.channels = [
            grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
            for _ in range(0, count, STREAMS_PER_CHANNEL)
        ]
        self.first_seen: dict[bytes, list[float]] = {}
        self.tasks = [
            asyncio.create_task(
                self._stream(self.channels[i // STREAMS_PER_CHANNEL], filters[i % len(filters)])
            )
            for i in range(count)
        ]
        self.images = 0

    async def _stream(self, channel: grpc.aio.Channel, filter_: pb.SubscriptionFilter) -> None:
        call = channel.unary_stream(
            "/betmesh.live.v1.LiveOddsService/StreamOdds",
            request_serializer=pb.StreamOddsRequest.SerializeToString,
        )(pb.StreamOddsRequest(filter=filter_, max_batch_size=100))
        seen: set[bytes] = set()
        first = True
        try:
            async for raw in call:
                now = time.time()
                if first:
                    self.images += 1
                    first = False
                for digest in DIGEST.findall(raw):
                    if digest not in seen:
                        seen.add(digest)
                        self.first_seen.setdefault(digest, []).append(now)
        except grpc.aio.AioRpcError:
            return

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for channel in self.channels:
            await channel.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(mesh: Mesh, args: argparse.Namespace) -> dict[str, float]:
    addresses = mesh.addresses
    gateway = grpc.aio.insecure_channel(addresses["gateway"])
    live = grpc.aio.insecure_channel(addresses["live"])
    consensus = consensus_gateway_service_pb2_grpc.ConsensusGatewayServiceStub(gateway)
    ingest = live_odds_service_pb2_grpc.LiveOddsServiceStub(live)
    async with grpc.aio.insecure_channel(mesh.replica_addresses("football")[0]) as replica:
        snapshots = await quote_service_pb2_grpc.QuoteServiceStub(replica).ListModelSnapshots(
            qs.ListModelSnapshotsRequest(sport=sport_pb2.SPORT_FOOTBALL), timeout=10
        )
    snapshot_hash = snapshots.snapshots[0].snapshot_hash
    run = uuid.uuid4().hex[:6]
    matches = [load_file("football.json", f"bench-{run}-{n}") for n in range(args.matches)]
    for timeline in matches:
        await consensus.GetConsensusQuote(
            gw.GetConsensusQuoteRequest(
                fixture=timeline[0].event.fixture, snapshot_hash=snapshot_hash
            ),
            timeout=30,
        )

    # Baseline: the consensus call alone, with a game state, one in flight.
    fixture = matches[0][0].event.fixture
    direct = []
    for k in range(200):
        state = game_state_pb2.GameState(
            event_sequence=k + 1,
            elapsed_seconds=60 * (k % 90),
            period=1 + (k % 90) // 45,
            football=game_state_pb2.FootballState(home_goals=k % 3, regulation_seconds=5400),
        )
        started = time.perf_counter()
        await consensus.GetConsensusQuote(
            gw.GetConsensusQuoteRequest(
                fixture=fixture, snapshot_hash=snapshot_hash, game_state=state
            ),
            timeout=30,
        )
        direct.append(time.perf_counter() - started)

    redis: Any = aioredis.Redis.from_url(mesh.redis_url)
    last_id = (await redis.xrevrange(stream_key(Topic.QUOTE_SET_ACCEPTED), count=1) or [(b"0",)])[
        0
    ][0]
    sent: dict[tuple[str, int], float] = {}
    accepted: dict[tuple[str, int], float] = {}
    digests: dict[tuple[str, int], bytes] = {}
    filters = {
        "all": [pb.SubscriptionFilter()],
        # A frontend's match page: one fixture, every market.
        "match": [pb.SubscriptionFilter(fixture_ids=[m[0].event.fixture_id]) for m in matches],
        # Every match, the main markets (what a partner's live overview shows).
        "main": [
            pb.SubscriptionFilter(
                market_types=[
                    market_pb2.MARKET_TYPE_MATCH_RESULT,
                    market_pb2.MARKET_TYPE_TOTAL_GOALS,
                ]
            )
        ],
    }[args.subscribe]
    subscribers = (
        Subscribers(addresses["live"], args.subscribers, filters) if args.subscribers else None
    )
    if subscribers is not None:
        for _ in range(600):
            if subscribers.images >= args.subscribers:
                break
            await asyncio.sleep(0.1)
        print(f"{subscribers.images} subscribers streaming")
    done = asyncio.Event()

    async def follow() -> None:
        nonlocal last_id
        while not done.is_set():
            batches = await redis.xread(
                {stream_key(Topic.QUOTE_SET_ACCEPTED): last_id}, count=1000, block=200
            )
            for _, entries in batches or []:
                for entry_id, fields in entries:
                    last_id = entry_id
                    envelope = events_pb2.EventEnvelope.FromString(fields[b"envelope"])
                    quote_set = envelope.quote_set_accepted.quote_set
                    if quote_set.event_sequence:
                        key = (quote_set.fixture_id, quote_set.event_sequence)
                        accepted.setdefault(key, envelope.occurred_at.ToNanoseconds() / 1e9)
                        digests.setdefault(key, envelope.quote_set_accepted.digest.encode())

    # The matches run the same script: without an offset every event is a 50-fold burst.
    span = matches[0][-1].at / len(matches[0])

    async def play(n: int, timeline: list[TimedEvent]) -> None:
        started = time.monotonic() + (n * span / args.matches / args.speed if args.stagger else 0)
        for timed in timeline:
            wait = timed.at / args.speed - (time.monotonic() - started)
            if wait > 0:
                await asyncio.sleep(wait)
            event = timed.event
            sent[(event.fixture_id, event.sequence)] = time.time()
            await ingest.IngestMatchEvent(pb.IngestMatchEventRequest(event=event), timeout=30)

    follower = asyncio.create_task(follow())
    wall = time.perf_counter()
    await asyncio.gather(*(play(n, t) for n, t in enumerate(matches)))
    # The last prices land after the last ingest; MATCH_ENDED events are never priced.
    priced_events = {k for k in sent if k[1] < len(matches[0])}
    deadline = time.monotonic() + 30
    for _ in range(150):  # polled: the prices arrive on the stream, not as a signal
        settled = all(any(a[0] == k[0] and a[1] >= k[1] for a in accepted) for k in priced_events)
        if settled or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    if subscribers is not None:
        await asyncio.sleep(3)  # the last prices reach the subscribers
    wall = time.perf_counter() - wall
    done.set()
    await follower
    latencies = [accepted[k] - sent[k] for k in priced_events if k in accepted]
    coalesced = len(priced_events) - len(latencies)
    mode = "staggered" if args.stagger else "in bursts"
    print(
        f"{args.matches} concurrent live football matches ({mode}), {len(sent)} events "
        f"ingested in {wall:.1f} s at {args.speed:g}x "
        f"({len(sent) / wall:.0f} events/s)"
    )
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(
        f"event ingested -> live quote set accepted: p50 {p50 * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, mean {statistics.fmean(latencies) * 1000:.1f} ms "
        f"(n={len(latencies)}, coalesced into a later price: {coalesced})"
    )
    d50, d99 = percentile(direct, 0.5), percentile(direct, 0.99)
    print(
        f"baseline, GetConsensusQuote in play, one in flight: p50 {d50 * 1000:.1f} ms, "
        f"p99 {d99 * 1000:.1f} ms"
    )
    print(f"ratio event->accepted / direct consensus: p50 {p50 / d50:.2f}x, p99 {p99 / d99:.2f}x")
    figures = {"accepted_p50": p50, "accepted_p99": p99, "direct_p50": d50, "direct_p99": d99}
    try:
        holds = await consensus.ListPriceHolds(gw.ListPriceHoldsRequest(page_size=1), timeout=10)
        figures["holds"] = holds.held_total
        print(f"integrity guard: {holds.held_total} markets held (no fault was injected)")
    except grpc.aio.AioRpcError as exc:
        print(f"integrity guard: {exc.details()}")
    if subscribers is not None:
        received = [
            at - sent[k]
            for k in priced_events
            if k in digests
            for at in subscribers.first_seen.get(digests[k], [])
        ]
        # How many subscribers follow each fixture.
        following = {
            m[0].event.fixture_id: sum(
                1
                for i in range(args.subscribers)
                if not filters[i % len(filters)].fixture_ids
                or m[0].event.fixture_id in filters[i % len(filters)].fixture_ids
            )
            for m in matches
        }
        expected = sum(following[k[0]] for k in priced_events if k in digests)
        r50, r99 = percentile(received, 0.5), percentile(received, 0.99)
        print(
            f"event ingested -> repriced odds received, {args.subscribers} subscribers "
            f"({args.subscribe}): "
            f"p50 {r50 * 1000:.1f} ms, p99 {r99 * 1000:.1f} ms "
            f"(n={len(received)} of {expected} subscriber-events)"
        )
        figures["received_p50"], figures["received_p99"] = r50, r99
        await subscribers.close()
    await redis.aclose()  # type: ignore[attr-defined]
    await gateway.close()
    await live.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--matches", type=int, default=50)
    parser.add_argument("--speed", type=float, default=330.0)
    parser.add_argument(
        "--stagger",
        type=int,
        default=1,
        help="1: spread the matches' start over one mean event gap; 0: all events in bursts",
    )
    parser.add_argument(
        "--subscribers", type=int, default=0, help="StreamOdds subscribers open on live"
    )
    parser.add_argument(
        "--subscribe",
        choices=("all", "match", "main"),
        default="all",
        help="what each subscriber asks for: everything; one match (all its markets, the "
        "matches spread over the subscribers); every match's main markets",
    )
    parser.add_argument(
        "--guard",
        choices=("on", "off", "both"),
        default="on",
        help="the gateway's integrity guard (BETMESH_GATEWAY_GUARD); both: off, then on, each "
        "on a fresh mesh, and the ratios on/off",
    )
    add_mesh_arguments(parser)
    args = parser.parse_args()
    if args.guard != "both":
        figures = run(args, args.guard == "on")
        print("FIGURES " + json.dumps(figures), flush=True)
        return
    # Each mode in a process of its own (grpc.aio keeps its poller on the first event loop).
    results = {}
    for guard in ("off", "on"):
        print(f"--- integrity guard {guard} ---", flush=True)
        argv = [a for a in sys.argv[1:] if not a.startswith("--guard")]
        if "--guard" in sys.argv:
            index = sys.argv.index("--guard")
            argv = sys.argv[1:index] + sys.argv[index + 2 :]
        done = subprocess.run(
            [sys.executable, __file__, *argv, "--guard", guard],
            check=True,
            capture_output=True,
            text=True,
        )
        for line in done.stdout.splitlines():
            if line.startswith("FIGURES "):
                results[guard] = json.loads(line.removeprefix("FIGURES "))
            else:
                print(line, flush=True)
    on, off = results["on"], results["off"]
    for key in sorted(set(on) & set(off) - {"holds"}):
        if off[key]:
            print(f"guard on / off, {key}: {on[key] / off[key]:.2f}x")


def run(args: argparse.Namespace, guard: bool) -> dict[str, float]:
    return run_on_mesh(
        args,
        lambda mesh: measure(mesh, args),
        extra_env={
            # the subscribers all come from this one host (anonymous: one partner)
            "BETMESH_LIVE_STREAM_MAX_PER_PARTNER": str(max(20, args.subscribers)),
            "BETMESH_MAX_CONCURRENT_STREAMS": "1000",
            "BETMESH_GATEWAY_GUARD": "true" if guard else "false",
        },
        replicas={"football": 3},
        only=frozenset({"services.quotes", "gateway", "services.live"}),
        log_stream=sys.stderr if os.environ.get("BENCH_LOGS") else None,
    )


if __name__ == "__main__":
    main()
