"""Service tokens for a process's outgoing calls: the client side of service_runtime.tokens.

A service authenticates to the identity service with client credentials (BETMESH_CLIENT_ID and
the secret in BETMESH_CLIENT_SECRET_FILE, a 0600 file) and gets, per audience, a short-lived
access token from IssueToken. `TokenSource` caches each audience's token, refreshes it in the
background once most of its lifetime has passed (callers keep the cached one meanwhile), and
fetches at most once at a time per audience however many calls wait. When identity cannot give
a token the call fails at once with UNAVAILABLE and a reason, never hangs past its deadline.

`bearer_interceptors` are the grpc.aio client interceptors (all four call kinds) that add
`authorization: Bearer <token>` for the called method's audience. `ChannelPool` installs them
from the environment, so every service's outgoing calls carry tokens under
BETMESH_AUTH_MODE=tokens without the service's code knowing. Fetching a token from identity
opens a channel, so the token sources that ask identity (`credential_token_source`,
`token_source_from_env`) live in service_runtime.channels, which imports this module and not
the other way round.

Audience naming, defined once here and checked by TokenAuthenticator: a service's audience is
the `service` its ServiceHost runs as, "betmesh.<area>", which is the proto package of its API
without the version. So "/betmesh.quotes.v1.QuoteService/PriceFixture" is for "betmesh.quotes",
"/betmesh.gateway.v1.FixtureService/..." for "betmesh.gateway". Methods outside betmesh.*
(health, reflection) get no token.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.rpc import code_pb2

from service_runtime.errors import STATUS_DETAILS_KEY, Unavailable, to_rpc_status
from service_runtime.settings import SettingsError

log = logging.getLogger(__name__)

AUDIENCE_PREFIX = "betmesh."
FETCH_TIMEOUT_SECONDS = 5.0
# Refresh once this share of a token's lifetime has passed; stop using it for the last bit, so
# that a token never expires on its way to the callee.
REFRESH_AFTER = 0.8
USABLE_UNTIL = 0.95
# After a failed fetch, calls fail at once for this long instead of each asking identity again.
RETRY_AFTER_FAILURE_SECONDS = 1.0


def audience_for_method(method: str | bytes) -> str | None:
    """The audience a call to this full method name needs (see the module docstring)."""
    name = method.decode() if isinstance(method, bytes) else method
    service = name.lstrip("/").split("/", 1)[0]
    parts = service.split(".")
    if len(parts) < 3 or parts[0] != "betmesh":
        return None
    return AUDIENCE_PREFIX + parts[1]


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: float  # seconds since the epoch


Fetch = Callable[[str], Awaitable[IssuedToken]]


class TokenUnavailable(Unavailable):
    """No token for an outgoing call; turned into the call's UNAVAILABLE status."""


@dataclass(frozen=True)
class _Cached:
    token: str
    expires_at: float
    refresh_at: float
    usable_until: float


