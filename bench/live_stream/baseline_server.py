"""The ceiling: a minimal grpc.aio broadcast server for the same StreamOdds messages.

It generates one update per tick itself (no Redis, no journal, no filters, no tokens) and
hands it to a bounded queue per subscriber (latest-wins when full), as grpc.md describes.
Run: python bench/live_stream/baseline_server.py <rate_per_second> ; prints READY port=<p>.
"""

from __future__ import annotations

import asyncio
import sys
import time

import grpc
from betmesh.live.v1 import live_odds_service_pb2 as pb
from betmesh.live.v1 import live_odds_service_pb2_grpc

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from payload import odds_update


class Broadcast(live_odds_service_pb2_grpc.LiveOddsServiceServicer):
    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[pb.OddsUpdate]] = set()

    async def StreamOdds(self, request, context):  # type: ignore[no-untyped-def]
        queue: asyncio.Queue[pb.OddsUpdate] = asyncio.Queue(maxsize=1000)
        self.queues.add(queue)
        sequence = 0
        try:
            while True:
                updates = [await queue.get()]
                while not queue.empty() and len(updates) < 100:
                    updates.append(queue.get_nowait())
                sequence += 1
                message = pb.StreamOddsResponse(stream_id="b", sequence=sequence)
                message.deltas.updates.extend(updates)
                await context.write(message)
        finally:
            self.queues.discard(queue)

    def publish(self, update: pb.OddsUpdate) -> None:
        for queue in self.queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(update)


async def main(rate: float) -> None:
    servicer = Broadcast()
    server = grpc.aio.server(options=[("grpc.max_concurrent_streams", 2000)])
    live_odds_service_pb2_grpc.add_LiveOddsServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"READY port={port}", flush=True)
    interval = 1.0 / rate
    n = 0
    while True:
        n += 1
        servicer.publish(odds_update(f"bench-{n % 50}", time.time_ns()))
        await asyncio.sleep(interval)


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1])))
