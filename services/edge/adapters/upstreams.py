"""One traced gRPC channel per upstream service, carrying the caller's token, not the edge's.

Calls go out with the browser's `authorization` untouched: each service verifies the player or
operator as it does for native clients. The pool therefore attaches no token of its own, which
would hide the caller. The edge's one credential (role public) is attached explicitly, by the
proxy, to anonymous calls of public methods only (services/edge/grpc_web.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from service_runtime.channels import ChannelPool
from service_runtime.errors import Unavailable


def channel_target(addresses: tuple[str, ...]) -> tuple[str, list[tuple[str, object]]]:
    """A target and options: several processes behind one channel, spread round robin."""
    if len(addresses) == 1:
        return addresses[0], []
    # The ipv4: resolver takes a list of literal addresses, as the launcher hands out.
    return "ipv4:" + ",".join(addresses), [
        ("grpc.lb_policy_name", "round_robin"),
    ]


class Upstreams:
    def __init__(self, addresses: Mapping[str, tuple[str, ...]]) -> None:
        self.addresses = dict(addresses)
        self._pool = ChannelPool(tokens=None)

    def channel(self, area: str) -> grpc.aio.Channel:
        addresses = self.addresses.get(area)
        if not addresses:
            raise Unavailable(
                "EDGE_UPSTREAM_NOT_CONFIGURED",
                f"no {area} service is configured behind this edge",
                {"area": area},
            )
        return self._pool.get(*channel_target(addresses))

    async def close(self) -> None:
        await self._pool.close()