class TokenSource:
    """Per-audience tokens: cached, refreshed ahead of expiry, fetched single-flight."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        fetch_timeout: float = FETCH_TIMEOUT_SECONDS,
        retry_after_failure: float = RETRY_AFTER_FAILURE_SECONDS,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._monotonic = monotonic
        self.fetch_timeout = fetch_timeout
        self.retry_after_failure = retry_after_failure
        self._close = close
        self._cache: dict[str, _Cached] = {}
        self._inflight: dict[str, asyncio.Task[_Cached]] = {}
        self._failed: dict[str, tuple[float, TokenUnavailable]] = {}
        self.fetches = 0

    def cached(self, audience: str) -> str | None:
        """The cached token for `audience` if it is still usable (a refresh starts in the
        background once it is due), else None: the caller then awaits `token`."""
        cached = self._cache.get(audience)
        if cached is None:
            return None
        now = self._clock()
        if now >= cached.usable_until:
            return None
        if now >= cached.refresh_at:
            self._start(audience)
        return cached.token

    async def token(self, audience: str, timeout: float | None = None) -> str:
        """A token for `audience`, waiting at most `timeout` (and the fetch timeout)."""
        token = self.cached(audience)
        if token is not None:
            return token
        failed = self._failed.get(audience)
        if failed is not None and self._monotonic() - failed[0] < self.retry_after_failure:
            raise failed[1]
        task = self._start(audience)
        try:
            # shield: one caller's deadline must not cancel the fetch others wait on.
            fresh = await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            raise TokenUnavailable(
                "SERVICE_TOKEN_TIMEOUT",
                f"no token for {audience} within the call's deadline",
                {"audience": audience},
            ) from None
        return fresh.token

    def _start(self, audience: str) -> asyncio.Task[_Cached]:
        task = self._inflight.get(audience)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._run(audience))
            self.fetches += 1
            self._inflight[audience] = task
            task.add_done_callback(lambda done: self._finished(audience, done))
        return task

    def _finished(self, audience: str, task: asyncio.Task[_Cached]) -> None:
        if self._inflight.get(audience) is task:
            del self._inflight[audience]
        if task.cancelled():
            return
        error = task.exception()  # retrieved here, so a background failure is never "lost"
        if error is None:
            self._cache[audience] = task.result()
            self._failed.pop(audience, None)
        elif isinstance(error, TokenUnavailable):
            self._failed[audience] = (self._monotonic(), error)
            log.warning("no service token", extra={"audience": audience, "reason": error.reason})

    async def _run(self, audience: str) -> _Cached:
        started = self._clock()
        try:
            issued = await asyncio.wait_for(self._fetch(audience), self.fetch_timeout)
        except TimeoutError:
            raise TokenUnavailable(
                "IDENTITY_UNAVAILABLE",
                f"identity did not answer within {self.fetch_timeout:g} s",
                {"audience": audience},
            ) from None
        except TokenUnavailable:
            raise
        except Exception as exc:  # any other failure is still "no token", with its name
            raise TokenUnavailable(
                "IDENTITY_UNAVAILABLE",
                f"cannot get a token for {audience}: {type(exc).__name__}",
                {"audience": audience},
            ) from exc
        lifetime = max(issued.expires_at - started, 0.0)
        return _Cached(
            token=issued.token,
            expires_at=issued.expires_at,
            refresh_at=started + lifetime * REFRESH_AFTER,
            usable_until=started + lifetime * USABLE_UNTIL,
        )

    async def close(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        self._inflight.clear()
        if self._close is not None:
            await self._close()


def read_secret_file(path: str) -> str:
    """The client secret; refused unless only its owner can read it, or, beside the owner, only
    this process's own group may read it: a Kubernetes secret volume gets group read for the
    pod's fsGroup, which is the process's group (never others, never group write)."""
    file = Path(path)
    try:
        info = file.stat()
    except OSError as exc:
        raise SettingsError(f"BETMESH_CLIENT_SECRET_FILE={path!r}: {exc.strerror}") from None
    mode = info.st_mode
    refused = stat.S_IRWXO | stat.S_IWGRP | stat.S_IXGRP
    if info.st_gid != os.getegid():
        refused |= stat.S_IRGRP
    if mode & refused:
        raise SettingsError(
            f"BETMESH_CLIENT_SECRET_FILE={path!r} must be readable by its owner only (0600)"
        )
    secret = file.read_text().strip()
    if not secret:
        raise SettingsError(f"BETMESH_CLIENT_SECRET_FILE={path!r} is empty")
    return secret


def _unavailable(error: TokenUnavailable) -> grpc.aio.AioRpcError:
    status = to_rpc_status(error)
    assert status.code == code_pb2.UNAVAILABLE
    trailing = grpc.aio.Metadata((STATUS_DETAILS_KEY, status.SerializeToString()))
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE,
        grpc.aio.Metadata(),
        trailing,
        details=f"{error.reason}: {error.message}",
    )


class _Bearer:
    """Adds the called service's token to an outgoing call that needs one."""

    def __init__(
        self,
        source: TokenSource,
        audience: Callable[[str | bytes], str | None] = audience_for_method,
    ) -> None:
        self.source = source
        self.audience = audience

    async def _with_token(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        audience = self.audience(details.method)
        pairs = list(details.metadata or ())
        # A caller that chose its own credentials (e.g. forwarding a player's) keeps them.
        if audience is None or any(key == "authorization" for key, _ in pairs):
            return details
        started = time.monotonic()
        try:
            token = await self.source.token(audience, details.timeout)
        except TokenUnavailable as exc:
            raise _unavailable(exc) from None
        timeout = details.timeout
        if timeout is not None:
            # The wait for the token is part of the call's deadline.
            timeout = max(timeout - (time.monotonic() - started), 0.001)
        metadata = grpc.aio.Metadata(*pairs, ("authorization", f"Bearer {token}"))
        return grpc.aio.ClientCallDetails(
            details.method, timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def _intercept(
        self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        """Every call kind's interception: the call goes on with the token added (`request` is
        the request, or the request iterator of a client stream)."""
        return await continuation(await self._with_token(details), request)


# grpc.aio files each interceptor under the first call kind it implements, so one class each,
# all four intercepting alike.
class _UnaryUnary(_Bearer, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    intercept_unary_unary = _Bearer._intercept


class _UnaryStream(_Bearer, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    intercept_unary_stream = _Bearer._intercept


class _StreamUnary(_Bearer, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[misc]
    intercept_stream_unary = _Bearer._intercept


class _StreamStream(_Bearer, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    intercept_stream_stream = _Bearer._intercept


def bearer_interceptors(source: TokenSource) -> list[grpc.aio.ClientInterceptor]:
    """The client interceptors (one per call kind) that add tokens from `source`."""
    return [kind(source) for kind in (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)]
