"""One traced gRPC channel per upstream service, carrying the caller's token, not the edge's.

Calls go out with the browser's `authorization` untouched: each service verifies the player or
operator as it does for native clients. The edge therefore has no credential of its own to
attach (its ChannelPool would add a service token and hide the caller).
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from service_runtime.channels import CLIENT_OPTIONS
from service_runtime.errors import Unavailable
from service_runtime.telemetry import client_interceptors


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
        self._channels: dict[str, grpc.aio.Channel] = {}

    def channel(self, area: str) -> grpc.aio.Channel:
        channel = self._channels.get(area)
        if channel is not None:
            return channel
        addresses = self.addresses.get(area)
        if not addresses:
            raise Unavailable(
                "EDGE_UPSTREAM_NOT_CONFIGURED",
                f"no {area} service is configured behind this edge",
                {"area": area},
            )
        target, options = channel_target(addresses)
        channel = grpc.aio.insecure_channel(
            target, options=[*CLIENT_OPTIONS, *options], interceptors=client_interceptors()
        )
        self._channels[area] = channel
        return channel

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()
