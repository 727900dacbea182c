"""A minimal native gRPC upstream for the edge benchmark: GetJwks answered with fixed bytes.

Minimal on purpose: the benchmark measures what the edge adds, so the upstream's own work must
be the same, and small, on both paths.
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from betmesh.identity.v1 import identity_service_pb2 as pb

ANSWER = pb.GetJwksResponse(
    keys=[
        pb.JsonWebKey(
            kty="EC", kid="bench", use="sig", alg="ES256", crv="P-256", x="x" * 43, y="y" * 43
        )
    ]
).SerializeToString()


async def main() -> None:
    async def get_jwks(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return ANSWER

    handler = grpc.method_handlers_generic_handler(
        "betmesh.identity.v1.IdentityService",
        {"GetJwks": grpc.unary_unary_rpc_method_handler(get_jwks)},
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"PORT {port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
