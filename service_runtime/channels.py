"""Client channels: one per peer per process, traced, with keepalive and deadlines by default."""

from __future__ import annotations

import grpc

from service_runtime.telemetry import client_interceptors

CLIENT_OPTIONS: list[tuple[str, int]] = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]

DEFAULT_DEADLINE_SECONDS = 5.0


class ChannelPool:
    """Reuses one channel per target; close() on shutdown."""

    def __init__(self) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}

    def get(self, target: str) -> grpc.aio.Channel:
        channel = self._channels.get(target)
        if channel is None:
            channel = grpc.aio.insecure_channel(
                target, options=CLIENT_OPTIONS, interceptors=client_interceptors()
            )
            self._channels[target] = channel
        return channel

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()
