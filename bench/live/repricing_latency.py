"""In-play repricing latency: match event ingested -> live quote set accepted by consensus.

    .venv/bin/python bench/live/repricing_latency.py [--matches 50] [--speed 330]
        [--database-url URL] [--redis-url URL]

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
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import redis.asyncio as aioredis
from betmesh.common.v1 import game_state_pb2, sport_pb2
from betmesh.events.v1 import events_pb2
from betmesh.gateway.v1 import consensus_gateway_service_pb2 as gw
from betmesh.gateway.v1 import consensus_gateway_service_pb2_grpc
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc
from betmesh.quotes.v1 import quote_service_pb2 as qs
from betmesh.quotes.v1 import quote_service_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from launcher.embedded import create_database, drop_database, unique_name
from launcher.mesh import Mesh, MeshConfig
from service_runtime.events import Topic, stream_key
from services.live.simulator import TimedEvent, load_file


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(mesh: Mesh, args: argparse.Namespace) -> None:
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
    await redis.aclose()  # type: ignore[attr-defined]
    await gateway.close()
    await live.close()


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
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    args = parser.parse_args()
    name = unique_name("betmesh_bench")
    database_url = create_database(args.database_url, name) if args.database_url else None
    with tempfile.TemporaryDirectory(prefix="betmesh-bench-") as state:
        mesh = Mesh(
            MeshConfig(
                state_dir=Path(state),
                database_url=database_url,
                redis_url=args.redis_url,
                chain_rpc_urls=("http://127.0.0.1:9",),
                replicas={"football": 3},
                only=frozenset({"services.quotes", "gateway", "services.live"}),
                log_stream=None,
                log_level="WARNING",
                auth="anonymous",
                extra_env={"BETMESH_GATEWAY_SCHEDULER_INTERVAL_SECONDS": "0"},
            )
        )
        mesh.start()
        try:
            asyncio.run(measure(mesh, args))
        finally:
            mesh.stop()
            if database_url:
                drop_database(args.database_url, name)


if __name__ == "__main__":
    main()
