"""Load shedding: a bounded number of calls in flight per hosted method, refused at once beyond.

A server that queues what it cannot serve answers late instead of no: every queued call holds
memory, ends in DEADLINE_EXCEEDED after the caller stopped waiting, and the work done for it is
wasted. Here a call beyond its method's limit is refused RESOURCE_EXHAUSTED with reason
OVERLOADED and a `google.rpc.RetryInfo` saying when to come back, before any other work (even
authentication); so is a call whose deadline leaves no time to serve it. The limit counts the
calls our code holds (a unary call until it answers, a stream until it ends), so there is no
queue of ours at all: what waits, waits in the caller.

Limits are per method, configured per service: BETMESH_MAX_IN_FLIGHT (unary methods, default
512), BETMESH_MAX_IN_FLIGHT_STREAMS (server-streaming methods, default 4096: a stream is long
and cheap while idle), and BETMESH_MAX_IN_FLIGHT_METHODS for exceptions, `Name=N,...` (a method's
short name or its full `/package.Service/Name`; 0 means no limit).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from service_runtime.env import Env
from service_runtime.errors import DeadlineExceeded, ResourceExhausted

log = logging.getLogger(__name__)

OVERLOADED = "OVERLOADED"
DEADLINE_TOO_SHORT = "DEADLINE_TOO_SHORT"


class HasDeadline(Protocol):
    def time_remaining(self) -> float | None: ...


def overloaded(scope: str, limit: int, retry_after_seconds: float) -> ResourceExhausted:
    """The refusal of a call beyond `limit` concurrent ones in `scope`, with a retry hint."""
    delay = duration_pb2.Duration()
    delay.FromMilliseconds(max(1, int(retry_after_seconds * 1000)))
    return ResourceExhausted(
        OVERLOADED,
        f"{scope} is at its limit of {limit} concurrent calls; retry later",
        {"scope": scope, "limit": str(limit)},
        details=[error_details_pb2.RetryInfo(retry_delay=delay)],
    )


@dataclass(frozen=True)
class SheddingSettings:
    unary_limit: int = 512
    stream_limit: int = 4096
    # Method (short or full name) -> limit; 0 lifts the limit for that method.
    method_limits: Mapping[str, int] = field(default_factory=dict)
    # The hint in RetryInfo: about how long a shed call's slot takes to free up.
    retry_after_seconds: float = 0.2
    # A call with less time left than this cannot be served in time: refused at once.
    min_deadline_seconds: float = 0.001

    @classmethod
    def read(cls, env: Env) -> SheddingSettings:
        methods: dict[str, int] = {}
        # Per-method exceptions to the limits, Name=N,... (short or full method name; 0: none).
        for entry in env.list("MAX_IN_FLIGHT_METHODS", []):
            name, _, value = entry.partition("=")
            try:
                limit = int(value)
                if limit < 0 or not name.strip():
                    raise ValueError
            except ValueError:
                env.problems.append(
                    f"BETMESH_MAX_IN_FLIGHT_METHODS entry {entry!r} must be Name=N (N >= 0)"
                )
                continue
            methods[name.strip()] = limit
        settings = cls(
            # Calls in flight per unary method; beyond, RESOURCE_EXHAUSTED OVERLOADED at once.
            unary_limit=env.int("MAX_IN_FLIGHT", 512),
            # Open streams per server-streaming method (a stream is long and cheap while idle).
            stream_limit=env.int("MAX_IN_FLIGHT_STREAMS", 4096),
            method_limits=methods,
            # The retry hint (google.rpc.RetryInfo) given with OVERLOADED.
            retry_after_seconds=env.float("OVERLOAD_RETRY_AFTER_SECONDS", 0.2),
        )
        if settings.unary_limit < 0 or settings.stream_limit < 0:
            env.problems.append("BETMESH_MAX_IN_FLIGHT and ..._STREAMS must be >= 0 (0: none)")
        if settings.retry_after_seconds <= 0:
            env.problems.append("BETMESH_OVERLOAD_RETRY_AFTER_SECONDS must be > 0")
        return settings

    def limit_for(self, method: str, streaming: bool) -> int:
        name = method.rsplit("/", 1)[-1]
        for key in (method, name):
            if key in self.method_limits:
                return self.method_limits[key]
        return self.stream_limit if streaming else self.unary_limit


class InFlight:
    """One method's admission: a counter, checked and bumped without awaiting (one event loop
    per process, so no lock is needed), and the method's recent latency.

    Under pressure (at least `busy_at` calls in flight) a call whose remaining deadline is
    shorter than that recent latency is refused at once: it would most likely time out after
    taking its share of the CPU, which is how a queue outlives its callers.
    """

    __slots__ = (
        "busy_at",
        "count",
        "latency",
        "limit",
        "method",
        "min_deadline",
        "retry_after_seconds",
        "shed",
    )

    def __init__(
        self,
        method: str,
        limit: int,
        retry_after_seconds: float,
        min_deadline: float,
        streaming: bool = False,
    ) -> None:
        self.method = method
        self.limit = limit  # 0: unbounded
        self.count = 0
        self.shed = 0  # calls refused since start, for tests and metrics
        self.retry_after_seconds = retry_after_seconds
        self.min_deadline = min_deadline
        # A stream's life says nothing of its cost; an unbounded method is never refused.
        self.busy_at = 0 if streaming or not limit else max(8, limit // 8)
        self.latency = 0.0  # seconds, moving average of admitted calls

    def enter(self, context: HasDeadline) -> float:
        """Admits the call (returns its start, for `leave`) or raises; an admitted call must
        `leave()` exactly once."""
        remaining = context.time_remaining()
        if remaining is not None and (
            remaining < self.min_deadline
            or (self.busy_at and self.count >= self.busy_at and remaining < self.latency)
        ):
            self.shed += 1
            raise DeadlineExceeded(
                DEADLINE_TOO_SHORT, "the call's deadline leaves no time to serve it now"
            )
        if self.limit and self.count >= self.limit:
            self.shed += 1
            raise overloaded(self.method, self.limit, self.retry_after_seconds)
        self.count += 1
        return time.perf_counter()

    def leave(self, started: float) -> None:
        self.count -= 1
        if self.busy_at:
            self.latency += 0.1 * (time.perf_counter() - started - self.latency)


def in_flight(method: str, streaming: bool, settings: SheddingSettings) -> InFlight:
    return InFlight(
        method,
        settings.limit_for(method, streaming),
        settings.retry_after_seconds,
        settings.min_deadline_seconds,
        streaming,
    )
