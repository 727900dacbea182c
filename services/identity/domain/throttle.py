"""Per-client rate limits on what costs us without a token: sign-in starts and new accounts.

Counted per client address (the visitor the edge vouches for, else the TCP peer: see
service_runtime.auth.client_address) in fixed windows kept by the store (Redis, shared by
every identity process). Beyond the quota the caller gets RESOURCE_EXHAUSTED with the seconds
until the window ends, as `retry_after_seconds` and a google.rpc.RetryInfo.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from google.protobuf.duration_pb2 import Duration
from google.rpc import error_details_pb2

from service_runtime.errors import ResourceExhausted
from services.identity.domain.ports import Counter


@dataclass(frozen=True)
class Quota:
    action: str  # "signin", "register"
    limit: int  # calls per window; 0: unlimited
    window_seconds: int


class Throttle:
    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    async def spend(self, quota: Quota, client: str) -> None:
        if quota.limit <= 0:
            return
        # Hashed: the key's size does not depend on what a caller sends.
        digest = hashlib.sha256(client.encode("utf-8", "replace")).hexdigest()[:32]
        used, remaining = await self.counter.count(f"{quota.action}:{digest}", quota.window_seconds)
        if used <= quota.limit:
            return
        retry_after = max(1, int(remaining + 0.999))
        raise ResourceExhausted(
            "RATE_LIMITED",
            f"too many {quota.action} calls from this address; retry in {retry_after} s",
            {"action": quota.action, "retry_after_seconds": str(retry_after)},
            details=[error_details_pb2.RetryInfo(retry_delay=Duration(seconds=retry_after))],
        )
