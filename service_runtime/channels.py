"""Client channels: one per peer per process, traced, with keepalive and deadlines by default.

Under BETMESH_AUTH_MODE=tokens, with the process's client credentials in the environment, every
call also carries a service token for the called service (service_runtime.client_tokens).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import grpc

from service_runtime.client_tokens import TokenSource, bearer_interceptors, token_source_from_env
from service_runtime.telemetry import client_interceptors

CLIENT_OPTIONS: list[tuple[str, int]] = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]

DEFAULT_DEADLINE_SECONDS = 5.0


class ChannelPool:
    """Reuses one channel per target; close() on shutdown.

    `tokens`: where the calls' bearer tokens come from; by default the process's own client
    credentials from the environment (none in anonymous mode); None: calls carry no token.
    """

    def __init__(self, tokens: TokenSource | Literal["environment"] | None = "environment") -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}
        self.tokens = token_source_from_env() if tokens == "environment" else tokens

    def get(self, target: str, options: Sequence[tuple[str, object]] = ()) -> grpc.aio.Channel:
        """The channel to `target` (`options` are added to the defaults when it is first made,
        e.g. a load-balancing policy for a target naming several addresses)."""
        channel = self._channels.get(target)
        if channel is None:
            interceptors: list[grpc.aio.ClientInterceptor] = client_interceptors()
            if self.tokens is not None:
                # After the tracing interceptor: a token fetch shows inside the call's span.
                interceptors += bearer_interceptors(self.tokens)
            channel = grpc.aio.insecure_channel(
                target, options=[*CLIENT_OPTIONS, *options], interceptors=interceptors
            )
            self._channels[target] = channel
        return channel

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()
        if self.tokens is not None:
            await self.tokens.close()
