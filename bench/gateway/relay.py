"""The cheapest possible extra hop: a grpc.aio server that forwards PriceFixture's bytes to one
replica and its answer's bytes back, parsing nothing, tracing nothing, checking nothing.

    python bench/gateway/relay.py --port PORT --upstream HOST:PORT[,HOST:PORT...]

bench/gateway/consensus.py measures a call through it beside the single replica and the
gateway: no gateway on this stack, consensus or not, can answer faster than this relay.

With several upstreams it is the do-nothing fan-out (bench/engines/cost.py): the same bytes to
every upstream at once, all answers awaited, the first one's bytes returned. That is the gRPC
floor of a consensus call's shape (one server call, n client calls) with no consensus in it.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import grpc

PRICE_FIXTURE = "/betmesh.quotes.v1.QuoteService/PriceFixture"


async def serve(port: int, upstream: str) -> None:
    # bytes in, bytes out
    forwards = [
        grpc.aio.insecure_channel(target).unary_unary(PRICE_FIXTURE)
        for target in upstream.split(",")
    ]
    forward = forwards[0]

    async def relay(request: bytes, context: Any) -> bytes:
        answer: bytes = await forward(request, timeout=context.time_remaining())
        return answer

    async def fan_out(request: bytes, context: Any) -> bytes:
        timeout = context.time_remaining()
        answers = await asyncio.gather(*(f(request, timeout=timeout) for f in forwards))
        first: bytes = answers[0]
        return first

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "betmesh.quotes.v1.QuoteService",
                {
                    "PriceFixture": grpc.unary_unary_rpc_method_handler(
                        relay if len(forwards) == 1 else fan_out
                    )
                },
            ),
        )
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.upstream))


if __name__ == "__main__":
    main()
